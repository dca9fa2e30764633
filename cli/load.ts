// Config + usage + policy → engine, as every command that decides needs it.
import { loadConfig, type LoadedConfig } from '../engine/config/load.ts';
import { Engine } from '../engine/engine.ts';
import { loadUsage } from '../engine/usage.ts';
import { usageError } from './args.ts';
import type { UsageSnapshot } from '../engine/types.ts';

export interface Loaded {
  config: LoadedConfig;
  usage: UsageSnapshot[];
  engine: Engine;
}

export async function loadEngine(configPath: string | undefined, usagePaths: string[]): Promise<Loaded> {
  if (!configPath) throw usageError('--config FILE is required');
  const config = loadConfig(configPath);
  const products = new Set(config.config.products.map((p) => p.id));
  const usage = usagePaths.map((f) => loadUsage(f, products));
  return { config, usage, engine: await Engine.create(config, usage) };
}
