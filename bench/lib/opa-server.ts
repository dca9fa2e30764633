// The OPA server as a peer: the same Rego the WASM is compiled from (tests
// left out), the engine's policy data as data.json, served on loopback.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { builtinRegoDir, findOpa } from '../../engine/policy/compile.ts';

export { findOpa };

export interface OpaServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function copyRego(from: string, to: string): void {
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.rego') && !e.name.endsWith('_test.rego')) {
        const dest = join(to, relative(from, p));
        mkdirSync(dirname(dest), { recursive: true });
        copyFileSync(p, dest);
      }
    }
  };
  walk(from);
}

async function waitHealthy(url: string, child: ChildProcess, log: () => string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`opa exited ${child.exitCode}: ${log()}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`opa did not become healthy within ${timeoutMs} ms: ${log()}`);
}

/** Starts `opa run --server` with the built-in Rego and `data` at the root of data. */
export async function startOpaServer(data: object, opts: { opa?: string; regoDir?: string } = {}): Promise<OpaServer> {
  const opa = opts.opa ?? findOpa();
  const dir = mkdtempSync(join(tmpdir(), 'entitlegate-bench-opa-'));
  const policyDir = join(dir, 'policy');
  mkdirSync(policyDir);
  copyRego(opts.regoDir ?? builtinRegoDir(), policyDir);
  writeFileSync(join(policyDir, 'data.json'), JSON.stringify(data));
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  const child = spawn(opa, ['run', '--server', '--addr', addr, '--disable-telemetry', '--log-level', 'error', policyDir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  const url = `http://${addr}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitHealthy(url, child, () => stderr);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, pid: child.pid!, stop };
}
