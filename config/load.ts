// What every surface that decides loads, in one place: the config file
// against the composed schema, usage snapshots checked against the config's
// products, and the engine with its compiled policy.
import { parseConfigWith, type LoadedConfig as EngineLoadedConfig } from '../engine/config/load.ts';
import { Engine } from '../engine/engine.ts';
import { EntitlegateError } from '../engine/errors.ts';
import { CompiledPolicy } from '../engine/policy/wasm.ts';
import { readText } from '../engine/source.ts';
import type { UsageSnapshot } from '../engine/types.ts';
import { loadUsage } from '../engine/usage.ts';
import { config as configSchema, type Config } from './schema.ts';

export type LoadedConfig = EngineLoadedConfig<Config>;

export function loadConfig(file: string): LoadedConfig {
  return parseConfig(file, readText(file, 'EG_ERR_CONFIG_INVALID'));
}

export function parseConfig(file: string, text: string): LoadedConfig {
  return parseConfigWith(configSchema, file, text);
}

export interface LoadedFiles {
  config: LoadedConfig;
  usage: UsageSnapshot[];
}

export interface Loaded extends LoadedFiles {
  engine: Engine<Config>;
}

/** Config and usage files, read and checked together; any problem throws before anything is used. */
export function loadFiles(configPath: string | undefined, usagePaths: readonly string[]): LoadedFiles {
  if (!configPath) throw new EntitlegateError('EG_ERR_USAGE', '--config FILE is required');
  const config = loadConfig(configPath);
  const products = new Set(config.config.products.map((p) => p.id));
  return { config, usage: usagePaths.map((f) => loadUsage(f, products)) };
}

/**
 * Config, usage and the compiled policy. `defaultPolicy` is the policy used
 * when the config names none (a bundle ships its own copy beside itself).
 */
export async function loadEngine(configPath: string | undefined, usagePaths: readonly string[], defaultPolicy?: string): Promise<Loaded> {
  const files = loadFiles(configPath, usagePaths);
  const policy = await CompiledPolicy.load(files.config.policyPath ?? defaultPolicy);
  return { ...files, engine: new Engine(policy, files.config, files.usage) };
}
