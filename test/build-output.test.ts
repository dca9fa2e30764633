// What the build writes to dist/ (and so what the package ships of it): the
// compiled library and the CLI bundle, and none of the test helpers, fakes
// and generators that live beside the code they serve. tsconfig.build.json
// leaves them out, and the build starts from an empty dist/ so nothing stale
// remains. Reads dist/ as `npm test` builds it first.
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const dist = join(root, 'dist');

describe('the build', () => {
  it('writes the library and the CLI, and no test helper, fake or generator', () => {
    expect(existsSync(join(dist, 'index.js')), 'dist/ is built (npm test builds it first)').toBe(true);
    const files = readdirSync(dist, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => relative(dist, join(e.parentPath, e.name)).split(sep).join('/'))
      // temporary copies other tests make of the CLI bundle inside dist/
      .filter((f) => !f.startsWith('.'));
    expect(files).toEqual(expect.arrayContaining(['index.js', 'config/load.js', 'engine/index.js', 'bin/entitlegate.js', 'bin/cli.cjs']));
    expect(
      files.filter((f) =>
        /\.test\.|(^|\/)testing\/|test-support|test-helpers|test-objects|(^|\/)fake|(^|\/)gen-|(^|\/)generate-|real-terraform/.test(f),
      ),
    ).toEqual([]);
  });
});
