// The decision log: `entitlegate audit verify --store` on a clean log of
// 1,000,000 records (records per second, target ≥ 200,000/s), and `audit
// export --store` of the same log to a file (peak RSS, target < 200 MB: the
// export reads page by page, so its memory must not grow with the log).
// Both run as the CLI in its own process, start-up included; the log is
// written first through the embedded store's own append (its rate is a row
// too, for scale). Quick mode: 20,000 records, no targets.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LogEntry } from '../../ledger/audit/chain.ts';
import { openStore } from '../../ledger/store/open.ts';
import type { BenchRow, BenchSection } from '../types.ts';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const PAGE = 10_000;

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

/** Runs the CLI; wall time and the kernel's peak RSS (VmHWM) of the child, polled. */
function runCli(args: string[], stdoutFile: string): Promise<{ wallMs: number; peakRssMb: number; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const out = openSync(stdoutFile, 'w');
    const start = performance.now();
    const child = spawn(process.execPath, [...entitlegateCmd(), ...args], { cwd: ROOT, stdio: ['ignore', out, 'pipe'] });
    let stderr = '';
    let hwmKb = 0;
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) hwmKb = Math.max(hwmKb, Number(m[1]));
      } catch {
        // exited between polls
      }
    }, 20);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(poll);
      closeSync(out);
      resolve({ wallMs: performance.now() - start, peakRssMb: hwmKb / 1024, code, stderr });
    });
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
