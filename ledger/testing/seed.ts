// A generated organisation for the dashboard's browser tests, bench and demos:
// N products with entitlements (owners, contracts, unit costs, renewals spread
// over the year), M months of daily history per product (total and one
// cluster), and current usage from a SAM export and the clusters. History goes
// in with the store's bulk import, so 1,000 products × 25 months takes seconds.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DAY_MS } from '../../engine/time.ts';
import { TOTAL, dayOf } from '../history.ts';
import { openStore } from '../store/open.ts';
import { scopeKey } from '../store/rows.ts';
import type { LogEntry } from '../audit/chain.ts';
import type { HistoryDay, SourceUsageRecord, Store } from '../store/types.ts';

export interface SeedOptions {
  products: number;
  months: number;
  /** The ledger's today: history ends here. */
  now: Date;
  seed?: number;
  /** Decision-log records to write (decisions, one in `deniedEvery` denied), oldest first, ending an hour before now. */
  log?: { records: number; deniedEvery: number };
}

export interface Seeded {
  config: string;
  store: string;
  products: string[];
  /** History rows written. */
  rows: number;
  /** Log records and denials written. */
  log: { records: number; denials: number };
  ms: number;
}

const OWNERS = ['platform@example.com', 'dba@example.com', 'data@example.com', 'security@example.com', 'web@example.com'];
const METRICS = ['vcpu', 'instances', 'users', 'devices'] as const;

/** Deterministic: the same options give the same organisation. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

interface Shape {
  id: string;
  metric: (typeof METRICS)[number];
  capacity: number;
  cluster: string;
  /** Usage on the first day, and its growth per day. */
  start: number;
  growth: number;
  noise: number;
  /** Some products are not used at all (dormant entitlements). */
  dormant: boolean;
  unitCost: number;
  owner: string;
  contract: string;
  validUntil: string;
}

function shapes(o: SeedOptions): Shape[] {
  const r = rng(o.seed ?? 7);
  const year = o.now.getUTCFullYear();
  return Array.from({ length: o.products }, (_, i) => {
    const capacity = 10 * (1 + Math.floor(r() * 50));
    const days = Math.round(o.months * 30.44);
    // Most products grow slowly; a few reach capacity within the forecast's horizon; a few are already over.
    const kind = r();
    const start = capacity * (0.2 + r() * 0.4);
    const end = kind < 0.05 ? capacity * (1.02 + r() * 0.1) : kind < 0.2 ? capacity * (0.85 + r() * 0.12) : start * (1 + r() * 0.4);
    const dormant = kind > 0.97;
    return {
      id: `product-${String(i + 1).padStart(4, '0')}`,
      metric: METRICS[i % METRICS.length]!,
      capacity,
      cluster: `prod-${['eu', 'us', 'ap'][i % 3]}-${1 + (i % 4)}`,
      start: dormant ? 0 : start,
      growth: dormant ? 0 : (end - start) / days,
      noise: dormant ? 0 : capacity * 0.02,
      dormant,
      unitCost: 50 * (1 + Math.floor(r() * 40)),
      owner: OWNERS[i % OWNERS.length]!,
      contract: `PO-${1000 + (i % 97)}`,
      // Renewals spread over the coming year.
      validUntil: dayOf(
        Date.parse(`${year}-01-01T00:00:00Z`) + Math.floor(r() * 360) * DAY_MS + (o.now.getTime() - Date.parse(`${year}-01-01T00:00:00Z`)),
      ),
    };
  });
}

function configYaml(list: Shape[], now: Date): string {
  const from = dayOf(now.getTime() - 800 * DAY_MS);
  const lines = ['version: 1', 'products:'];
  for (const s of list) lines.push(`  - id: ${s.id}`, `    vendor: Example`, `    name: Generated ${s.id}`, `    metric: ${s.metric}`);
  lines.push('entitlements:');
  for (const s of list)
    lines.push(
      `  - id: ${s.id.toUpperCase()}-ENT`,
      `    product: ${s.id}`,
      '    model: subscription',
      `    quantity: ${s.capacity}`,
      `    validFrom: ${from}`,
      `    validUntil: ${s.validUntil}`,
      `    owner: ${s.owner}`,
      `    contract: { ref: ${s.contract}, unitCost: ${s.unitCost}, currency: USD }`,
    );
  return `${lines.join('\n')}\n`;
}

const SURFACES = ['action', 'webhook', 'terraform', 'cli'];

/**
 * Decisions in the log as the ledger writes them (the fields the views read),
 * a gate's every few seconds: most allowed, one in `deniedEvery` denied, each
 * denial naming its resource and scope. In steps of 10,000 records.
 */
async function seedLog(store: Store, list: Shape[], now: Date, o: { records: number; deniedEvery: number }) {
  const start = now.getTime() - 3600_000 - o.records * 5000;
  let denials = 0;
  for (let from = 0; from < o.records; from += 10_000) {
    const entries: LogEntry[] = [];
    for (let i = from; i < Math.min(o.records, from + 10_000); i++) {
      const s = list[(i * 7) % list.length]!;
      const allowed = i % o.deniedEvery !== 0;
      const quantity = allowed ? 1 : s.capacity;
      const scope = { environment: 'prod', cluster: s.cluster };
      const resource = `Deployment/prod/${s.id}-app-${i}`;
      if (!allowed) denials++;
      entries.push({
        at: start + i * 5000,
        actor: `token:ci-${SURFACES[i % SURFACES.length]}`,
        action: 'decision',
        subject: s.id,
        details: {
          allowed,
          mode: 'enforce',
          reserve: false,
          violations: allowed
            ? []
            : [
                {
                  code: 'OVER_ENTITLEMENT',
                  product: s.id,
                  entitlement: null,
                  message: `${s.id}: over its entitlements`,
                  resources: [resource],
                },
              ],
          warnings: [],
          products: [
            {
              product: s.id,
              metric: s.metric,
              capacity: s.capacity,
              used: s.capacity,
              requested: quantity,
              projected: s.capacity + quantity,
              peak: s.capacity + quantity,
              utilization: 1,
            },
          ],
          ...(allowed ? {} : { denied: [{ product: s.id, scope, quantity, resources: [resource], moreResources: 0 }] }),
          claims: { count: 1, digest: 'sha256:seed' },
          version: 'seed',
          client: `entitlegate/seed (${SURFACES[i % SURFACES.length]})`,
        },
      });
    }
    await store.withProducts([], async (tx) => {
      for (const e of entries) await tx.appendLog(e);
    });
  }
  return { records: o.records, denials };
}

/** Writes `dir/entitlegate.yaml` and `dir/ledger.db`, seeded. */
export async function seedLedger(dir: string, o: SeedOptions): Promise<Seeded> {
  const t0 = performance.now();
  const list = shapes(o);
  const config = join(dir, 'entitlegate.yaml');
  writeFileSync(config, configYaml(list, o.now));
  const file = join(dir, 'ledger.db');
  const store = await openStore(file);
  try {
    await store.ensureProducts(list.map((s) => s.id));
    const days = Math.round(o.months * 30.44);
    const first = o.now.getTime() - (days - 1) * DAY_MS;
    const noise = rng((o.seed ?? 7) + 1);
    const rows: HistoryDay[] = [];
    const current: SourceUsageRecord[] = [];
    for (const s of list) {
      const scope = scopeKey({ environment: 'prod', cluster: s.cluster });
      for (let d = 0; d < days; d++) {
        const base = s.start + s.growth * d;
        // A weekly rhythm and noise; peaks are whole units, as usage is.
        const avg = Math.max(0, base * (1 + 0.02 * Math.sin((2 * Math.PI * d) / 7)) + (noise() - 0.5) * s.noise);
        const peak = Math.ceil(avg + noise() * s.noise);
        const last = Math.round(avg);
        const day = dayOf(first + d * DAY_MS);
        rows.push({ product: s.id, scope: TOTAL, day, peak, total: avg * 4, samples: 4, last });
        rows.push({ product: s.id, scope, day, peak, total: avg * 4, samples: 4, last });
      }
      if (!s.dormant) {
        const last = rows.at(-1)!.last;
        // One resource per product, so the SAM export's record of it and the cluster's count once.
        current.push({
          product: s.id,
          quantity: last,
          scope: { environment: 'prod', cluster: s.cluster },
          resource: `Deployment/prod/${s.id}`,
        });
      }
    }
    await store.importHistory(rows);
    const at = o.now.getTime();
    const observedAt = new Date(at - 3600_000).toISOString();
    await store.withProducts('all', async (tx) => {
      // The clusters discover what runs; the SAM export declares a little more for some (reconciliation has something to show).
      for (const cluster of [...new Set(list.map((s) => s.cluster))]) {
        const usage = current.filter((u) => u.scope.cluster === cluster);
        await tx.putUsage(
          { source: `cluster:${cluster}`, observedAt, reportedAt: at - 3600_000, staleAfterMs: 2 * 3600_000, usage },
          'seed',
        );
      }
      const declared = current.filter((_, i) => i % 10 === 0).map((u) => ({ ...u, quantity: u.quantity + 2 }));
      // Exported yesterday: the clusters' newer reports of the same resources are the ones that count.
      const exported = new Date(at - 26 * 3600_000).toISOString();
      await tx.putUsage(
        { source: 'sam:servicenow', observedAt: exported, reportedAt: at - 26 * 3600_000, staleAfterMs: 24 * 3600_000, usage: declared },
        'seed',
      );
    });
    const log = o.log ? await seedLog(store, list, o.now, o.log) : { records: 0, denials: 0 };
    return { config, store: file, products: list.map((s) => s.id), rows: rows.length, log, ms: performance.now() - t0 };
  } finally {
    await store.close();
  }
}
