// The linter's type-aware rules are on: a floating promise and a value import
// used only as a type are errors under the repository's own Biome config
// (`npm run lint`, and the lint step of .ci/run). Run on a probe outside the
// tree, so the check holds whatever the tree's files look like today.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const biome = createRequire(import.meta.url).resolve('@biomejs/biome/bin/biome');

/** The rules Biome reports for `source` (as probe.ts, beside a helper module) under the repository's config. */
function reportedRules(source: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'eg-lint-'));
  try {
    copyFileSync(join(root, 'biome.jsonc'), join(dir, 'biome.jsonc'));
    writeFileSync(join(dir, 'helper.ts'), 'export interface Helper {\n  size: number;\n}\n');
    writeFileSync(join(dir, 'probe.ts'), source);
    const run = spawnSync(process.execPath, [biome, 'lint', '--vcs-enabled=false', '--colors=off', 'probe.ts'], {
      cwd: dir,
      encoding: 'utf8',
    });
    const out = `${run.stdout}${run.stderr}`;
    // a run that checked nothing (a config error, a path not included) would report no rule either
    expect(out).toMatch(/Checked 1 file/);
    return [...out.matchAll(/probe\.ts:\d+:\d+ (lint\/\w+\/\w+)/g)].map((m) => m[1]!);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('style checks', () => {
  it('catch a floating promise and a value import used only as a type', () => {
    const rules = reportedRules(
      [
        "import { Helper } from './helper.ts';",
        'async function save(): Promise<void> {}',
        'export function run(h: Helper): number {',
        '  save();',
        '  return h.size;',
        '}',
        '',
      ].join('\n'),
    );
    expect(rules).toContain('lint/nursery/noFloatingPromises');
    expect(rules).toContain('lint/style/useImportType');
  });

  it('pass the same code with the promise awaited and the import marked as a type', () => {
    const rules = reportedRules(
      [
        "import type { Helper } from './helper.ts';",
        'async function save(): Promise<void> {}',
        'export async function run(h: Helper): Promise<number> {',
        '  await save();',
        '  return h.size;',
        '}',
        '',
      ].join('\n'),
    );
    expect(rules).toEqual([]);
  });
});
