// Standing report: utilisation and headroom per product and per entitlement,
// days to expiry, and what unused capacity costs where unit cost is known.
import type { Engine } from './engine.ts';
import type { Metric } from './types.ts';
import { DAY_MS, isoInstant } from './time.ts';

export interface EntitlementStanding {
  id: string;
  kind: 'entitlement' | 'exception';
  state: string;
  capacity: number;
  used: number;
  headroom: number;
  daysToExpiry: number | null;
  /** When its capacity ends (validUntil, grace included); null when it has no end. */
  expiresAt: string | null;
  unitCost: number | null;
  currency: string | null;
  /** headroom × unitCost: what the organisation pays for and does not use. */
  headroomCost: number | null;
}

export interface ProductStanding {
  product: string;
  metric: Metric;
  capacity: number;
  used: number;
  /** Usage that fits no usable entitlement. */
  unallocated: number;
  headroom: number;
  utilization: number | null;
  entitlements: EntitlementStanding[];
}

export interface Report {
  products: ProductStanding[];
  provenance: { config: string; usage: { source: string; observedAt: string }[]; evaluatedAt: string };
}

export function standingReport(engine: Engine, now: Date): Report {
  const contracts = new Map(engine.config.entitlements.map((e) => [e.id, e.contract]));
  const products = engine.config.products.map((product): ProductStanding => {
    const { pools, base } = engine.standing(product.id, now);
    const entitlements = pools.map((p, k): EntitlementStanding => {
      const used = base.loads[k]!;
      const live = p.state === 'active' || p.state === 'grace';
      const headroom = live ? Math.max(0, p.def.capacity - used) : 0;
      const contract = contracts.get(p.def.id);
      const unitCost = contract?.unitCost ?? null;
      return {
        id: p.def.id,
        kind: p.def.kind,
        state: p.state,
        capacity: live ? p.def.capacity : 0,
        used,
        headroom,
        daysToExpiry: p.state === 'grace' ? p.graceDaysLeft : p.daysLeft,
        expiresAt: p.def.end === Infinity ? null : isoInstant(new Date(p.def.end + p.def.graceDays * DAY_MS)),
        unitCost,
        currency: contract?.currency ?? null,
        headroomCost: unitCost === null ? null : headroom * unitCost,
      };
    });
    const capacity = entitlements.reduce((a, e) => a + e.capacity, 0);
    const unallocated = base.overflow.reduce((a, o) => a + o.quantity, 0);
    const used = entitlements.reduce((a, e) => a + e.used, 0) + unallocated;
    return {
      product: product.id,
      metric: product.metric,
      capacity,
      used,
      unallocated,
      // Free capacity summed pool by pool: usage over one scope's entitlement
      // (unallocated) does not eat the room another scope still has.
      headroom: entitlements.reduce((a, e) => a + e.headroom, 0),
      utilization: capacity > 0 ? used / capacity : null,
      entitlements,
    };
  });
  return { products, provenance: { config: engine.configDigest, usage: [...engine.usageSources], evaluatedAt: isoInstant(now) } };
}
