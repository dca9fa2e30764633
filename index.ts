// The package's entry (`import { Engine, loadConfig } from 'entitlegate'`):
// the engine, and the config file's loader and types as composed from every
// part that owns a setting.
export * from './engine/index.ts';
export { loadConfig, parseConfig, loadFiles, loadEngine, type LoadedConfig, type Loaded, type LoadedFiles } from './config/load.ts';
export type { Config, Product, KubernetesSettings, TerraformSettings } from './config/schema.ts';
