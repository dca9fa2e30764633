// An entitlement's term has one definition: the quick test the ledger's
// figures use agrees with the pools the engine charges, at every edge.
import { describe, expect, it } from 'vitest';
import type { Entitlement } from './config/schema.ts';
import { entitlementPool, entitlementUsableAt, poolAt, usable } from './pools.ts';

const e = (extra: Partial<Entitlement>): Entitlement =>
  ({ id: 'E', product: 'p', model: 'subscription', quantity: 4, graceDays: 0, ...extra }) as Entitlement;

describe('entitlementUsableAt', () => {
  const cases: Entitlement[] = [
    e({}),
    e({ validFrom: '2026-02-01' }),
    e({ validUntil: '2026-02-28' }),
    e({ validFrom: '2026-01-01', validUntil: '2026-02-28', graceDays: 5 }),
    e({ validUntil: '2026-02-28T12:00:00Z', graceDays: 1 }),
  ];
  const instants = [
    '2026-01-31T23:59:59Z',
    '2026-02-01T00:00:00Z',
    '2026-02-28T11:59:59Z',
    '2026-02-28T12:00:00Z',
    '2026-02-28T23:59:59Z',
    '2026-03-01T00:00:00Z',
    '2026-03-01T12:00:00Z',
    '2026-03-05T23:59:59Z',
    '2026-03-06T00:00:00Z',
  ];
  for (const ent of cases)
    it(`agrees with poolAt for ${JSON.stringify({ from: ent.validFrom, until: ent.validUntil, grace: ent.graceDays })}`, () => {
      for (const at of instants.map((i) => Date.parse(i)))
        expect(entitlementUsableAt(ent, at), new Date(at).toISOString()).toBe(usable(poolAt(entitlementPool(ent), at)));
    });

  it('counts grace days as capacity and ends after them', () => {
    const ent = e({ validUntil: '2026-02-28', graceDays: 5 });
    expect(entitlementUsableAt(ent, Date.parse('2026-03-05T23:59:59Z'))).toBe(true);
    expect(entitlementUsableAt(ent, Date.parse('2026-03-06T00:00:00Z'))).toBe(false);
  });
});
