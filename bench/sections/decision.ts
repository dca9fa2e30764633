// Decision: one claim against the bundled example, three ways, same input.
//  - the entitlegate engine in process (accounting + the compiled WASM policy);
//  - the same Rego served by the OPA server, over HTTP on loopback;
//  - the floor: a JSON.stringify/JSON.parse round trip of the policy input.
import { policyData } from '../../engine/books.ts';
import { policyInput } from '../lib/engine-input.ts';
import { engineFor, exampleFixture, NOW } from '../lib/fixtures.ts';
import { runLoad } from '../lib/load.ts';
import { startOpaServer, type OpaServer } from '../lib/opa-server.ts';
import { keep, round, timeInterleaved, type LoopOptions, type Throughput } from '../lib/stats.ts';
import type { BenchRow, BenchSection } from '../types.ts';

export interface DecisionSizes {
  loop: LoopOptions;
  /** Requests in flight against the OPA server, one row each. */
  concurrency: number[];
}

export const DECISION_SIZES: Record<'full' | 'quick' | 'tiny', DecisionSizes> = {
  full: { loop: { warmupMs: 1000, runMs: 2000, runs: 5 }, concurrency: [1, 8] },
  quick: { loop: { warmupMs: 300, runMs: 600, runs: 3 }, concurrency: [1, 8] },
  tiny: { loop: { warmupMs: 20, runMs: 60, runs: 2 }, concurrency: [2] },
};

const FLOOR = 'JSON round trip (floor)';
const ENGINE = 'entitlegate engine, in process';
const opaSubject = (c: number) => `OPA server REST, ${c} in flight`;

export async function decisionRows(sizes: DecisionSizes, log: (line: string) => void): Promise<BenchRow[]> {
  const fixture = exampleFixture();
  const engine = await engineFor(fixture);
  const opts = { now: NOW };
  const { input, verdict } = policyInput(engine, fixture.claims, opts);
  const inputDesc = `1 claim, example config (${fixture.config.config.products.length} products)`;
  const inputBytes = JSON.stringify(input).length;
  const rows: BenchRow[] = [];

  // Floor and engine runs interleaved, so a noisy stretch hits both alike.
  log(`decision: floor (${inputBytes} B input) and engine in process, runs interleaved`);
  const [floor, eng] = timeInterleaved(
    [() => JSON.parse(JSON.stringify(input)), () => engine.decide(fixture.claims, opts)],
    sizes.loop,
  ) as [Throughput, Throughput];
  rows.push({
    section: 'decision',
    subject: FLOOR,
    input: inputDesc,
    opsPerSec: floor.opsPerSec,
    p50Ms: floor.p50Ms,
    p99Ms: floor.p99Ms,
    note: `policy input ${inputBytes} bytes of JSON`,
  });

  keep(engine.decide(fixture.claims, opts));
  const engineRow = {
    section: 'decision',
    subject: ENGINE,
    input: inputDesc,
    opsPerSec: eng.opsPerSec,
    p50Ms: eng.p50Ms,
    p99Ms: eng.p99Ms,
  };
  rows.push({
    ...engineRow,
    baseline: FLOOR,
    ratio: eng.opsPerSec / floor.opsPerSec,
    target: 'p99 < 1 ms in process',
    met: eng.p99Ms < 1,
    note: `decide() is synchronous: one at a time; runs ${eng.runs.map((r) => Math.round(r)).join(', ')} decisions/s`,
  });

  let bestOpa: { subject: string; opsPerSec: number } | undefined;
  let server: OpaServer | undefined;
  try {
    server = await startOpaServer(policyData(fixture.config.config));
  } catch (e) {
    log(`decision: OPA server not started: ${(e as Error).message}`);
    rows.push({ section: 'decision', subject: 'OPA server REST', input: inputDesc, note: `not measured: ${(e as Error).message}` });
  }
  if (server) {
    try {
      const body = JSON.stringify({ input });
      for (const c of sizes.concurrency) {
        log(`decision: OPA server, ${c} in flight`);
        const r = await runLoad({
          url: `${server.url}/v1/data/entitlegate/decision`,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          concurrency: c,
          warmupMs: sizes.loop.warmupMs,
          runMs: sizes.loop.runMs,
          runs: sizes.loop.runs,
        });
        const same = r.sample !== undefined && sameVerdict(JSON.parse(r.sample) as { result?: unknown }, verdict);
        const notes = [`load generator (bench/loadgen) in its own process, keep-alive`];
        if (!same) notes.push(`WARNING: OPA's answer differs from the engine's: ${r.sample?.slice(0, 200)}`);
        if (r.errors) notes.push(`${r.errors} errors, first: ${r.firstError}`);
        rows.push({
          section: 'decision',
          subject: opaSubject(c),
          input: inputDesc,
          opsPerSec: r.opsPerSec,
          p50Ms: r.p50Ms,
          p99Ms: r.p99Ms,
          baseline: FLOOR,
          ratio: r.opsPerSec / floor.opsPerSec,
          note: notes.join('; '),
        });
        if (!bestOpa || r.opsPerSec > bestOpa.opsPerSec) bestOpa = { subject: opaSubject(c), opsPerSec: r.opsPerSec };
      }
    } finally {
      await server.stop();
    }
  }
  if (bestOpa) {
    rows.push({
      ...engineRow,
      baseline: bestOpa.subject,
      ratio: eng.opsPerSec / bestOpa.opsPerSec,
      target: 'ahead of the OPA server',
      met: eng.opsPerSec > bestOpa.opsPerSec,
      note: `same measurement as the row above, compared with the OPA server's best concurrency`,
    });
  }
  return rows.map((r) => ({
    ...r,
    opsPerSec: round(r.opsPerSec, 0),
    p50Ms: round(r.p50Ms, 4),
    p99Ms: round(r.p99Ms, 4),
    ratio: round(r.ratio, 4),
  }));
}

function sameVerdict(opa: { result?: unknown }, engine: unknown): boolean {
  const norm = (v: unknown): string =>
    JSON.stringify(v, (_k, x: unknown) =>
      x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x,
    );
  return norm(opa.result) === norm(engine);
}

export const decisionSection: BenchSection = {
  name: 'decision',
  run: ({ quick, log }) => decisionRows(DECISION_SIZES[quick ? 'quick' : 'full'], log),
};
