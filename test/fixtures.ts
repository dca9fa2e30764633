// Builders for tests: a config from a few fields, loaded through the real
// loader, and an engine on the real compiled policy.
import { stringify } from 'yaml';
import { parseConfig, type LoadedConfig } from '../config/load.ts';
import { Engine, type UsageSource } from '../engine/engine.ts';
import { CompiledPolicy } from '../engine/policy/wasm.ts';

export const NOW = new Date('2026-11-28T10:00:00Z');

let policy: Promise<CompiledPolicy> | undefined;
/** The committed compiled policy, loaded once per test file. */
export function builtinPolicy(): Promise<CompiledPolicy> {
  return (policy ??= CompiledPolicy.load());
}

export function config(doc: Record<string, unknown>, file = 'test.yaml'): LoadedConfig {
  return parseConfig(file, stringify({ version: 1, ...doc }));
}

export function usage(records: UsageSource['usage'], source = 'test-snapshot', observedAt = '2026-11-28T06:00:00Z'): UsageSource {
  return { source, observedAt, usage: records };
}

export async function engineFor(doc: Record<string, unknown>, sources: UsageSource[] = []): Promise<Engine> {
  return new Engine(await builtinPolicy(), config(doc), sources);
}

export const oracle = { id: 'ora', metric: 'vcpu', vendor: 'Oracle', name: 'Oracle Database EE' } as const;

export function entitlement(id: string, quantity: number, extra: Record<string, unknown> = {}) {
  return {
    id,
    product: 'ora',
    model: 'subscription',
    quantity,
    validFrom: '2026-01-01',
    validUntil: '2026-12-31',
    owner: 'dba@example.com',
    ...extra,
  };
}
