// The library entry: what adapters and surfaces (and other programs) use.
export * from './types.ts';
export * from './errors.ts';
export { Engine, type DecideOptions, type UsageSource, type PolicyInput, type Prepared } from './engine.ts';
export { loadConfig, parseConfig, type LoadedConfig } from './config/load.ts';
export type { Config, Product, Entitlement, ExceptionGrant, KubernetesSettings, TerraformSettings } from './config/schema.ts';
export { loadUsage, parseUsage } from './usage.ts';
export { standingReport, type Report } from './report.ts';
export { CompiledPolicy } from './policy/wasm.ts';
