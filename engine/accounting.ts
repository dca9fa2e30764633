// Accounting (docs/architecture.md, accounting rules): who is charged where. Usage is charged
// first, then the change: frees (negative claims) before adds, each add to
// the covering pools in charge order, spilling to broader ones and then to
// exceptions. The rest is overflow: over entitlement. The peak of the change
// is charged separately, without its frees, to find transient overruns.
import { usable, type PoolAtNow } from './pools.ts';
import type { Scope } from './types.ts';

export interface Item {
  scope: Scope;
  quantity: number;
}

export interface Charge {
  pool: string;
  quantity: number;
}

export interface ItemResult {
  /** Indexes into the pools array, in charge order. */
  covering: number[];
  charged: Charge[];
  overflow: number;
}

/** Pools covering a scope, as indexes into `pools` (already in charge order). */
export function coveringPools(pools: readonly PoolAtNow[], scope: Scope, onlyUsable = true): number[] {
  const out: number[] = [];
  for (let i = 0; i < pools.length; i++) {
    const p = pools[i]!;
    if ((!onlyUsable || usable(p)) && p.def.scope.covers(scope)) out.push(i);
  }
  return out;
}

/** Charges one positive quantity; mutates `loads`. */
export function charge(
  pools: readonly PoolAtNow[],
  loads: number[],
  covering: number[],
  quantity: number,
): { charged: Charge[]; overflow: number } {
  let rest = quantity;
  const charged: Charge[] = [];
  for (const i of covering) {
    if (rest <= 0) break;
    const room = pools[i]!.def.capacity - loads[i]!;
    if (room <= 0) continue;
    const take = Math.min(room, rest);
    loads[i]! += take;
    rest -= take;
    charged.push({ pool: pools[i]!.def.id, quantity: take });
  }
  return { charged, overflow: rest };
}

/** Usage that fits no pool, with the (usable) pools that cover it. */
export interface Overflow {
  covering: number[];
  quantity: number;
}

/**
 * Frees a quantity in the scope of the covering pools. Usage in that scope
 * that was already over (overflow) is given back first: a delete does not
 * make room while what remains still exceeds the entitlement. Then the pools,
 * broadest first (the reverse of charging, so spill is given back before the
 * most specific pool). Mutates `loads` and `overflow`.
 */
export function free(loads: number[], covering: number[], quantity: number, overflow: Overflow[] = []): void {
  let rest = quantity;
  for (const o of overflow) {
    if (rest <= 0) break;
    if (o.quantity <= 0 || !o.covering.some((k) => covering.includes(k))) continue;
    const take = Math.min(o.quantity, rest);
    o.quantity -= take;
    rest -= take;
  }
  for (let k = covering.length - 1; k >= 0 && rest > 0; k--) {
    const i = covering[k]!;
    const take = Math.min(loads[i]!, rest);
    loads[i]! -= take;
    rest -= take;
  }
}

/**
 * Charges items most constrained first (fewest covering pools), which keeps
 * broad pools free for items that can go nowhere else; ties keep input order.
 */
export function chargeAll(pools: readonly PoolAtNow[], loads: number[], items: readonly Item[]): ItemResult[] {
  const covering = items.map((it) => coveringPools(pools, it.scope));
  const order = items.map((_, i) => i).sort((a, b) => covering[a]!.length - covering[b]!.length || a - b);
  const results: ItemResult[] = new Array(items.length);
  for (const i of order) {
    const { charged, overflow } = charge(pools, loads, covering[i]!, items[i]!.quantity);
    results[i] = { covering: covering[i]!, charged, overflow };
  }
  return results;
}

/** The load of each pool after charging existing usage, and what did not fit. */
export interface BaseAllocation {
  loads: number[];
  /** Usage that fits no pool, with the usable pools that cover it (possibly none). */
  overflow: Overflow[];
}

export function allocateUsage(pools: readonly PoolAtNow[], items: readonly Item[]): BaseAllocation {
  const loads = pools.map(() => 0);
  const results = chargeAll(pools, loads, items);
  const overflow = results.filter((r) => r.overflow > 0).map((r) => ({ covering: r.covering, quantity: r.overflow }));
  return { loads, overflow };
}
