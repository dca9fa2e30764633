// The engine's public face: what adapters and surfaces (and other programs)
// use. The package's entry (index.ts at the root) adds the config file's loader.
export * from './types.ts';
export * from './errors.ts';
export { Engine, type DecideOptions, type UsageSource, type Prepared } from './engine.ts';
export type { PolicyInput, ClaimInput, CoveringPool, PoolInput } from './policy-input.ts';
export { parseConfigWith, type LoadedConfig } from './config/load.ts';
export type { LicenceConfig, Product, Entitlement, ExceptionGrant, Defaults } from './config/schema.ts';
export { loadUsage, parseUsage } from './usage.ts';
export { standingReport, type Report } from './report.ts';
export { CompiledPolicy } from './policy/wasm.ts';
