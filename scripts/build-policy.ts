// Builds policies/dist/entitlegate.wasm, the committed compiled policy.
// With --check, builds to a temporary file and fails if the committed one differs.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPolicy } from '../engine/policy/compile.ts';
import { builtinPolicyPath } from '../engine/policy/wasm.ts';

const committed = builtinPolicyPath();
if (process.argv.includes('--check')) {
  const dir = mkdtempSync(join(tmpdir(), 'entitlegate-check-'));
  try {
    const fresh = join(dir, 'entitlegate.wasm');
    buildPolicy(fresh);
    if (!readFileSync(fresh).equals(readFileSync(committed))) {
      console.error(`${committed} is stale: run \`npm run policy:build\` and commit it`);
      process.exit(1);
    }
    console.log(`${committed} is up to date`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  buildPolicy(committed);
  console.log(`built ${committed}`);
}
