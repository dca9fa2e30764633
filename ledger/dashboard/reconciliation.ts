// Reconciliation: per product and scope, what is entitled against what the SAM
// tools declare, what clusters and Terraform state discover, and what gates
// reserved; resources two sources report; entitlements nobody used for N days;
// reservations that expired without being confirmed; sources gone quiet.
import { EntitlegateError } from '../../engine/errors.ts';
import { DAY_MS } from '../../engine/time.ts';
import { dayOf, TOTAL, validAt } from '../history.ts';
import { type Identity, sees, seesPool } from '../identity.ts';
import type { Ledger } from '../ledger.ts';
import { scopeKey } from '../store/rows.ts';
import type { ReservationLine } from '../store/types.ts';
import { type Overlap, overlaps } from '../usage.ts';

/** What a source's name says it is: `sam:` declares, `cluster:` and `terraform:` discover what is deployed. */
export type SourceKind = 'declared' | 'discovered' | 'other';

export function sourceKind(source: string): SourceKind {
  if (source.startsWith('sam:')) return 'declared';
  if (source.startsWith('cluster:') || source.startsWith('terraform:')) return 'discovered';
  return 'other';
}

export interface Figures {
  declared: number;
  discovered: number;
  other: number;
  reserved: number;
}

export interface ProductReconciliation extends Figures {
  product: string;
  metric: string;
  /** Capacity of the entitlements valid now. */
  entitled: number;
  /** declared − discovered: what the SAM tool says minus what is found deployed. */
  gap: number;
  scopes: (Figures & { scope: Record<string, string> })[];
}

export interface Reconciliation {
  asOf: string;
  dormantDays: number;
  products: ProductReconciliation[];
  overlaps: Overlap[];
  dormant: {
    entitlement: string;
    product: string;
    quantity: number;
    owner: string | null;
    validUntil: string | null;
    unitCost: number | null;
    currency: string | null;
  }[];
  unconfirmed: { id: string; actor: string; createdAt: string; expiredAt: string; lines: ReservationLine[] }[];
  stale: { source: string; reportedAt: string; staleAfter: string }[];
  sources: { source: string; kind: SourceKind; observedAt: string; reportedAt: string; records: number }[];
}

export function parseDormantDays(value: string | undefined): number {
  if (value === undefined) return 90;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 800)
    throw new EntitlegateError('EG_ERR_INPUT_INVALID', `dormantDays must be a whole number of days from 1 to 800, not "${value}"`);
  return n;
}

const zero = (): Figures => ({ declared: 0, discovered: 0, other: 0, reserved: 0 });

/**
 * With `who` limited to products or a scope, every figure is computed over what
 * it sees (identity.ts sees()): its products, usage and reservation lines in its
 * scope, the entitlements restricted to it; sources and reservations that show
 * nothing of them are left out, so no other product or scope shows through a total.
 */
export async function reconcile(ledger: Ledger, dormantDays: number, who?: Identity): Promise<Reconciliation> {
  const now = ledger.clock().getTime();
  const visible = (product: string, scope?: Record<string, string | undefined>) => !who || sees(who, product, scope);
  const all = await ledger.store.withProducts([], (tx) => tx.currentUsage());
  const reports = who
    ? all.map((r) => ({ ...r, usage: r.usage.filter((u) => visible(u.product, u.scope)) })).filter((r) => r.usage.length > 0)
    : all;
  // Read-only: held and confirmed reservations as a reader sees them (no locks; gates are not held up).
  const whole = (r: { lines: ReservationLine[] }) => r.lines.every((l) => visible(l.product, l.scope));
  const open = await ledger.store.listReservations(now, ['held', 'confirmed'], 100_000);
  const expired = (await ledger.store.listReservations(now, ['expired'], who ? 10_000 : 100)).filter(whole).slice(0, 100);
  const peaks = new Map((await ledger.store.historyPeaks(TOTAL, dayOf(now - (dormantDays - 1) * DAY_MS))).map((p) => [p.product, p.peak]));
  const last = new Map(
    (await ledger.store.withProducts([], (tx) => tx.historyLast())).filter((s) => s.scope === TOTAL).map((s) => [s.product, s.quantity]),
  );

  const config = ledger.config.config;
  const byProduct = new Map<string, { total: Figures; scopes: Map<string, Figures> }>();
  const seesProduct = (id: string) => !who?.products || who.products.includes(id);
  for (const p of config.products) if (seesProduct(p.id)) byProduct.set(p.id, { total: zero(), scopes: new Map() });
  const add = (product: string, scope: Record<string, string | undefined>, key: keyof Figures, quantity: number) => {
    const entry = byProduct.get(product);
    // A limited reader's totals count only the lines it sees (of a reservation, the lines in its products and scope).
    if (!entry || !visible(product, scope)) return;
    const k = scopeKey(scope);
    const s = entry.scopes.get(k) ?? zero();
    entry.scopes.set(k, s);
    s[key] += quantity;
    entry.total[key] += quantity;
  };
  for (const r of reports) for (const u of r.usage) add(u.product, u.scope, sourceKind(r.source), u.quantity);
  for (const r of open) for (const l of r.lines) add(l.product, l.scope, 'reserved', l.quantity);

  const live = config.entitlements.filter((e) => validAt(e, now) && (!who || seesPool(who, e)));
  const products = config.products
    .filter((p) => byProduct.has(p.id))
    .map((p): ProductReconciliation => {
      const entry = byProduct.get(p.id)!;
      return {
        product: p.id,
        metric: p.metric,
        entitled: live.filter((e) => e.product === p.id).reduce((a, e) => a + e.quantity, 0),
        ...entry.total,
        gap: entry.total.declared - entry.total.discovered,
        scopes: [...entry.scopes.entries()]
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([k, f]) => ({ scope: JSON.parse(k) as Record<string, string>, ...f })),
      };
    });
  const inUse = new Map(products.map((p) => [p.product, p.declared + p.discovered + p.other + p.reserved]));
  // Dormant: nothing counted for the product in the whole period and nothing now (the history's last sample, today's figures).
  const dormant = live
    .filter((e) => (peaks.get(e.product) ?? 0) === 0 && (last.get(e.product) ?? 0) === 0 && (inUse.get(e.product) ?? 0) === 0)
    .map((e) => ({
      entitlement: e.id,
      product: e.product,
      quantity: e.quantity,
      owner: e.owner ?? null,
      validUntil: e.validUntil ?? null,
      unitCost: e.contract?.unitCost ?? null,
      currency: e.contract?.currency ?? null,
    }));
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    asOf: iso(now),
    dormantDays,
    products,
    overlaps: overlaps(reports),
    dormant,
    unconfirmed: expired.map((r) => ({
      id: r.id,
      actor: r.actor,
      createdAt: iso(r.createdAt),
      expiredAt: iso(r.expiresAt!),
      lines: r.lines,
    })),
    stale: reports
      .filter((r) => r.staleAfterMs !== null && now - r.reportedAt > r.staleAfterMs)
      .map((r) => ({ source: r.source, reportedAt: iso(r.reportedAt), staleAfter: `${Math.round(r.staleAfterMs! / 1000)}s` })),
    sources: reports.map((r) => ({
      source: r.source,
      kind: sourceKind(r.source),
      observedAt: r.observedAt,
      reportedAt: iso(r.reportedAt),
      records: r.usage.length,
    })),
  };
}
