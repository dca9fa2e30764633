// Decisions through the compiled WebAssembly policy: every decision code and
// the accounting contract of docs/architecture.md.
import { describe, expect, it } from 'vitest';
import { NOW, engineFor, entitlement, oracle, usage } from '../test/fixtures.ts';
import type { Claim, Decision } from './types.ts';
import pkg from '../package.json' with { type: 'json' };

const claim = (quantity: number | null, scope: Claim['scope'] = { environment: 'prod' }, extra: Partial<Claim> = {}): Claim => ({
  product: 'ora',
  quantity,
  scope,
  resource: { kind: 'Deployment', name: 'db', namespace: scope.namespace ?? 'prod' },
  ...extra,
});

const codes = (d: Decision) => ({ violations: d.violations.map((v) => v.code).sort(), warnings: d.warnings.map((w) => w.code).sort() });

interface Case {
  name: string;
  doc: Record<string, unknown>;
  used?: { quantity: number; scope: Claim['scope'] }[];
  claims: Claim[];
  now?: string;
  mode?: 'enforce' | 'warn';
  allowed: boolean;
  violations?: string[];
  warnings?: string[];
  product?: Partial<Decision['products'][number]>;
}

const base = { products: [oracle] };
const prod32any16 = { ...base, entitlements: [entitlement('PROD', 32, { scope: { environment: ['prod'] } }), entitlement('ANY', 16)] };

const cases: Case[] = [
  {
    name: 'a change that fits is allowed quietly',
    doc: { ...base, entitlements: [entitlement('E', 64)] },
    used: [{ quantity: 10, scope: { environment: 'prod' } }],
    claims: [claim(8)],
    allowed: true,
    product: { capacity: 64, used: 10, requested: 8, projected: 18, peak: 18 },
  },
  {
    name: 'OVER_ENTITLEMENT: projected usage exceeds capacity (contract example 60 + 8 > 64)',
    doc: { ...base, entitlements: [entitlement('ORA-EE-2026', 64, { scope: { environment: ['prod'] } })] },
    used: [{ quantity: 60, scope: { environment: 'prod' } }],
    claims: [claim(8)],
    allowed: false,
    violations: ['OVER_ENTITLEMENT'],
    product: { capacity: 64, used: 60, requested: 8, projected: 68, peak: 68, utilization: 68 / 64 },
  },
  {
    name: 'scope spill: 30 prod in the prod pool leave the any pool for a 10 vCPU dev claim',
    doc: prod32any16,
    used: [{ quantity: 30, scope: { environment: 'prod' } }],
    claims: [claim(10, { environment: 'dev' })],
    allowed: true,
    product: { capacity: 16, used: 0, requested: 10, projected: 10 },
  },
  {
    name: 'scope spill: prod overflow spills into the any pool, leaving too little for dev',
    doc: prod32any16,
    used: [{ quantity: 40, scope: { environment: 'prod' } }],
    claims: [claim(10, { environment: 'dev' })],
    allowed: false,
    violations: ['OVER_ENTITLEMENT'],
    product: { capacity: 16, used: 8, requested: 10, projected: 18 },
  },
  {
    name: 'a prod claim spills from the prod pool to the any pool',
    doc: prod32any16,
    used: [{ quantity: 30, scope: { environment: 'prod' } }],
    claims: [claim(10)],
    allowed: true,
    warnings: ['APPROACHING_LIMIT'],
    product: { capacity: 48, used: 30, requested: 10, projected: 40 },
  },
  {
    name: 'UNLICENSED: no entitlement at all (deny)',
    doc: base,
    claims: [claim(2)],
    allowed: false,
    violations: ['UNLICENSED'],
  },
  {
    name: 'UNLICENSED as a warning when defaults.unlicensed is warn',
    doc: { ...base, defaults: { unlicensed: 'warn' } },
    claims: [claim(2)],
    allowed: true,
    warnings: ['UNLICENSED'],
  },
  {
    name: 'OUT_OF_SCOPE: entitlements exist, none covers the scope',
    doc: { ...base, entitlements: [entitlement('PROD', 32, { scope: { environment: ['prod'] } })] },
    claims: [claim(2, { environment: 'dev' })],
    allowed: false,
    violations: ['OUT_OF_SCOPE'],
  },
  {
    name: 'a claim that does not know a restricted dimension is not covered',
    doc: { ...base, entitlements: [entitlement('EU', 32, { scope: { region: ['eu-*'] } })] },
    claims: [claim(2, { environment: 'prod' })],
    allowed: false,
    violations: ['OUT_OF_SCOPE'],
  },
  {
    name: 'scope globs match',
    doc: { ...base, entitlements: [entitlement('EU', 32, { scope: { region: ['eu-*'] } })] },
    claims: [claim(2, { region: 'eu-west-1' })],
    allowed: true,
  },
  {
    name: 'EXPIRED: the covering entitlement ended and its grace is over',
    doc: { ...base, entitlements: [entitlement('OLD', 64, { validUntil: '2026-10-31', graceDays: 10 })] },
    claims: [claim(2)],
    allowed: false,
    violations: ['EXPIRED'],
  },
  {
    name: 'IN_GRACE_PERIOD: ended, but within graceDays it still gives capacity',
    doc: { ...base, entitlements: [entitlement('OLD', 64, { validUntil: '2026-11-20', graceDays: 30 })] },
    claims: [claim(2)],
    allowed: true,
    warnings: ['IN_GRACE_PERIOD'],
    product: { capacity: 64 },
  },
  {
    name: 'NOT_YET_VALID: the covering entitlement starts after now',
    doc: { ...base, entitlements: [entitlement('NEXT', 64, { validFrom: '2027-01-01', validUntil: '2027-12-31' })] },
    claims: [claim(2)],
    allowed: false,
    violations: ['NOT_YET_VALID'],
  },
  {
    name: 'EXPIRING_SOON: the charged entitlement ends within expiryWarningDays',
    doc: { ...base, entitlements: [entitlement('E', 64, { validUntil: '2026-12-10' })] },
    claims: [claim(2)],
    allowed: true,
    warnings: ['EXPIRING_SOON'],
  },
  {
    name: 'validUntil is inclusive: the last day still counts',
    doc: { ...base, entitlements: [entitlement('E', 64, { validUntil: '2026-11-28' })] },
    claims: [claim(2)],
    allowed: true,
    warnings: ['EXPIRING_SOON'],
  },
  {
    name: 'EXCEPTION_APPLIED: an exception adds capacity to its product',
    doc: {
      ...base,
      entitlements: [entitlement('E', 64)],
      exceptions: [
        { id: 'EXC-7', product: 'ora', quantity: 8, until: '2026-12-15', reason: 'cutover', requestedBy: 'alice', approvedBy: 'bob' },
      ],
    },
    used: [{ quantity: 60, scope: { environment: 'prod' } }],
    claims: [claim(8)],
    allowed: true,
    warnings: ['APPROACHING_LIMIT', 'EXCEPTION_APPLIED'],
    product: { capacity: 72, projected: 68 },
  },
  {
    name: 'an expired exception adds nothing',
    doc: {
      ...base,
      entitlements: [entitlement('E', 64)],
      exceptions: [
        { id: 'EXC-7', product: 'ora', quantity: 8, until: '2026-11-27', reason: 'cutover', requestedBy: 'alice', approvedBy: 'bob' },
      ],
    },
    used: [{ quantity: 60, scope: { environment: 'prod' } }],
    claims: [claim(8)],
    allowed: false,
    violations: ['OVER_ENTITLEMENT'],
    product: { capacity: 64 },
  },
  {
    name: 'an exception alone licenses a product',
    doc: {
      ...base,
      exceptions: [{ id: 'X', product: 'ora', quantity: 4, until: '2026-12-31', reason: 'pilot', requestedBy: 'alice', approvedBy: 'bob' }],
    },
    claims: [claim(2)],
    allowed: true,
    warnings: ['EXCEPTION_APPLIED'],
  },
  {
    name: 'net: a delete in the same change frees capacity for an add',
    doc: { ...base, entitlements: [entitlement('E', 64)] },
    used: [{ quantity: 60, scope: { environment: 'prod' } }],
    claims: [claim(-8), claim(8)],
    allowed: true,
    warnings: ['TRANSIENT_PEAK'],
    product: { used: 60, requested: 0, projected: 60, peak: 68 },
  },
  {
    name: 'TRANSIENT_PEAK denies when defaults.peak is deny',
    doc: { ...base, defaults: { peak: 'deny' }, entitlements: [entitlement('E', 64)] },
    used: [{ quantity: 60, scope: { environment: 'prod' } }],
    claims: [claim(2, { environment: 'prod' }, { peak: 8 })],
    allowed: false,
    violations: ['TRANSIENT_PEAK'],
    warnings: ['APPROACHING_LIMIT'],
    product: { projected: 62, peak: 68 },
  },
  {
    name: 'UNKNOWN_QUANTITY denies by default',
    doc: { ...base, entitlements: [entitlement('E', 64)] },
    claims: [claim(null, { environment: 'prod' }, { unknownReason: 'container db has no CPU limit or request' })],
    allowed: false,
    violations: ['UNKNOWN_QUANTITY'],
  },
  {
    name: 'UNKNOWN_QUANTITY warns when configured',
    doc: { ...base, defaults: { unknownQuantity: 'warn' }, entitlements: [entitlement('E', 64)] },
    claims: [claim(null)],
    allowed: true,
    warnings: ['UNKNOWN_QUANTITY'],
  },
  {
    name: 'warn mode reports violations but allows',
    doc: { ...base, entitlements: [entitlement('E', 4)] },
    claims: [claim(8)],
    mode: 'warn',
    allowed: true,
    violations: ['OVER_ENTITLEMENT'],
  },
  {
    name: 'defaults.mode warn applies when no mode is given',
    doc: { ...base, defaults: { mode: 'warn' }, entitlements: [entitlement('E', 4)] },
    claims: [claim(8)],
    allowed: true,
    violations: ['OVER_ENTITLEMENT'],
  },
  {
    name: 'removing an unlicensed deployment is not blocked',
    doc: base,
    claims: [claim(-4)],
    allowed: true,
  },
];

describe('decisions through the compiled policy', () => {
  it.each(cases)('$name', async (c) => {
    const engine = await engineFor(c.doc, c.used ? [usage(c.used.map((u) => ({ product: 'ora', ...u })))] : []);
    const d = engine.decide(c.claims, { now: c.now ? new Date(c.now) : NOW, ...(c.mode ? { mode: c.mode } : {}) });
    expect(codes(d)).toEqual({ violations: (c.violations ?? []).sort(), warnings: (c.warnings ?? []).sort() });
    expect(d.allowed).toBe(c.allowed);
    if (c.product) expect(d.products[0]).toMatchObject(c.product);
  });
});

describe('accounting details', () => {
  it('adds up several usage snapshots and keeps each one as provenance', async () => {
    const engine = await engineFor({ ...base, entitlements: [entitlement('E', 64)] }, [
      usage([{ product: 'ora', quantity: 20, scope: { environment: 'prod' } }], 'sam-export', '2026-11-28T06:00:00Z'),
      usage([{ product: 'ora', quantity: 30, scope: { environment: 'prod' } }], 'cmdb', '2026-11-27T06:00:00Z'),
    ]);
    const d = engine.decide([claim(10)], { now: NOW });
    expect(d.products[0]).toMatchObject({ used: 50, projected: 60 });
    expect(d.provenance.usage).toEqual([
      { source: 'sam-export', observedAt: '2026-11-28T06:00:00Z' },
      { source: 'cmdb', observedAt: '2026-11-27T06:00:00Z' },
    ]);
    expect(d.provenance.evaluatedAt).toBe('2026-11-28T10:00:00Z');
    expect(d.provenance.version).toBe(pkg.version);
    expect(d.provenance.policy).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(d.provenance.config).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('charges the most specific pool first: ties by earliest validUntil, then id', async () => {
    const engine = await engineFor({
      ...base,
      entitlements: [
        entitlement('B-LATE', 10, { scope: { environment: ['prod'] }, validUntil: '2027-06-30' }),
        entitlement('A-SOON', 10, { scope: { environment: ['prod'] }, validUntil: '2026-12-20' }),
        entitlement('BROAD', 10, { validUntil: '2026-12-10' }),
      ],
    });
    // A small claim lands on A-SOON alone: it warns for A-SOON, not for BROAD (which also ends soon).
    const small = engine.decide([claim(5)], { now: NOW });
    expect(small.warnings.map((w) => [w.code, w.entitlement])).toEqual([['EXPIRING_SOON', 'A-SOON']]);
    // 10 + 10 in the prod pools, then 4 spill to BROAD, which now warns too.
    const spill = engine.decide([claim(24)], { now: NOW });
    expect(spill.allowed).toBe(true);
    expect(
      spill.warnings
        .filter((w) => w.code === 'EXPIRING_SOON')
        .map((w) => w.entitlement)
        .sort(),
    ).toEqual(['A-SOON', 'BROAD']);
    expect(spill.products[0]).toMatchObject({ capacity: 30, projected: 24 });
    const over = engine.decide([claim(31)], { now: NOW });
    expect(over.violations.map((v) => [v.code, v.entitlement])).toEqual([['OVER_ENTITLEMENT', 'A-SOON']]);
  });

  it('a delete does not make room while the usage left is still over the entitlement', async () => {
    const doc = { ...base, entitlements: [entitlement('PROD', 32, { scope: { environment: ['prod'] } })] };
    const engine = await engineFor(doc, [usage([{ product: 'ora', quantity: 40, scope: { environment: 'prod' } }])]);
    // 40 in use of 32: freeing 8 only brings usage down to the entitlement, so +3 is still over
    const d = engine.decide([claim(-8), claim(3)], { now: NOW });
    expect(codes(d).violations).toEqual(['OVER_ENTITLEMENT']);
    expect(d.products[0]).toMatchObject({ used: 40, requested: -5, projected: 35, capacity: 32 });
    expect(d.violations[0]!.message).toContain('reduce the request by 3 vcpu');
    // freeing more than the excess makes room again
    expect(engine.decide([claim(-10), claim(2)], { now: NOW }).allowed).toBe(true);
  });

  it('an over-entitlement message counts the pools the claim can use, not every pool the change touches', async () => {
    const doc = {
      ...base,
      entitlements: [
        entitlement('PROD', 32, { scope: { environment: ['prod'] } }),
        entitlement('DEV', 16, { scope: { environment: ['dev'] } }),
      ],
    };
    const engine = await engineFor(doc, [usage([{ product: 'ora', quantity: 30, scope: { environment: 'prod' } }])]);
    const d = engine.decide([claim(10), claim(1, { environment: 'dev' })], { now: NOW });
    expect(codes(d)).toEqual({ violations: ['OVER_ENTITLEMENT'], warnings: [] });
    expect(d.violations[0]!.message).toContain(
      '40 vcpu projected exceeds the 32 vcpu covered (30 used + 10 requested); reduce the request by 8 vcpu',
    );
  });

  it('no usable entitlement, one ended and one to come: NOT_YET_VALID names the one to come', async () => {
    const doc = {
      ...base,
      entitlements: [entitlement('FUT', 64, { validFrom: '2027-01-01', validUntil: '2027-12-31' })],
      exceptions: [
        { id: 'X', product: 'ora', quantity: 4, until: '2026-11-27', reason: 'bridge', requestedBy: 'alice', approvedBy: 'bob' },
      ],
    };
    const d = (await engineFor(doc)).decide([claim(2)], { now: NOW });
    expect(d.violations.map((v) => [v.code, v.entitlement])).toEqual([['NOT_YET_VALID', 'FUT']]);
    expect(d.violations[0]!.message).toContain('starts in 34 days');
  });

  it('EXPIRED names an ended exception as an exception, not an entitlement', async () => {
    const doc = {
      ...base,
      exceptions: [
        { id: 'EXC-7', product: 'ora', quantity: 8, until: '2026-11-27', reason: 'cutover', requestedBy: 'alice', approvedBy: 'bob' },
      ],
    };
    const d = (await engineFor(doc)).decide([claim(2)], { now: NOW });
    expect(d.violations.map((v) => [v.code, v.entitlement])).toEqual([['EXPIRED', 'EXC-7']]);
    expect(d.violations[0]!.message).toContain('ora: exception EXC-7 has expired');
    expect(d.violations[0]!.message).not.toContain('entitlement EXC-7');
  });

  it('reservations count as usage for the next decision', async () => {
    const engine = await engineFor({ ...base, entitlements: [entitlement('E', 10)] });
    const r = [{ product: 'ora', quantity: 8, scope: { environment: 'prod' } }];
    expect(engine.decide([claim(4)], { now: NOW }).allowed).toBe(true);
    const d = engine.decide([claim(4)], { now: NOW, reservations: r });
    expect(d.allowed).toBe(false);
    expect(d.products[0]).toMatchObject({ used: 8, projected: 12 });
  });

  it('an unknown product in a claim is bad input, not a decision', async () => {
    const engine = await engineFor({ ...base, entitlements: [entitlement('E', 10)] });
    expect(() => engine.decide([{ product: 'nope', quantity: 1, scope: {} }], { now: NOW })).toThrow(/claim names unknown product "nope"/);
    expect(() =>
      engine.decide(
        [{ product: 'nope', quantity: 1, scope: {}, resource: { kind: 'Deployment', name: 'x', namespace: 'a', file: 'k.yaml', line: 3 } }],
        { now: NOW },
      ),
    ).toThrow('Deployment/a/x (k.yaml:3) names unknown product "nope"');
  });

  it('time moves: the same change is fine in term and expired after it', async () => {
    const engine = await engineFor({ ...base, entitlements: [entitlement('E', 64)] });
    expect(engine.decide([claim(1)], { now: new Date('2026-06-01T00:00:00Z') }).allowed).toBe(true);
    expect(codes(engine.decide([claim(1)], { now: new Date('2027-01-01T00:00:00Z') })).violations).toEqual(['EXPIRED']);
  });

  it('the decision has exactly the contract fields', async () => {
    const engine = await engineFor({ ...base, entitlements: [entitlement('ORA-EE-2026', 64, { scope: { environment: ['prod'] } })] }, [
      usage([{ product: 'ora', quantity: 60, scope: { environment: 'prod' } }]),
    ]);
    const d = engine.decide(
      [
        claim(
          8,
          { environment: 'prod', namespace: 'prod' },
          { resource: { kind: 'Deployment', name: 'orders-db', namespace: 'prod', file: 'k8s/db.yaml', line: 1 } },
        ),
      ],
      { now: NOW },
    );
    expect(Object.keys(d)).toEqual(['allowed', 'mode', 'violations', 'warnings', 'products', 'claims', 'provenance']);
    expect(Object.keys(d.violations[0]!)).toEqual(['code', 'product', 'entitlement', 'message', 'resources']);
    expect(d.violations[0]).toMatchObject({
      code: 'OVER_ENTITLEMENT',
      product: 'ora',
      entitlement: 'ORA-EE-2026',
      resources: ['Deployment/prod/orders-db'],
    });
    expect(Object.keys(d.products[0]!)).toEqual(['product', 'metric', 'capacity', 'used', 'requested', 'projected', 'peak', 'utilization']);
    expect(d.products[0]).toEqual({
      product: 'ora',
      metric: 'vcpu',
      capacity: 64,
      used: 60,
      requested: 8,
      projected: 68,
      peak: 68,
      utilization: 1.0625,
    });
    expect(d.claims[0]).toEqual({
      product: 'ora',
      metric: 'vcpu',
      quantity: 8,
      peak: 8,
      scope: { environment: 'prod', namespace: 'prod' },
      resource: { kind: 'Deployment', name: 'orders-db', namespace: 'prod', file: 'k8s/db.yaml', line: 1 },
    });
    expect(Object.keys(d.provenance)).toEqual(['version', 'policy', 'config', 'usage', 'evaluatedAt']);
  });
});
