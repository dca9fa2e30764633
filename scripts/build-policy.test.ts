// `npm run check:fresh` (CI) compares a fresh build of the policy with the
// committed one; whatever the answer, it leaves nothing in the temp folder.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isFresh } from './build-policy.ts';

let tmp: string;
let committedDir: string;
const saved = process.env.TMPDIR;

beforeEach(() => {
  committedDir = mkdtempSync(join(tmpdir(), 'eg-committed-'));
  // os.tmpdir() reads TMPDIR on each call: the check's temporary folder lands in a folder of our own
  tmp = mkdtempSync(join(tmpdir(), 'eg-tmp-'));
  process.env.TMPDIR = tmp;
});

afterEach(() => {
  if (saved === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = saved;
  rmSync(tmp, { recursive: true, force: true });
  rmSync(committedDir, { recursive: true, force: true });
});

describe('the policy freshness check', () => {
  it('says a stale policy is stale and removes its build folder', () => {
    const committed = join(committedDir, 'entitlegate.wasm');
    writeFileSync(committed, 'old');
    expect(isFresh(committed, (out) => writeFileSync(out, 'new'))).toBe(false);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('says a fresh policy is fresh and removes its build folder', () => {
    const committed = join(committedDir, 'entitlegate.wasm');
    writeFileSync(committed, 'same');
    expect(isFresh(committed, (out) => writeFileSync(out, 'same'))).toBe(true);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('removes its build folder when the build fails', () => {
    const committed = join(committedDir, 'entitlegate.wasm');
    writeFileSync(committed, 'old');
    expect(() =>
      isFresh(committed, () => {
        throw new Error('opa build failed');
      }),
    ).toThrow('opa build failed');
    expect(readdirSync(tmp)).toEqual([]);
  });
});
