// One product's part of a change, accounted (docs/architecture.md, accounting
// rules 2 and 3): on top of existing usage and reservations, the change's
// frees first (it is judged net), then its adds, most constrained first, each
// to its usable covering pools in charge order; its peak charged separately,
// without the frees. Out come the decision contract's numbers for the product,
// and the facts the policy decides from.
import { charge, chargeAll, coveringPools, free, type BaseAllocation, type Charge } from './accounting.ts';
import type { Book } from './books.ts';
import type { ClaimInput, PoolInput } from './policy-input.ts';
import { usable, type PoolAtNow } from './pools.ts';
import { resourceId, type Claim, type DecidedClaim, type ProductOutcome, type UsageRecord } from './types.ts';

export interface ProductChange {
  book: Book;
  /** The book's pools at `now`, in charge order. */
  pools: PoolAtNow[];
  /** Existing usage charged to `pools` (not mutated). */
  base: BaseAllocation;
  /** Every claim of the change; `indexes` says which are this product's. */
  claims: readonly Claim[];
  indexes: readonly number[];
  /** Admitted changes of this product not yet visible in usage. */
  reserved: readonly UsageRecord[];
}

/** Where the step writes, at the claims' own indexes, so the change's order is kept across products. */
export interface ChangeResults {
  decided: DecidedClaim[];
  claimInputs: ClaimInput[];
  pools: Record<string, PoolInput>;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

export function accountProductChange(change: ProductChange, out: ChangeResults): ProductOutcome {
  const { book, pools, base, claims, indexes } = change;
  const pid = book.product.id;
  const metric = book.product.metric;
  const loads = base.loads.slice();
  const overflowBefore = base.overflow.map((o) => ({ ...o }));
  for (const r of chargeAll(pools, loads, change.reserved)) {
    if (r.overflow > 0) overflowBefore.push({ covering: r.covering, quantity: r.overflow });
  }
  const usedLoads = loads.slice();
  const usedOverflow = overflowBefore.map((o) => ({ ...o }));

  const peaks = indexes.map((i) => {
    const c = claims[i]!;
    return c.quantity === null ? 0 : Math.max(c.peak ?? 0, c.quantity, 0);
  });
  const allCovering = indexes.map((i) => coveringPools(pools, claims[i]!.scope, false));
  const usableCovering = allCovering.map((cov) => cov.filter((k) => usable(pools[k]!)));

  // Frees first: the change is judged net.
  indexes.forEach((i, k) => {
    const q = claims[i]!.quantity;
    if (q !== null && q < 0) free(loads, usableCovering[k]!, -q, overflowBefore);
  });
  const order = indexes.map((_, k) => k).sort((a, b) => usableCovering[a]!.length - usableCovering[b]!.length || a - b);
  const charged: Charge[][] = indexes.map(() => []);
  const overflow = indexes.map(() => 0);
  const peakOverflow = indexes.map(() => 0);
  const peakLoads = usedLoads.slice();
  for (const k of order) {
    const q = claims[indexes[k]!]!.quantity;
    if (q !== null && q > 0) {
      const r = charge(pools, loads, usableCovering[k]!, q);
      charged[k] = r.charged;
      overflow[k] = r.overflow;
    }
    if (peaks[k]! > 0) peakOverflow[k] = charge(pools, peakLoads, usableCovering[k]!, peaks[k]!).overflow;
  }

  const relevant = [...new Set(usableCovering.flat())].sort((a, b) => a - b);
  const inRelevant = new Set(relevant);
  const capacity = sum(relevant.map((k) => pools[k]!.def.capacity));
  const used =
    sum(relevant.map((k) => usedLoads[k]!)) +
    sum(usedOverflow.filter((o) => o.covering.some((k) => inRelevant.has(k))).map((o) => o.quantity));
  const requested = sum(indexes.map((i) => claims[i]!.quantity ?? 0));
  const projected = Math.max(0, used + requested);
  const peak = Math.max(projected, used + sum(peaks));
  for (const k of relevant) {
    const p = pools[k]!;
    out.pools[p.def.id] = {
      kind: p.def.kind,
      capacity: p.def.capacity,
      used: usedLoads[k]!,
      projected: loads[k]!,
      peak: peakLoads[k]!,
      state: p.state,
      daysLeft: p.daysLeft,
      graceDaysLeft: p.graceDaysLeft,
    };
  }

  indexes.forEach((i, k) => {
    const c = claims[i]!;
    const d: DecidedClaim = { product: pid, metric, quantity: c.quantity, peak: peaks[k]!, scope: c.scope };
    if (c.resource) d.resource = c.resource;
    if (c.unknownReason) d.unknownReason = c.unknownReason;
    if (c.quantity === null && c.remedy) d.remedy = c.remedy;
    out.decided[i] = d;
    out.claimInputs[i] = {
      ...d,
      resource: resourceId(c.resource),
      covering: allCovering[k]!.map((j) => {
        const p = pools[j]!;
        return { id: p.def.id, kind: p.def.kind, state: p.state, daysLeft: p.daysLeft, daysToStart: p.daysToStart };
      }),
      charged: charged[k]!,
      overflow: overflow[k]!,
      peakOverflow: peakOverflow[k]!,
    };
  });

  return { product: pid, metric, capacity, used, requested, projected, peak, utilization: capacity > 0 ? projected / capacity : null };
}
