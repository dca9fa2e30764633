// Capacity and headroom of a product in each scope, for the platform view:
// the engine's own pools (term, grace, scope coverage and charge order), not a
// second copy of them. A scope's capacity is what the usable pools covering it
// hold; its headroom what they have left once the sources' usage (charged by
// the engine) and the open reservations (charged as a decision charges them)
// are taken.
// A pool covering several scopes (an unscoped entitlement) counts in each.
import { chargeAll, coveringPools } from '../../engine/accounting.ts';
import type { Engine } from '../../engine/engine.ts';
import type { Scope } from '../../engine/types.ts';

export interface ScopeFigures {
  scope: Scope;
  used: number;
  reserved: number;
}

export interface ScopeCapacity extends ScopeFigures {
  capacity: number;
  headroom: number;
}

export function scopeCapacity(engine: Engine, product: string, now: Date, scopes: readonly ScopeFigures[]): ScopeCapacity[] {
  if (scopes.length === 0) return [];
  const { pools, base } = engine.standing(product, now);
  const loads = [...base.loads];
  // Open reservations charged as a decision charges them (accountProductChange): most constrained first.
  chargeAll(
    pools,
    loads,
    scopes.filter((s) => s.reserved > 0).map((s) => ({ scope: s.scope, quantity: s.reserved })),
  );
  return scopes.map((s) => {
    const covering = coveringPools(pools, s.scope);
    let capacity = 0;
    let headroom = 0;
    for (const i of covering) {
      capacity += pools[i]!.def.capacity;
      headroom += Math.max(0, pools[i]!.def.capacity - loads[i]!);
    }
    return { ...s, capacity, headroom };
  });
}
