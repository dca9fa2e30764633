// Config + usage (checked against the config's products) + policy → engine:
// what every surface that decides loads, in one place.
import { loadConfig, type LoadedConfig } from './config/load.ts';
import { Engine } from './engine.ts';
import { EntitlegateError } from './errors.ts';
import { CompiledPolicy } from './policy/wasm.ts';
import type { UsageSnapshot } from './types.ts';
import { loadUsage } from './usage.ts';

export interface LoadedFiles {
  config: LoadedConfig;
  usage: UsageSnapshot[];
}

export interface Loaded extends LoadedFiles {
  engine: Engine;
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
