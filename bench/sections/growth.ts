// Growth: does the cost of one decision stay flat as the config and the usage
// grow, and what does a webhook's live inventory hold in memory?
//  - decisions/s for one claim, configs of 10 → 1,000 → 10,000 products;
//  - decisions/s for one claim, usage of 10 → 1,000 → 100,000 records
//    spread over 100 products and many scopes;
//  - RSS of the Inventory + Engine after syncing from a fake API server
//    (another process) holding 10,000 and 100,000 pods; and at 100,000 the
//    same with @kubernetes/client-node informers in place of the Inventory's
//    own list/watch client (the reason adapters/kubernetes/README.md gives).
import { fileURLToPath } from 'node:url';
import { Engine } from '../../engine/engine.ts';
import { clusterShape } from '../lib/fake-kube.ts';
import { generatedClaims, generatedConfig, generatedUsage, NOW } from '../lib/fixtures.ts';
import { measureInventory } from '../lib/memory.ts';
import { round, timeInterleaved, type LoopOptions } from '../lib/stats.ts';
import type { BenchRow, BenchSection } from '../types.ts';

export interface GrowthSizes {
  loop: LoopOptions;
  products: number[];
  usage: number[];
  /** Products the usage records are spread over. */
  usageProducts: number;
  pods: number[];
  /** Pod counts at which the client-node informer row is taken too. */
  informerPods: number[];
}

export const GROWTH_SIZES: Record<'full' | 'quick' | 'tiny', GrowthSizes> = {
  full: {
    loop: { warmupMs: 500, runMs: 1000, runs: 5 },
    products: [10, 1000, 10_000],
    usage: [10, 1000, 100_000],
    usageProducts: 100,
    pods: [10_000, 100_000],
    informerPods: [100_000],
  },
  quick: {
    loop: { warmupMs: 200, runMs: 400, runs: 3 },
    products: [10, 1000, 10_000],
    usage: [10, 1000, 100_000],
    usageProducts: 100,
    pods: [100_000],
    informerPods: [100_000],
  },
  tiny: {
    loop: { warmupMs: 20, runMs: 50, runs: 2 },
    products: [10, 100],
    usage: [10, 100],
    usageProducts: 10,
    pods: [300],
    informerPods: [300],
  },
};

/** The flatness target: the biggest config's rate over the smallest's. */
export const FLAT_RATIO = 0.8;
export const MEMORY_TARGET_MB = 300;
const MEMORY_TARGET_PODS = 100_000;

const n = (x: number) => x.toLocaleString('en-US');
const EXAMPLE_CONFIG = fileURLToPath(new URL('../../examples/entitlegate.yaml', import.meta.url));

async function decisionsBy(
  label: string,
  sizes: number[],
  build: (size: number) => Promise<{ engine: Engine; loadMs: number }>,
  loop: LoopOptions,
  log: (l: string) => void,
  target?: string,
): Promise<BenchRow[]> {
  const engines: { size: number; engine: Engine; loadMs: number }[] = [];
  for (const size of sizes) {
    log(`growth: building ${n(size)} ${label}`);
    engines.push({ size, ...(await build(size)) });
  }
  const opts = { now: NOW };
  for (const e of engines) {
    const d = e.engine.decide(generatedClaims, opts);
    if (!d.allowed) throw new Error(`growth: the bench claim was not allowed with ${e.size} ${label}: ${JSON.stringify(d.violations)}`);
  }
  log(`growth: timing ${label} (${engines.map((e) => n(e.size)).join(', ')}), runs interleaved`);
  const results = timeInterleaved(
    engines.map((e) => () => e.engine.decide(generatedClaims, opts)),
    loop,
  );
  const first = engines[0]!;
  const baseSubject = `${n(first.size)} ${label}`;
  return engines.map((e, k) => {
    const r = results[k]!;
    const row: BenchRow = {
      section: 'growth',
      subject: `engine decision, ${n(e.size)} ${label}`,
      input: `1 claim`,
      opsPerSec: round(r.opsPerSec, 0),
      p50Ms: round(r.p50Ms, 4),
      p99Ms: round(r.p99Ms, 4),
      note: `config/usage load + setData ${Math.round(e.loadMs)} ms; runs ${r.runs.map((x) => Math.round(x)).join(', ')} decisions/s`,
    };
    if (k > 0) {
      row.baseline = `engine decision, ${baseSubject}`;
      row.ratio = round(r.opsPerSec / results[0]!.opsPerSec, 3);
      if (target && k === engines.length - 1) {
        row.target = target;
        row.met = row.ratio! >= FLAT_RATIO;
      }
    }
    return row;
  });
}

export async function growthRows(sizes: GrowthSizes, log: (line: string) => void): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const fixedUsage = generatedUsage(100, 10);

  rows.push(
    ...(await decisionsBy(
      'products',
      sizes.products,
      async (size) => {
        const t = performance.now();
        const engine = await Engine.create(generatedConfig(size), [fixedUsage]);
        return { engine, loadMs: performance.now() - t };
      },
      sizes.loop,
      log,
      `flat in products: ≥ ${FLAT_RATIO}× the ${n(sizes.products[0]!)}-product rate`,
    )),
  );

  const usageConfig = generatedConfig(sizes.usageProducts);
  const policy = (await Engine.create(usageConfig, [])).policy;
  rows.push(
    ...(await decisionsBy(
      `usage records`,
      sizes.usage,
      async (size) => {
        const t = performance.now();
        // One compiled policy per engine: setData is per engine, and every engine here has the same config.
        const engine = new Engine(size === sizes.usage[0] ? policy : (await Engine.create(usageConfig, [])).policy, usageConfig, [
          generatedUsage(size, sizes.usageProducts),
        ]);
        return { engine, loadMs: performance.now() - t };
      },
      sizes.loop,
      log,
    )),
  );
  for (const r of rows.filter((x) => x.subject.includes('usage records'))) r.input = `1 claim, ${sizes.usageProducts} products`;

  rows.push(...(await memoryRows(sizes, log)));
  return rows;
}

const MEMORY_SUBJECT = 'webhook memory (Inventory + Engine)';
const INFORMER_SUBJECT = 'webhook memory, client-node informers (+ Engine)';

/** The memory rows: the Inventory as shipped at each size, and client-node informers at `informerPods`. */
export async function memoryRows(sizes: Pick<GrowthSizes, 'pods' | 'informerPods'>, log: (line: string) => void): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const pods of sizes.pods) {
    const shape = clusterShape(pods);
    const input = `${n(shape.pods)} pods (${n(shape.deployments)} Deployments + ReplicaSets, ${n(shape.barePods)} bare Pods)`;
    log(`growth: webhook memory, ${n(shape.pods)} pods (fake API server in another process)`);
    const r = await measureInventory(pods, EXAMPLE_CONFIG);
    const checks = pods === MEMORY_TARGET_PODS;
    const own: BenchRow = {
      section: 'growth',
      subject: MEMORY_SUBJECT,
      input,
      wallMs: r.syncMs,
      peakRssMb: r.maxRssMb,
      ...(checks ? { target: `< ${MEMORY_TARGET_MB} MB RSS at ${n(MEMORY_TARGET_PODS)} pods`, met: r.maxRssMb < MEMORY_TARGET_MB } : {}),
      note:
        `RSS column = peak RSS (getrusage); after sync + full GC: RSS ${r.rssMb} MB, heap used ${r.heapUsedMb} MB of ${r.heapTotalMb} MB, external ${r.externalMb} MB; ` +
        `RSS before the informers started (Node + client + engine + WASM): ${r.baseRssMb} MB; wall = time to first sync; ${r.usageRecords} usage records`,
    };
    rows.push(own);
    if (!sizes.informerPods.includes(pods)) continue;
    log(`growth: webhook memory with client-node informers, ${n(shape.pods)} pods`);
    const i = await measureInventory(pods, EXAMPLE_CONFIG, [], 'informer');
    if (i.usedVcpu !== r.usedVcpu || i.usageRecords !== r.usageRecords)
      throw new Error(
        `growth: informers and Inventory disagree: ${i.usedVcpu} vs ${r.usedVcpu} vCPU, ${i.usageRecords} vs ${r.usageRecords} records`,
      );
    rows.push({
      section: 'growth',
      subject: INFORMER_SUBJECT,
      input,
      wallMs: i.syncMs,
      peakRssMb: i.maxRssMb,
      baseline: MEMORY_SUBJECT,
      // Memory is the headline: this row's peak RSS over the Inventory's (lower is better).
      ratio: round(i.maxRssMb / r.maxRssMb, 2),
      note:
        `one makeInformer per collection (unpaged list through the generated API clients, objects cached whole), events slimmed into the same UsageIndex; ` +
        `after sync + full GC: RSS ${i.rssMb} MB, heap used ${i.heapUsedMb} MB; first sync ${i.syncMs} ms vs ${r.syncMs} ms (${round(i.syncMs / r.syncMs, 2)}×); same usage (${i.usedVcpu} vCPU)`,
    });
  }
  return rows;
}

export const growthSection: BenchSection = {
  name: 'growth',
  run: ({ quick, log }) => growthRows(GROWTH_SIZES[quick ? 'quick' : 'full'], log),
};
