// The package's bin is a launcher (cli/launcher.ts) running the CLI bundled
// into one CommonJS file (scripts/bundle-cli.ts) with a V8 code cache. These
// tests bundle it afresh and run it as users do: it must decide exactly as the
// sources do, `check` must load nothing from node_modules, the code cache must
// be written once and then used, only from a folder no one else can write, and
// `serve` must still find its external dependencies.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bundleCli } from '../scripts/bundle-cli.ts';
import { cliProcess, ROOT } from './cli-harness.ts';

const EXAMPLE = [
  'check',
  'examples/manifests',
  '--config',
  'examples/entitlegate.yaml',
  '--usage',
  'examples/usage.yaml',
  '--cluster',
  'prod-eu-1',
  '--now',
  '2026-11-28T10:00:00Z',
  '--format',
  'json',
];
let dir: string;
let bin: string;

beforeAll(async () => {
  // Inside the package, as dist/bin is: the bundle finds policies/ by walking up to package.json.
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  dir = mkdtempSync(join(ROOT, 'dist', '.test-bin-'));
  bin = await bundleCli(ROOT, dir);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bundled bin', () => {
  it('is the package bin, starts with a node shebang', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin.entitlegate).toBe('dist/bin/entitlegate.js');
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('decides the example exactly as the sources do', () => {
    const bundled = spawnSync(process.execPath, [bin, ...EXAMPLE], { encoding: 'utf8', cwd: ROOT });
    const source = cliProcess(EXAMPLE);
    expect(source.code).toBe(1);
    expect(bundled.status).toBe(source.code);
    expect(bundled.stdout).toBe(source.stdout);
    expect(JSON.parse(bundled.stdout).allowed).toBe(false);
  });

  it('check loads only the bundle: nothing from node_modules', () => {
    // NODE_DEBUG=module,esm makes Node log every module it loads, CommonJS or ES.
    const r = spawnSync(process.execPath, [bin, ...EXAMPLE], {
      encoding: 'utf8',
      cwd: ROOT,
      env: { ...process.env, NODE_DEBUG: 'module,esm' },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Translating \w+ file:\/\/\S+\/entitlegate\.js/);
    expect(r.stderr).not.toContain('/node_modules/');
  });

  describe('code cache', () => {
    let cacheHome: string;
    const run = (env: Record<string, string> = {}) =>
      spawnSync(process.execPath, [bin, ...EXAMPLE], {
        encoding: 'utf8',
        cwd: ROOT,
        env: { ...process.env, NODE_COMPILE_CACHE: cacheHome, ...env },
      });
    /** The cache files the launcher wrote under NODE_COMPILE_CACHE, with their modification times. */
    const cacheFiles = (): Map<string, number> => {
      const found = new Map<string, number>();
      const walk = (d: string) => {
        for (const e of readdirSync(d, { withFileTypes: true })) {
          const p = join(d, e.name);
          if (e.isDirectory()) walk(p);
          else if (e.name.endsWith('.v8cache')) found.set(p, statSync(p).mtimeMs);
        }
      };
      walk(cacheHome);
      return found;
    };
    beforeEach(() => {
      cacheHome = mkdtempSync(join(tmpdir(), 'eg-code-cache-'));
    });
    afterEach(() => rmSync(cacheHome, { recursive: true, force: true }));

    it('is written by the first check and used, not rewritten, by the next', () => {
      const first = run();
      expect(first.status).toBe(1);
      const written = cacheFiles();
      const cliBuild = createHash('sha256')
        .update(readFileSync(join(dirname(bin), 'cli.cjs')))
        .digest('hex')
        .slice(0, 16);
      expect([...written.keys()].map((p) => p.split('/').pop())).toEqual([
        expect.stringMatching(new RegExp(`^cli-${cliBuild}-v[\\d.]+-\\w+-\\d+-\\d+-check\\.v8cache$`)),
      ]);
      const [path, mtime] = [...written][0]!;
      // V8 would reject a cache that does not fit the code; the launcher then writes a new one.
      const second = run();
      expect(second.status).toBe(1);
      expect(second.stdout).toBe(first.stdout);
      expect(statSync(path).mtimeMs).toBe(mtime);
      expect(statSync(dirname(path)).mode & 0o777).toBe(0o700);
    });

    it('replaces the cache of an earlier build of the bundle', () => {
      run();
      const [path] = [...cacheFiles()][0]!;
      const earlier = path.replace(/\/cli-[0-9a-f]{16}-/, '/cli-0123456789abcdef-');
      renameSync(path, earlier);
      expect(run().status).toBe(1);
      expect([...cacheFiles().keys()]).toEqual([path]);
    });

    it('replaces a cache V8 rejects, and still decides', () => {
      run();
      const [path] = [...cacheFiles()][0]!;
      writeFileSync(path, Buffer.alloc(4096, 7));
      const r = run();
      expect(r.status).toBe(1);
      expect(readFileSync(path).equals(Buffer.alloc(4096, 7))).toBe(false);
    });

    it('is not read or written where others can write, nor with the compile cache off', () => {
      const shared = join(cacheHome, 'shared');
      mkdirSync(shared);
      chmodSync(shared, 0o777);
      expect(run({ NODE_COMPILE_CACHE: shared }).status).toBe(1);
      expect(run({ NODE_DISABLE_COMPILE_CACHE: '1' }).status).toBe(1);
      expect(cacheFiles()).toEqual(new Map());
    });
  });

  it('serve runs from the bundle with its dependencies from node_modules', async () => {
    const child = spawn(
      process.execPath,
      [bin, 'serve', '--config', 'examples/entitlegate.yaml', '--usage', 'examples/usage.yaml', '--insecure-http', '--port', '0'],
      { cwd: ROOT },
    );
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          const m = /"msg":"Server listening at http:\/\/[^:]+:(\d+)"/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
      });
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    } finally {
      child.kill();
    }
  });
});

describe('bundled bin, stdout closed early', () => {
  it('exits with the decision code and no stack trace when the reader goes away', async () => {
    // The read end is closed before the CLI writes: its first write fails with EPIPE.
    const child = spawn(process.execPath, [bin, ...EXAMPLE], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(stderr).toBe('');
    expect(code).toBe(1);
  });
});
