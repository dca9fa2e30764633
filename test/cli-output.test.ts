// `check --output FILE`: written whole or not at all, never the last run's
// verdict after a failed run, and never over (or into) what the run reads.
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli, ROOT } from './cli-harness.ts';

const CONFIG = join(ROOT, 'examples', 'entitlegate.yaml');
const USAGE = join(ROOT, 'examples', 'usage.yaml');
const base = ['--config', CONFIG, '--usage', USAGE, '--now', '2026-11-28T10:00:00Z', '--format', 'json'];

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'entitlegate-output-'));
  copyFileSync(join(ROOT, 'examples', 'claims', 'fits.json'), join(dir, 'fits.json'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('check --output', () => {
  it('replaces the report by renaming a complete file over it, leaving no temporary file', async () => {
    const out = join(dir, 'report.json');
    writeFileSync(out, 'old report');
    // A second name for the old file: a write in place would change it too.
    linkSync(out, join(dir, 'old-name'));
    const r = await cli(['check', join(dir, 'fits.json'), ...base, '--output', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8')).allowed).toBe(true);
    expect(readFileSync(join(dir, 'old-name'), 'utf8')).toBe('old report');
    expect(readdirSync(dir).sort()).toEqual(['fits.json', 'old-name', 'report.json']);
  });

  it('a failed run removes the previous "allowed" report instead of leaving it as this run\'s verdict', async () => {
    const out = join(dir, 'report.json');
    expect((await cli(['check', join(dir, 'fits.json'), ...base, '--output', out])).code).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8')).allowed).toBe(true);
    writeFileSync(join(dir, 'broken.yaml'), 'foo: [\n');
    const r = await cli(['check', join(dir, 'fits.json'), join(dir, 'broken.yaml'), ...base, '--output', out]);
    expect(r.code).toBe(2);
    expect(existsSync(out)).toBe(false);
    // A bad flag after --output is a failed run too.
    writeFileSync(out, '{"allowed": true}');
    expect((await cli(['check', join(dir, 'fits.json'), ...base, '--mode', 'lenient', '--output', out])).code).toBe(2);
    expect(existsSync(out)).toBe(false);
  });

  it('a run killed while it reads its inputs leaves no earlier report behind', async () => {
    const out = join(dir, 'report.json');
    writeFileSync(out, '{"allowed": true}');
    // Reading stdin that never ends keeps the run inside claimsFromPaths.
    const child = spawn(process.execPath, [join(ROOT, 'cli', 'main.ts'), 'check', '-', ...base, '--output', out], { stdio: 'pipe' });
    try {
      for (let waited = 0; existsSync(out) && waited < 10_000; waited += 25) await new Promise((r) => setTimeout(r, 25));
      expect(existsSync(out), 'the earlier report is removed before the inputs are read').toBe(false);
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    expect(existsSync(out)).toBe(false);
  });

  it('a report that cannot be written is exit 2 with no temporary file left', async () => {
    const out = join(dir, 'a-folder');
    mkdirSync(out);
    const r = await cli(['check', join(dir, 'fits.json'), ...base, '--output', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--output ${out}: cannot write the report`);
    expect(readdirSync(dir).sort()).toEqual(['a-folder', 'fits.json']);
  });

  it('may not name an input, the config or a usage snapshot: exit 2, the file left as it was', async () => {
    const input = join(dir, 'fits.json');
    const before = readFileSync(input, 'utf8');
    for (const [out, words] of [
      [input, `it is the input ${input}`],
      [CONFIG, 'it is the config'],
      [USAGE, 'it is the usage snapshot'],
    ] as const) {
      const configText = readFileSync(CONFIG, 'utf8');
      const r = await cli(['check', input, ...base, '--output', out]);
      expect(r.code, out).toBe(2);
      expect(r.stderr).toContain('would overwrite or feed an input');
      expect(r.stderr).toContain(words);
      expect(readFileSync(CONFIG, 'utf8')).toBe(configText);
    }
    expect(readFileSync(input, 'utf8')).toBe(before);
  });

  it("may not name the config's compiled policy", async () => {
    const config = join(dir, 'entitlegate.yaml');
    writeFileSync(config, `${readFileSync(CONFIG, 'utf8')}\npolicy: p.wasm\n`);
    const wasm = join(dir, 'p.wasm');
    copyFileSync(join(ROOT, 'policies', 'dist', 'entitlegate.wasm'), wasm);
    const before = readFileSync(wasm);
    const r = await cli(['check', join(dir, 'fits.json'), '--config', config, '--now', '2026-11-28T10:00:00Z', '--output', wasm]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("it is the config's compiled policy");
    expect(readFileSync(wasm).equals(before)).toBe(true);
  });

  it('may not name a file of a folder that is read (by a link, or one the next run would read)', async () => {
    mkdirSync(join(dir, 'm'));
    copyFileSync(join(dir, 'fits.json'), join(dir, 'm', 'claims.json'));
    const viaLink = join(dir, 'link.json');
    symlinkSync(join(dir, 'm', 'claims.json'), viaLink);
    const r1 = await cli(['check', join(dir, 'm'), ...base, '--output', viaLink]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toContain('it is the input');
    const r2 = await cli(['check', join(dir, 'm'), ...base, '--output', join(dir, 'm', 'report.json')]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('the next run would read the report');
    expect(existsSync(join(dir, 'm', 'report.json'))).toBe(false);
    // Beside the folder, or with a name a folder read skips, it is fine.
    expect((await cli(['check', join(dir, 'm'), ...base, '--output', join(dir, 'report.json')])).code).toBe(0);
    expect((await cli(['check', join(dir, 'm'), ...base, '--output', join(dir, 'm', 'report.sarif')])).code).toBe(0);
  });
});
