// A ledger as a real process (`entitlegate ledger serve`), for tests that kill it.
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './postgres.ts';

const MAIN = resolve(import.meta.dirname, '../../cli/main.ts');

export interface LedgerProcess {
  url: string;
  child: ChildProcess;
  log(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function startLedgerProcess(opts: { config: string; store: string; port?: number }): Promise<LedgerProcess> {
  const port = opts.port ?? (await freePort());
  const child = spawn(
    process.execPath,
    [MAIN, 'ledger', 'serve', '--config', opts.config, '--store', opts.store, '--port', String(port), '--log-level', 'warn'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`ledger exited with ${child.exitCode}: ${log}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {}
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`ledger did not start in 30 s: ${log}`);
    }
    await sleep(50);
  }
  return {
    url,
    child,
    log: () => log,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
