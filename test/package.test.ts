// What `npm publish` would ship: the compiled library, the CLI bundle, the
// policy and the schemas, and none of the test helpers, fakes and generators
// that live beside the code they serve (tsconfig.build.json leaves them out,
// and the build starts from an empty dist/ so nothing stale is shipped).
// Reads `npm pack --dry-run` after the build that `npm test` runs first.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');

function packedFiles(): string[] {
  const npm = process.env.npm_execpath;
  const args = ['pack', '--dry-run', '--json', '--ignore-scripts'];
  const out = npm?.endsWith('.js')
    ? execFileSync(process.execPath, [npm, ...args], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    : execFileSync('npm', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
}

describe('the package', () => {
  it('ships the library and the CLI, and no test helper, fake or generator', () => {
    expect(existsSync(resolve(root, 'dist/index.js')), 'dist/ is built (npm test builds it first)').toBe(true);
    const files = packedFiles();
    expect(files).toEqual(
      expect.arrayContaining(['dist/index.js', 'dist/config/load.js', 'dist/bin/entitlegate.js', 'policies/dist/entitlegate.wasm']),
    );
    expect(
      files.filter((f) => /\.test\.|(^|\/)testing\/|test-support|test-helpers|test-objects|(^|\/)fake|(^|\/)gen-|(^|\/)generate-/.test(f)),
    ).toEqual([]);
  });
});
