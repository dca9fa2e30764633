// Builds policies/dist/entitlegate.wasm, the committed compiled policy.
// With --check, builds to a temporary folder and fails if the committed one differs.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPolicy } from '../engine/policy/compile.ts';
import { builtinPolicyPath } from '../engine/policy/wasm.ts';

/**
 * Whether a fresh build equals `committed`. The build goes to a temporary
 * folder that is removed whatever the outcome (a stale policy, a failed build).
 */
export function isFresh(committed: string, build: (out: string) => void = buildPolicy): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'entitlegate-check-'));
  try {
    const fresh = join(dir, 'entitlegate.wasm');
    build(fresh);
    return readFileSync(fresh).equals(readFileSync(committed));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const committed = builtinPolicyPath();
  if (process.argv.includes('--check')) {
    if (isFresh(committed)) console.log(`${committed} is up to date`);
    else {
      console.error(`${committed} is stale: run \`npm run policy:build\` and commit it`);
      process.exitCode = 1;
    }
  } else {
    buildPolicy(committed);
    console.log(`built ${committed}`);
  }
}
