// The decision log: `entitlegate audit verify --store` on a clean log of
// 1,000,000 records (records per second, target ≥ 200,000/s), and `audit
// export` of the same log (peak RSS, target < 200 MB: the export reads page by
// page at the reader's pace, so its memory must not grow with the log): from
// the store to a file, from a ledger over HTTP (the CLI's and the ledger's
// RSS), and from a ledger to a slow reader (the ledger's RSS: it must not
// buffer what the reader has not taken). The CLI and the ledger each run in a
// process of their own, start-up included; the log is written first through
// the embedded store's own append (its rate is a row too, for scale). Quick
// mode: 20,000 records, no targets.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LogEntry } from '../../ledger/audit/chain.ts';
import { openStore } from '../../ledger/store/open.ts';
import { freePort } from '../lib/opa-server.ts';
import type { BenchRow, BenchSection } from '../types.ts';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const PAGE = 10_000;
const CONFIG = join(ROOT, 'bench', 'fixtures', 'ledger', 'entitlegate.yaml');
/** The slow reader's pace: it takes 1 MB, then waits this long (about 50 MB/s at most). */
const SLOW_PAUSE_MS = 20;

function entitlegateCmd(): string[] {
  const bin = join(ROOT, 'dist', 'bin', 'entitlegate.js');
  return existsSync(bin) ? [bin] : [join(ROOT, 'cli', 'main.ts')];
}

/** A decision as the ledger logs one: a few hundred bytes of details. */
function entry(i: number): LogEntry {
  return {
    at: Date.parse('2026-11-01T00:00:00Z') + i * 10,
    actor: 'token:deploy-jobs',
    action: 'decision',
    subject: `7f0c2a9e-${String(i).padStart(8, '0')}`,
    details: {
      allowed: i % 10 !== 0,
      mode: 'enforce',
      reserve: true,
      violations:
        i % 10 === 0
          ? [{ code: 'OVER_ENTITLEMENT', product: 'oracle-db-ee', entitlement: 'ORA-EE-2026', resources: ['Deployment/prod/orders-db'] }]
          : [],
      warnings: [],
      products: [
        { product: 'oracle-db-ee', metric: 'vcpu', capacity: 64, used: i % 60, requested: 2, projected: (i % 60) + 2, peak: (i % 60) + 2 },
      ],
      claims: { count: 1, digest: 'sha256:3b1f8c0d5e2a4f6b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d' },
      provenance: {
        policy: 'sha256:aa',
        config: 'sha256:bb',
        usage: [{ source: 'cluster:prod-eu-1', observedAt: '2026-11-01T00:00:00Z' }],
        evaluatedAt: '2026-11-01T00:00:00Z',
      },
      version: '0.1.0',
      client: 'node',
    },
  };
}

/** The kernel's peak RSS (VmHWM) of a child, polled until `stop()`, in MB. */
function peakRss(child: ChildProcess): () => number {
  let hwmKb = 0;
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) hwmKb = Math.max(hwmKb, Number(m[1]));
    } catch {
      // exited between polls
    }
  }, 20);
  return () => {
    clearInterval(poll);
    return hwmKb / 1024;
  };
}

/** Runs the CLI; wall time and its peak RSS. */
function runCli(
  args: string[],
  stdoutFile: string,
  env: Record<string, string> = {},
): Promise<{ wallMs: number; peakRssMb: number; code: number | null; stderr: string; stdout: () => string }> {
  return new Promise((resolve, reject) => {
    const out = openSync(stdoutFile, 'w');
    const start = performance.now();
    const child = spawn(process.execPath, [...entitlegateCmd(), ...args], {
      cwd: ROOT,
      stdio: ['ignore', out, 'pipe'],
      env: { ...process.env, ...env },
    });
    let stderr = '';
    const peak = peakRss(child);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const peakRssMb = peak();
      closeSync(out);
      resolve({ wallMs: performance.now() - start, peakRssMb, code, stderr, stdout: () => readFileSync(stdoutFile, 'utf8') });
    });
  });
}

/** `ledger serve` on the store, in its own process; `stop()` ends it and gives its peak RSS. */
async function serveLedger(store: string): Promise<{ url: string; stop: () => Promise<number> }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [...entitlegateCmd(), 'ledger', 'serve', '--config', CONFIG, '--store', store, '--port', String(port), '--log-level', 'warn'],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const peak = peakRss(child);
  let err = '';
  child.stderr!.on('data', (d) => (err = (err + String(d)).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 60_000; ; ) {
    if (child.exitCode !== null) throw new Error(`ledger exited: ${err}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`ledger did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    stop: () =>
      new Promise<number>((resolve) => {
        const mb = peak();
        if (child.exitCode !== null) return resolve(mb);
        child.once('exit', () => resolve(mb));
        child.kill('SIGTERM');
      }),
  };
}

/** GET /v1/audit/export read slowly: 1 MB at a time, then a pause. Bytes read and wall time. */
function slowExport(url: string, token: string): Promise<{ bytes: number; wallMs: number }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    get(`${url}/v1/audit/export`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`export answered ${res.statusCode}`));
      let bytes = 0;
      let sinceStop = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        sinceStop += chunk.length;
        if (sinceStop >= 2 ** 20) {
          sinceStop = 0;
          res.pause();
          setTimeout(() => res.resume(), SLOW_PAUSE_MS);
        }
      });
      res.on('end', () => resolve({ bytes, wallMs: performance.now() - start }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

export async function auditRows(records: number, log: (line: string) => void, withTargets: boolean): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'eg-bench-audit-'));
  const file = join(dir, 'ledger.db');
  const input = `${records.toLocaleString('en-US')} records`;
  try {
    const store = await openStore(file);
    const start = performance.now();
    for (let from = 0; from < records; from += PAGE) {
      await store.withProducts([], async (tx) => {
        for (let i = from; i < Math.min(from + PAGE, records); i++) await tx.appendLog(entry(i));
      });
    }
    const appendMs = performance.now() - start;
    await store.close();
    log(`appended ${input} in ${(appendMs / 1000).toFixed(1)} s (${(statSync(file).size / 2 ** 20).toFixed(0)} MB)`);

    const v = await runCli(['audit', 'verify', '--store', file, '--format', 'json'], join(dir, 'verify.json'));
    const report = JSON.parse(readFileSync(join(dir, 'verify.json'), 'utf8')) as { ok: boolean; records: number };
    if (v.code !== 0 || !report.ok || report.records !== records) throw new Error(`audit verify failed (exit ${v.code}): ${v.stderr}`);
    const verifyRate = records / (v.wallMs / 1000);
    log(`verify: ${(v.wallMs / 1000).toFixed(1)} s, ${Math.round(verifyRate)} records/s, peak RSS ${v.peakRssMb.toFixed(0)} MB`);

    const e = await runCli(['audit', 'export', '--store', file], join(dir, 'export.jsonl'));
    if (e.code !== 0) throw new Error(`audit export failed (exit ${e.code}): ${e.stderr}`);
    const bytes = statSync(join(dir, 'export.jsonl')).size;
    log(`export: ${(e.wallMs / 1000).toFixed(1)} s, ${(bytes / 2 ** 20).toFixed(0)} MB written, peak RSS ${e.peakRssMb.toFixed(0)} MB`);

    const made = await runCli(
      ['ledger', 'token', 'create', '--store', file, '--name', 'bench-auditor', '--role', 'auditor'],
      join(dir, 'token'),
    );
    if (made.code !== 0) throw new Error(`token create failed: ${made.stderr}`);
    const token = made.stdout().trim();
    let ledger = await serveLedger(file);
    const h = await runCli(['audit', 'export', '--ledger', ledger.url], join(dir, 'export-http.jsonl'), { ENTITLEGATE_TOKEN: token });
    const hServerMb = await ledger.stop();
    if (h.code !== 0) throw new Error(`audit export --ledger failed (exit ${h.code}): ${h.stderr}`);
    log(
      `export over HTTP: ${(h.wallMs / 1000).toFixed(1)} s, peak RSS CLI ${h.peakRssMb.toFixed(0)} MB, ledger ${hServerMb.toFixed(0)} MB`,
    );
    ledger = await serveLedger(file);
    const slow = await slowExport(ledger.url, token);
    const slowServerMb = await ledger.stop();
    const slowRate = slow.bytes / 2 ** 20 / (slow.wallMs / 1000);
    log(
      `export to a slow reader: ${(slow.wallMs / 1000).toFixed(1)} s (${slowRate.toFixed(0)} MB/s), ledger peak RSS ${slowServerMb.toFixed(0)} MB`,
    );

    const rows: BenchRow[] = [
      {
        section: 'audit',
        subject: 'decision log append (embedded store, 10,000 per step)',
        input,
        opsPerSec: records / (appendMs / 1000),
        wallMs: appendMs,
        note: 'writing the log for the rows below; for scale',
      },
      {
        section: 'audit',
        subject: 'entitlegate audit verify --store (embedded)',
        input,
        opsPerSec: verifyRate,
        wallMs: v.wallMs,
        peakRssMb: v.peakRssMb,
        note: 'records/s over the whole command, process start-up included',
        ...(withTargets ? { target: '≥ 200,000 records/s', met: verifyRate >= 200_000 } : {}),
      },
      {
        section: 'audit',
        subject: 'entitlegate audit export --store (embedded) to a file',
        input,
        opsPerSec: records / (e.wallMs / 1000),
        wallMs: e.wallMs,
        peakRssMb: e.peakRssMb,
        note: `${(bytes / 2 ** 20).toFixed(0)} MB of JSON Lines`,
        ...(withTargets ? { target: 'peak RSS < 200 MB', met: e.peakRssMb < 200 } : {}),
      },
      {
        section: 'audit',
        subject: 'entitlegate audit export --ledger (HTTP), the CLI',
        input,
        opsPerSec: records / (h.wallMs / 1000),
        wallMs: h.wallMs,
        peakRssMb: h.peakRssMb,
        note: 'the CLI reading the ledger’s stream to a file',
        ...(withTargets ? { target: 'peak RSS < 200 MB', met: h.peakRssMb < 200 } : {}),
      },
      {
        section: 'audit',
        subject: 'entitlegate ledger serve, GET /v1/audit/export to the CLI',
        input,
        peakRssMb: hServerMb,
        note: 'the ledger’s process, start-up included',
        ...(withTargets ? { target: 'peak RSS < 200 MB', met: hServerMb < 200 } : {}),
      },
      {
        section: 'audit',
        subject: 'entitlegate ledger serve, GET /v1/audit/export to a slow reader',
        input,
        wallMs: slow.wallMs,
        peakRssMb: slowServerMb,
        note: `the reader takes 1 MB, then waits ${SLOW_PAUSE_MS} ms (${slowRate.toFixed(0)} MB/s); the ledger must not buffer ahead of it`,
        ...(withTargets ? { target: 'peak RSS < 200 MB', met: slowServerMb < 200 } : {}),
      },
    ];
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const auditSection: BenchSection = {
  name: 'audit',
  run: ({ quick, log }) => auditRows(quick ? 20_000 : 1_000_000, log, !quick),
};
