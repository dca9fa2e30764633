// The package's bin is an esbuild bundle of cli/main.ts (scripts/bundle-cli.ts).
// These tests bundle it afresh and run it as users do: it must decide exactly
// as the sources do, `check` must load none of the webhook's code, and `serve`
// must still find its external dependencies.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleCli } from '../scripts/bundle-cli.ts';
import { cliProcess, ROOT } from './cli-harness.ts';

const EXAMPLE = ['check', 'examples/manifests', '--config', 'examples/entitlegate.yaml', '--usage', 'examples/usage.yaml', '--cluster', 'prod-eu-1', '--now', '2026-11-28T10:00:00Z', '--format', 'json'];
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

  it('check loads only the bundle: no node_modules, no webhook chunk', () => {
    // NODE_DEBUG=esm makes Node log every module it translates.
    const r = spawnSync(process.execPath, [bin, ...EXAMPLE], { encoding: 'utf8', cwd: ROOT, env: { ...process.env, NODE_DEBUG: 'esm' } });
    const loaded = [...new Set([...r.stderr.matchAll(/Translating \w+ (file:\/\/\S+)/g)].map((m) => m[1]!))];
    expect(loaded.some((u) => u.endsWith('/entitlegate.js'))).toBe(true);
    expect(loaded.filter((u) => u.includes('/node_modules/'))).toEqual([]);
    expect(loaded.filter((u) => /\/serve-[^/]*\.js$/.test(u))).toEqual([]);
  });

  it('serve runs from the bundle with its dependencies from node_modules', async () => {
    const child = spawn(process.execPath, [bin, 'serve', '--config', 'examples/entitlegate.yaml', '--usage', 'examples/usage.yaml', '--insecure-http', '--port', '0'], { cwd: ROOT });
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
