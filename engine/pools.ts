// Pools: entitlements and exceptions of one product, with their state at
// `now` and the order in which usage is charged to them (accounting rule 2).
import type { Entitlement, ExceptionGrant } from './config/schema.ts';
import { scopeMatcher, type ScopeMatcher } from './scope.ts';
import { DAY_MS, daysUntil, endOf, startOf } from './time.ts';

export type PoolState = 'active' | 'grace' | 'expired' | 'future';

export interface PoolDef {
  id: string;
  kind: 'entitlement' | 'exception';
  capacity: number;
  start: number;
  /** First instant after the term (before grace). */
  end: number;
  graceDays: number;
  scope: ScopeMatcher;
}

export interface PoolAtNow {
  def: PoolDef;
  state: PoolState;
  daysLeft: number | null;
  graceDaysLeft: number | null;
  daysToStart: number | null;
}

export function entitlementPool(e: Entitlement): PoolDef {
  return {
    id: e.id,
    kind: 'entitlement',
    capacity: e.quantity,
    start: e.validFrom ? startOf(e.validFrom) : -Infinity,
    end: e.validUntil ? endOf(e.validUntil) : Infinity,
    graceDays: e.graceDays,
    scope: scopeMatcher(e.scope),
  };
}

export function exceptionPool(x: ExceptionGrant): PoolDef {
  return {
    id: x.id,
    kind: 'exception',
    capacity: x.quantity,
    start: x.from ? startOf(x.from) : -Infinity,
    end: endOf(x.until),
    graceDays: 0,
    scope: scopeMatcher(x.scope),
  };
}

/**
 * Charging order: entitlements before exceptions; among entitlements the most
 * restricted scope first, then the earliest end, then id.
 */
/**
 * Whether an entitlement gives capacity at `at`: within its term, grace
 * included (what poolAt calls active or grace), without building its pool.
 */
export function entitlementUsableAt(e: Pick<Entitlement, 'validFrom' | 'validUntil' | 'graceDays'>, at: number): boolean {
  const start = e.validFrom ? startOf(e.validFrom) : -Infinity;
  const end = e.validUntil ? endOf(e.validUntil) : Infinity;
  return at >= start && at < end + (e.graceDays ?? 0) * DAY_MS;
}

export function byChargeOrder(a: PoolDef, b: PoolDef): number {
  if (a.kind !== b.kind) return a.kind === 'entitlement' ? -1 : 1;
  return b.scope.restricted - a.scope.restricted || a.end - b.end || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export function poolAt(def: PoolDef, now: number): PoolAtNow {
  const graceEnd = def.end + def.graceDays * DAY_MS;
  if (now < def.start)
    return { def, state: 'future', daysLeft: null, graceDaysLeft: null, daysToStart: Math.ceil((def.start - now) / DAY_MS) };
  if (now < def.end)
    return {
      def,
      state: 'active',
      daysLeft: def.end === Infinity ? null : daysUntil(def.end, now),
      graceDaysLeft: null,
      daysToStart: null,
    };
  if (now < graceEnd) return { def, state: 'grace', daysLeft: 0, graceDaysLeft: daysUntil(graceEnd, now), daysToStart: null };
  return { def, state: 'expired', daysLeft: null, graceDaysLeft: null, daysToStart: null };
}

export function usable(p: PoolAtNow): boolean {
  return p.state === 'active' || p.state === 'grace';
}
