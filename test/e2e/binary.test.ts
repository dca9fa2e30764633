// The single executable (scripts/build-binary.ts) as a runner without Node
// uses it: an empty environment, no node on PATH, a home it has never seen.
// CI builds it first and passes it as ENTITLEGATE_BINARY; a lone run builds it.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBinary } from '../../scripts/build-binary.ts';
import { cliProcess, EXAMPLE_CHECK as EXAMPLE, ROOT } from '../cli-harness.ts';

let bin: string;
let home: string;

/** No PATH, no NODE_* variables: only what a bare runner has. */
function bare(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { HOME: home, XDG_CACHE_HOME: join(home, 'cache'), PATH: '', ...extra };
}

beforeAll(async () => {
  bin =
    process.env.ENTITLEGATE_BINARY ??
    (await buildBinary(ROOT, join(ROOT, 'dist', 'sea', `entitlegate-${process.platform}-${process.arch}`))).path;
  home = mkdtempSync(join(tmpdir(), 'eg-bin-home-'));
}, 600_000);
afterAll(() => rmSync(home, { recursive: true, force: true }));

/** The binary as a server on a free port: started bare, its address read from its log once it listens. */
async function serveBinary(args: string[]) {
  const child = spawn(bin, args, { env: bare(), stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (log += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (log += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let url: string | undefined;
  for (let i = 0; i < 200 && !url && child.exitCode === null; i++) {
    url = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(log)?.[1];
    if (!url) await new Promise((r) => setTimeout(r, 50));
  }
  if (!url) child.kill('SIGKILL');
  expect(url, log).toBeDefined();
  return { child, url: url!, exited, log: () => log };
}

describe('single executable', () => {
  it('decides the example exactly as the package bin does, with no Node on PATH, from its embedded code cache on the first run', () => {
    const r = spawnSync(bin, EXAMPLE, { encoding: 'utf8', cwd: home, env: bare({ ENTITLEGATE_SEA_DEBUG: '1' }) });
    const source = cliProcess(EXAMPLE);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe(source.stdout);
    expect(r.stderr).toMatch(/code cache accepted/);
    // the policy it unpacked is the shipped one, byte for byte
    const [folder] = readdirSync(join(home, 'cache', 'entitlegate')).filter((f) => f.startsWith('sea-'));
    expect(readFileSync(join(home, 'cache', 'entitlegate', folder!, 'policies', 'dist', 'entitlegate.wasm'))).toEqual(
      readFileSync(join(ROOT, 'policies', 'dist', 'entitlegate.wasm')),
    );
  });

  it('will not unpack the policy into a cache folder others can write: it uses a private one under the temp dir instead', () => {
    const shared = join(home, 'shared-cache');
    mkdirSync(join(shared, 'entitlegate'), { recursive: true });
    chmodSync(join(shared, 'entitlegate'), 0o777);
    const tmp = mkdtempSync(join(tmpdir(), 'eg-bin-tmp-'));
    try {
      const r = spawnSync(bin, EXAMPLE, {
        encoding: 'utf8',
        env: bare({ XDG_CACHE_HOME: shared, TMPDIR: tmp, ENTITLEGATE_SEA_DEBUG: '1' }),
      });
      expect(r.status).toBe(1);
      expect(readdirSync(join(shared, 'entitlegate'))).toEqual([]);
      expect(r.stderr).toContain(`package files in ${join(tmp, `entitlegate-${process.getuid?.()}`, 'entitlegate')}`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('bad input: a clear message and exit 2, no stack trace', () => {
    const r = spawnSync(bin, ['check', join(ROOT, 'examples/manifests'), '--config', join(home, 'missing.yaml')], {
      encoding: 'utf8',
      env: bare(),
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('missing.yaml');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('serve runs from the binary alone (its dependencies are inside) and drains on SIGTERM', async () => {
    const server = await serveBinary([
      'serve',
      '--config',
      join(ROOT, 'examples/entitlegate.yaml'),
      '--usage',
      join(ROOT, 'examples/usage.yaml'),
      '--insecure-http',
      '--port',
      '0',
    ]);
    try {
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(200);
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      expect(server.log()).toContain('shutting down: finishing requests in flight');
    } finally {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
    }
  });

  it('ledger serve runs its embedded store in a thread of its own, from the code the binary carries, and reserves through it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eg-bin-ledger-'));
    const store = join(dir, 'ledger.db');
    const config = join(ROOT, 'ledger', 'testdata', 'ledger.yaml');
    const made = spawnSync(bin, ['ledger', 'token', 'create', '--store', store, '--name', 'ci', '--role', 'gate'], {
      encoding: 'utf8',
      env: bare(),
    });
    expect(made.status, made.stderr).toBe(0);
    const server = await serveBinary(['ledger', 'serve', '--config', config, '--store', store, '--port', '0']);
    const pid = server.child.pid!;
    try {
      // Node names a worker's thread WorkerThread; without the asset the store would run on the main thread and there would be none.
      const threads = readdirSync(`/proc/${pid}/task`).map((t) => readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim());
      expect(threads).toContain('WorkerThread');
      const res = await fetch(`${server.url}/v1/decisions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${made.stdout.trim()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ claims: [{ product: 'db', quantity: 2, scope: {} }], reserve: true }),
      });
      const decision = (await res.json()) as { allowed: boolean; reservation?: { id: string } };
      expect(decision.allowed).toBe(true);
      expect(decision.reservation?.id).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      server.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is a real executable, not a script that needs an interpreter', () => {
    expect(existsSync(bin)).toBe(true);
    expect(readFileSync(bin).subarray(0, 4).toString('latin1')).toBe('\x7fELF');
  });
});
