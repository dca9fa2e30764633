// What each role's view of the dashboard shows, computed from the ledger:
// platform (headroom, reservations, stale sources), finance (what unused
// capacity costs, true-up exposure, spend by owner and contract), procurement
// (renewals), audit (the reservations' record). Reads only.
import type { Entitlement } from '../../engine/config/schema.ts';
import { standingReport } from '../../engine/report.ts';
import { EntitlegateError } from '../../engine/errors.ts';
import { DATE_OR_INSTANT, DAY_MS, endOf, startOf } from '../../engine/time.ts';
import { type ReservationView, type Ledger, viewOf } from '../ledger.ts';
import type { ReservationState } from '../store/types.ts';
import { validAt } from '../history.ts';
import { type Identity, sees, seesPool } from '../identity.ts';
import { reconcile } from './reconciliation.ts';
import { type ScopeCapacity, scopeCapacity } from './scope-capacity.ts';

export interface PlatformProduct {
  product: string;
  metric: string;
  capacity: number;
  /** What sources report, a resource two report counted once. */
  used: number;
  /** What open reservations hold. */
  reserved: number;
  headroom: number;
  utilization: number | null;
  /** Per scope reported: used, reserved, and the capacity and headroom of the pools covering it. */
  scopes: ScopeCapacity[];
}

export async function platformView(ledger: Ledger) {
  await ledger.refresh();
  const now = ledger.clock();
  const standing = standingReport(ledger.engine, now);
  const rec = await reconcile(ledger, 90);
  const byProduct = new Map(rec.products.map((p) => [p.product, p]));
  const products: PlatformProduct[] = standing.products.map((p) => {
    const r = byProduct.get(p.product);
    const reserved = r?.reserved ?? 0;
    return {
      product: p.product,
      metric: p.metric,
      capacity: p.capacity,
      used: p.used,
      reserved,
      headroom: Math.max(0, p.headroom - reserved),
      utilization: p.capacity > 0 ? (p.used + reserved) / p.capacity : null,
      scopes: scopeCapacity(
        ledger.engine,
        p.product,
        now,
        (r?.scopes ?? []).map((s) => ({ scope: s.scope, used: s.declared + s.discovered + s.other, reserved: s.reserved })),
      ),
    };
  });
  const open = await ledger.store.listReservations(now.getTime(), ['held', 'confirmed'], 200);
  return {
    asOf: now.toISOString(),
    products,
    reservations: open.map(viewOf),
    stale: rec.stale,
    overlaps: rec.overlaps.length,
  };
}

/** With `who` limited, over the entitlements it sees (identity.ts seesPool) and the over-use of the products it sees whole. */
export async function financeView(ledger: Ledger, who?: Identity) {
  await ledger.refresh();
  const now = ledger.clock();
  const standing = standingReport(ledger.engine, now);
  const seen = (e: Entitlement) => !who || seesPool(who, e);
  const byId = new Map(ledger.config.config.entitlements.map((e) => [e.id, e]));
  const entitlements = standing.products.flatMap((p) =>
    p.entitlements
      .filter((e) => e.kind === 'entitlement' && seen(byId.get(e.id)!))
      .map((e) => {
        const def = byId.get(e.id)!;
        return {
          id: e.id,
          product: p.product,
          owner: def.owner ?? null,
          contract: def.contract?.ref ?? null,
          capacity: e.capacity,
          used: e.used,
          headroom: e.headroom,
          unitCost: e.unitCost,
          currency: e.currency,
          unusedCost: e.headroomCost,
        };
      }),
  );
  // Over-use: what is counted beyond every usable entitlement, priced at the product's dearest unit cost (the true-up a vendor would ask).
  const exposure = standing.products
    .filter((p) => p.unallocated > 0 && (!who || sees(who, p.product)))
    .map((p) => {
      const priced = ledger.config.config.entitlements.filter((e) => e.product === p.product && e.contract?.unitCost !== undefined);
      const dearest = priced.sort((a, b) => b.contract!.unitCost! - a.contract!.unitCost!)[0];
      return {
        product: p.product,
        overUse: p.unallocated,
        unitCost: dearest?.contract?.unitCost ?? null,
        currency: dearest?.contract?.currency ?? null,
        exposure: dearest ? p.unallocated * dearest.contract!.unitCost! : null,
      };
    })
    .sort((a, b) => (b.exposure ?? -1) - (a.exposure ?? -1) || b.overUse - a.overUse);
  // Spend: quantity × unit cost of the entitlements valid now, by owner and by contract.
  const spend = (key: (e: Entitlement) => string | undefined) => {
    const sums = new Map<string, { key: string; currency: string | null; amount: number }>();
    for (const e of ledger.config.config.entitlements) {
      if (!validAt(e, now.getTime()) || e.contract?.unitCost === undefined || !seen(e)) continue;
      const k = key(e) ?? '(none)';
      const cur = e.contract.currency ?? null;
      const id = `${k}\u0000${cur}`;
      const s = sums.get(id) ?? { key: k, currency: cur, amount: 0 };
      s.amount += e.quantity * e.contract.unitCost;
      sums.set(id, s);
    }
    return [...sums.values()].sort((a, b) => b.amount - a.amount);
  };
  const totals = new Map<string, number>();
  for (const e of entitlements) if (e.unusedCost !== null) totals.set(e.currency ?? '', (totals.get(e.currency ?? '') ?? 0) + e.unusedCost);
  return {
    asOf: now.toISOString(),
    unusedCost: [...totals.entries()].map(([currency, amount]) => ({ currency: currency || null, amount })),
    entitlements: entitlements.sort((a, b) => (b.unusedCost ?? -1) - (a.unusedCost ?? -1)),
    exposure,
    byOwner: spend((e) => e.owner),
    byContract: spend((e) => e.contract?.ref),
  };
}

export async function procurementView(ledger: Ledger, who?: Identity) {
  const now = ledger.clock().getTime();
  const renewals = ledger.config.config.entitlements
    .filter((e) => e.validUntil && validAt(e, now) && (!who || seesPool(who, e)))
    .map((e) => ({
      id: e.id,
      product: e.product,
      quantity: e.quantity,
      owner: e.owner ?? null,
      contract: e.contract?.ref ?? null,
      validUntil: e.validUntil!,
      daysLeft: Math.floor((endOf(e.validUntil!) - now) / DAY_MS),
    }))
    .filter((r) => r.daysLeft <= 180)
    .sort((a, b) => a.daysLeft - b.daysLeft || a.id.localeCompare(b.id));
  return { asOf: new Date(now).toISOString(), renewals };
}

const STATES: readonly ReservationState[] = ['held', 'confirmed', 'released', 'expired', 'settled'];

/** The reservations' record, newest first, filtered by product, resource, actor and time (`from`/`to` ISO instants or dates). */
export async function auditView(ledger: Ledger, q: Record<string, string | undefined>) {
  const now = ledger.clock().getTime();
  for (const k of ['from', 'to'] as const)
    if (q[k] !== undefined && (!DATE_OR_INSTANT.test(q[k]!) || Number.isNaN(startOf(q[k]!))))
      throw new EntitlegateError('EG_ERR_INPUT_INVALID', `${k} must be a date or an ISO-8601 instant, not "${q[k]}"`);
  const from = q.from ? startOf(q.from) : -Infinity;
  const to = q.to ? endOf(q.to) : Infinity;
  const limit = Math.min(Number(q.limit ?? 500) || 500, 5000);
  const all = await ledger.store.listReservations(now, STATES, 50_000);
  const out: ReservationView[] = [];
  for (const r of all) {
    if (r.createdAt < from || r.createdAt >= to) continue;
    if (q.actor && !r.actor.includes(q.actor)) continue;
    if (q.product && !r.lines.some((l) => l.product === q.product)) continue;
    if (q.resource && !r.lines.some((l) => l.resource?.includes(q.resource!))) continue;
    out.push(viewOf(r));
    if (out.length >= limit) break;
  }
  return { asOf: new Date(now).toISOString(), reservations: out };
}
