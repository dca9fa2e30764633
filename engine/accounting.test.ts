// The charging algorithm on its own: order, spill, frees and overflow.
import { describe, expect, it } from 'vitest';
import { allocateUsage, charge, chargeAll, coveringPools, free } from './accounting.ts';
import { byChargeOrder, entitlementPool, exceptionPool, poolAt } from './pools.ts';
import type { Entitlement } from './config/schema.ts';

const now = Date.parse('2026-11-28T10:00:00Z');
const ent = (id: string, quantity: number, scope?: Entitlement['scope'], validUntil = '2026-12-31'): Entitlement => ({
  id,
  product: 'p',
  model: 'subscription',
  quantity,
  graceDays: 0,
  validUntil,
  ...(scope ? { scope } : {}),
});
const pools = (...defs: ReturnType<typeof entitlementPool>[]) => defs.sort(byChargeOrder).map((d) => poolAt(d, now));

describe('accounting', () => {
  it('orders pools: entitlements before exceptions, most restricted first, then earliest end, then id', () => {
    const p = pools(
      exceptionPool({ id: 'X', product: 'p', quantity: 1, until: '2026-12-01', reason: 'r', requestedBy: 'a', approvedBy: 'b' }),
      entitlementPool(ent('ANY', 1)),
      entitlementPool(ent('PROD-B', 1, { environment: ['prod'] })),
      entitlementPool(ent('PROD-A', 1, { environment: ['prod'] })),
      entitlementPool(ent('PROD-EU', 1, { environment: ['prod'], region: ['eu-*'] })),
      entitlementPool(ent('PROD-SOON', 1, { environment: ['prod'] }, '2026-12-05')),
    );
    expect(p.map((x) => x.def.id)).toEqual(['PROD-EU', 'PROD-SOON', 'PROD-A', 'PROD-B', 'ANY', 'X']);
  });

  it('spills from the specific pool to the broad one, and overflows the rest', () => {
    const p = pools(entitlementPool(ent('PROD', 32, { environment: ['prod'] })), entitlementPool(ent('ANY', 16)));
    const loads = [0, 0];
    const r = charge(p, loads, coveringPools(p, { environment: 'prod' }), 50);
    expect(r.charged).toEqual([
      { pool: 'PROD', quantity: 32 },
      { pool: 'ANY', quantity: 16 },
    ]);
    expect(r.overflow).toBe(2);
    expect(loads).toEqual([32, 16]);
  });

  it('charges the most constrained usage first, so broad pools stay free for what can go nowhere else', () => {
    const p = pools(entitlementPool(ent('PROD', 10, { environment: ['prod'] })), entitlementPool(ent('ANY', 10)));
    // input order puts the flexible prod record first; it still must not take ANY from dev
    const base = allocateUsage(p, [
      { scope: { environment: 'prod' }, quantity: 15 },
      { scope: { environment: 'dev' }, quantity: 5 },
    ]);
    expect(base.loads).toEqual([10, 10]);
    expect(base.overflow).toEqual([]);
  });

  it('frees the broadest pool first, giving spill back before the specific pool', () => {
    const p = pools(entitlementPool(ent('PROD', 10, { environment: ['prod'] })), entitlementPool(ent('ANY', 10)));
    const loads = [10, 4];
    free(loads, coveringPools(p, { environment: 'prod' }), 6);
    expect(loads).toEqual([8, 0]);
  });

  it('does not charge pools that are not usable now', () => {
    const p = pools(entitlementPool(ent('OLD', 10, undefined, '2026-01-31')), entitlementPool(ent('NEW', 10)));
    expect(coveringPools(p, {}).map((i) => p[i]!.def.id)).toEqual(['NEW']);
    expect(coveringPools(p, {}, false).map((i) => p[i]!.def.id)).toEqual(['OLD', 'NEW']);
    const [r] = chargeAll(p, [0, 0], [{ scope: {}, quantity: 12 }]);
    expect(r).toMatchObject({ charged: [{ pool: 'NEW', quantity: 10 }], overflow: 2 });
  });
});
