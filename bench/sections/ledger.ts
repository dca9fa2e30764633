// The ledger: decide-and-reserve steps per second (POST /v1/decisions with
// reserve: true, each one allowed and held) and p50/p99 at saturation and at
// half of it (open loop), on the embedded store (one process) and on
// PostgreSQL with two ledger replicas, beside a floor measured in the same run
// on the same PostgreSQL: a bare conditional UPDATE … RETURNING through the
// same client (bench/lib/pg-floor.ts). Target: ≥ 50% of the floor's rate.
// Plain HTTP on loopback (the ledger's mode without TLS files); one product, so
// every step waits on the same lock: the worst case for the serialised step.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createLedgerToken } from '../../ledger/serve.ts';
import { type PrivatePostgres, freePort, postgresBin, startPostgres } from '../../ledger/testing/postgres.ts';
import { runJsonChild } from '../lib/child.ts';
import { type LoadResult, runLoad } from '../lib/load.ts';
import type { BenchRow, BenchSection } from '../types.ts';

const HERE = fileURLToPath(import.meta.url);
const ROOT = join(HERE, '..', '..', '..');
const CONFIG = join(ROOT, 'bench', 'fixtures', 'ledger', 'entitlegate.yaml');
const CONNECTIONS = 32;
const FLOOR = 'PostgreSQL floor: bare conditional UPDATE … RETURNING (pg client, 20 connections)';
const BODY = JSON.stringify({
  claims: [{ product: 'bench-db', quantity: 1, scope: {}, resource: { kind: 'Deployment', name: 'bench', namespace: 'bench' } }],
  reserve: true,
  ttl: '30s',
});

interface Ledger {
  url: string;
  stop(): Promise<void>;
}

function entitlegateCmd(): string[] {
  const bin = join(ROOT, 'dist', 'bin', 'entitlegate.js');
  return existsSync(bin) ? [bin] : [join(ROOT, 'cli', 'main.ts')];
}

async function startLedger(store: string): Promise<Ledger> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [...entitlegateCmd(), 'ledger', 'serve', '--config', CONFIG, '--store', store, '--port', String(port), '--log-level', 'warn'],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  child.stderr!.on('data', (d) => (err = (err + String(d)).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`ledger exited: ${err}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`ledger did not start: ${err}`);
    await sleep(100);
  }
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Load on every replica at once (the connections split between them); ops add up, the worst p50/p99 is kept. */
async function load(urls: string[], token: string, ms: number, warmupMs: number, rate?: number): Promise<LoadResult> {
  const results = await Promise.all(
    urls.map((u) =>
      runLoad({
        url: `${u}/v1/decisions`,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: BODY,
        concurrency: Math.ceil(CONNECTIONS / urls.length),
        warmupMs,
        runMs: ms,
        runs: 1,
        expectStatus: 200,
        expectBody: '"reservation"',
        ...(rate ? { rate: rate / urls.length } : {}),
      }),
    ),
  );
  return {
    opsPerSec: results.reduce((a, r) => a + r.opsPerSec, 0),
    p50Ms: Math.max(...results.map((r) => r.p50Ms)),
    p99Ms: Math.max(...results.map((r) => r.p99Ms)),
    runs: results.flatMap((r) => r.runs),
    requests: results.reduce((a, r) => a + r.requests, 0),
    errors: results.reduce((a, r) => a + r.errors, 0),
    unexpected: results.reduce((a, r) => a + r.unexpected, 0),
    ...(results.find((r) => r.firstError) ? { firstError: results.find((r) => r.firstError)!.firstError! } : {}),
  };
}

function rows(subject: string, sat: LoadResult, half: LoadResult, floor: number | undefined): BenchRow[] {
  const problems = (r: LoadResult) =>
    r.errors || r.unexpected ? `; ${r.errors} errors, ${r.unexpected} not reserved${r.firstError ? ` (${r.firstError})` : ''}` : '';
  const ratio = floor ? sat.opsPerSec / floor : undefined;
  return [
    {
      section: 'ledger',
      subject,
      input: `reserve 1 unit of one product, ${CONNECTIONS} connections (saturation)`,
      opsPerSec: sat.opsPerSec,
      p50Ms: sat.p50Ms,
      p99Ms: sat.p99Ms,
      ...(ratio !== undefined ? { baseline: FLOOR, ratio, target: '≥ 0.5 of the floor', met: ratio >= 0.5 } : {}),
      note: `${sat.requests} reservations${problems(sat)}`,
    },
    {
      section: 'ledger',
      subject,
      input: `reserve, open loop at half of saturation (${Math.round(sat.opsPerSec / 2)}/s)`,
      opsPerSec: half.opsPerSec,
      p50Ms: half.p50Ms,
      p99Ms: half.p99Ms,
      note: `${half.requests} reservations${problems(half)}`,
    },
  ];
}

export const ledgerSection: BenchSection = {
  name: 'ledger',
  async run({ quick, log }) {
    const dir = mkdtempSync(join(tmpdir(), 'eg-bench-ledger-'));
    const satMs = quick ? 1500 : 5000;
    const warmMs = quick ? 500 : 2000;
    const out: BenchRow[] = [];
    let pg: PrivatePostgres | undefined;
    const ledgers: Ledger[] = [];
    try {
      // Embedded store: one process.
      const file = join(dir, 'ledger.db');
      const embeddedToken = (await createLedgerToken({ store: file, name: 'bench', roles: ['gate'], now: new Date() })).token;
      const embedded = await startLedger(file);
      ledgers.push(embedded);
      log(`ledger: embedded, saturation ${satMs} ms`);
      const eSat = await load([embedded.url], embeddedToken, satMs, warmMs);
      const eHalf = await load([embedded.url], embeddedToken, satMs, 500, eSat.opsPerSec / 2);
      await embedded.stop();

      let floor: number | undefined;
      let floorRow: BenchRow | undefined;
      if (postgresBin()) {
        pg = await startPostgres();
        const url = pg.url();
        log('ledger: PostgreSQL floor');
        const f = await runJsonChild<{ opsPerSec: number; p50Ms: number; p99Ms: number; requests: number; errors: number }>(
          'pg floor',
          [join(ROOT, 'bench', 'lib', 'pg-floor.ts')],
          { url, concurrency: 20, warmupMs: warmMs, runMs: satMs },
        );
        floor = f.opsPerSec;
        floorRow = {
          section: 'ledger',
          subject: FLOOR,
          input: 'one row, in the same run',
          opsPerSec: f.opsPerSec,
          p50Ms: f.p50Ms,
          p99Ms: f.p99Ms,
          note: `${f.requests} updates, ${f.errors} errors`,
        };
        const pgToken = (await createLedgerToken({ store: url, name: 'bench', roles: ['gate'], now: new Date() })).token;
        const a = await startLedger(url);
        const b = await startLedger(url);
        ledgers.push(a, b);
        log(`ledger: PostgreSQL, two replicas, saturation ${satMs} ms`);
        const pSat = await load([a.url, b.url], pgToken, satMs, warmMs);
        const pHalf = await load([a.url, b.url], pgToken, satMs, 500, pSat.opsPerSec / 2);
        out.push(floorRow, ...rows('entitlegate ledger, PostgreSQL, 2 replicas', pSat, pHalf, floor));
      } else {
        out.push({
          section: 'ledger',
          subject: 'entitlegate ledger, PostgreSQL, 2 replicas',
          input: '-',
          note: 'not measured: PostgreSQL is not installed (scripts/install-postgres.sh)',
        });
      }
      out.push(...rows('entitlegate ledger, embedded (node:sqlite)', eSat, eHalf, floor));
      return out;
    } finally {
      await Promise.all(ledgers.map((l) => l.stop()));
      pg?.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
