// GET /v1/denials through a real socket: the decision log's denied decisions,
// newest first, with what was refused where and who asked from which surface,
// within the caller's product and scope limits, read through the index of
// denials (a log of allowed decisions after them is not walked).
import { afterEach, describe, expect, it } from 'vitest';
import { createToken } from '../auth.ts';
import { type TestLedger, startTestLedger } from '../testing/harness.ts';
import { type Denial, recentDenials } from './denials.ts';

let now = new Date('2026-06-01T10:00:00Z');
let l: TestLedger;

afterEach(async () => {
  await l?.close();
  now = new Date('2026-06-01T10:00:00Z');
});

async function decide(claims: unknown[], agent = 'node'): Promise<boolean> {
  const res = await fetch(`${l.url}/v1/decisions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${l.tokens.admin}`, 'content-type': 'application/json', 'user-agent': agent },
    body: JSON.stringify({ claims }),
  });
  const body = (await res.json()) as { allowed: boolean };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.allowed;
}

const deployment = (name: string, namespace: string) => ({ kind: 'Deployment', name, namespace });

describe('recent denials', () => {
  it('lists denied decisions newest first with product, scope, resources, asked against capacity, actor, surface and time', async () => {
    l = await startTestLedger({ clock: () => now });
    // db has 10 instances (ledger/testdata/ledger.yaml).
    expect(await decide([{ product: 'db', quantity: 2, scope: { environment: 'prod' }, resource: deployment('ok', 'prod') }])).toBe(true);
    expect(
      await decide(
        [
          { product: 'db', quantity: 8, scope: { environment: 'prod' }, resource: deployment('orders', 'shop') },
          { product: 'db', quantity: 4, scope: { environment: 'prod' }, resource: deployment('billing', 'shop') },
          // Not part of the denial: os is within its entitlement.
          { product: 'os', quantity: 1, scope: { environment: 'prod' }, resource: deployment('web', 'shop') },
        ],
        'entitlegate/1.4.0 (action)',
      ),
    ).toBe(false);
    now = new Date('2026-06-01T11:00:00Z');
    expect(
      await decide(
        [
          {
            product: 'db',
            quantity: 30,
            scope: { environment: 'staging' },
            resource: { kind: 'aws_instance', name: 'db', address: 'aws_instance.db[0]' },
          },
        ],
        'entitlegate/1.4.0 (terraform)',
      ),
    ).toBe(false);

    const viewer = (await createToken(l.ledger.store, 'viewer-t', ['viewer'], now, 'test')).token;
    const res = await l.call('GET', '/v1/denials', { token: viewer });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const actor = expect.stringMatching(/^token:admin-/);
    expect(res.body.denials).toEqual([
      {
        seq: expect.any(Number),
        at: '2026-06-01T11:00:00.000Z',
        actor,
        surface: 'terraform',
        client: 'entitlegate/1.4.0 (terraform)',
        mode: 'enforce',
        products: [
          {
            product: 'db',
            scope: { environment: 'staging' },
            quantity: 30,
            resources: ['aws_instance.db[0]'],
            moreResources: 0,
            capacity: 10,
            used: 0,
            requested: 30,
            projected: 30,
          },
        ],
        violations: [expect.objectContaining({ code: 'OVER_ENTITLEMENT', product: 'db' })],
      },
      {
        seq: expect.any(Number),
        at: '2026-06-01T10:00:00.000Z',
        actor,
        surface: 'action',
        client: 'entitlegate/1.4.0 (action)',
        mode: 'enforce',
        products: [
          {
            product: 'db',
            scope: { environment: 'prod' },
            quantity: 12,
            resources: ['Deployment/shop/orders', 'Deployment/shop/billing'],
            moreResources: 0,
            capacity: 10,
            used: 0,
            requested: 12,
            projected: 12,
          },
        ],
        violations: [expect.objectContaining({ code: 'OVER_ENTITLEMENT', product: 'db' })],
      },
    ]);
    expect(res.body.denials[0].seq).toBeGreaterThan(res.body.denials[1].seq);

    // Filters: since, limit, product.
    expect(
      (await l.call('GET', '/v1/denials?since=2026-06-01T10:30:00Z', { token: viewer })).body.denials.map((d: Denial) => d.at),
    ).toEqual(['2026-06-01T11:00:00.000Z']);
    expect((await l.call('GET', '/v1/denials?limit=1', { token: viewer })).body.denials).toHaveLength(1);
    expect((await l.call('GET', '/v1/denials?product=os', { token: viewer })).body.denials).toEqual([]);
    expect((await l.call('GET', '/v1/denials?product=db', { token: viewer })).body.denials).toHaveLength(2);
    for (const [q, message] of [
      ['product=nope', /no product "nope"/],
      ['since=yesterday', /since must be a date/],
      ['limit=0', /limit must be a whole number from 1 to 500/],
    ] as const) {
      const bad = await l.call('GET', `/v1/denials?${q}`, { token: viewer });
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toMatch(message);
    }
  });

  it("follows the token's product and scope limits", async () => {
    l = await startTestLedger({ clock: () => now });
    expect(await decide([{ product: 'db', quantity: 11, scope: { environment: 'prod' }, resource: deployment('a', 'prod') }])).toBe(false);
    expect(await decide([{ product: 'db', quantity: 12, scope: { environment: 'staging' }, resource: deployment('b', 'staging') }])).toBe(
      false,
    );
    expect(await decide([{ product: 'os', quantity: 101, scope: { environment: 'prod' }, resource: deployment('c', 'prod') }])).toBe(false);
    const token = async (name: string, limits: { products?: string[]; scope?: Record<string, string> }) =>
      (await createToken(l.ledger.store, name, ['viewer'], now, 'test', limits)).token;
    const seen = async (t: string) =>
      (await l.call('GET', '/v1/denials', { token: t })).body.denials.map((d: Denial) => d.products.map((p) => p.resources[0]));
    expect(await seen(await token('all', {}))).toEqual([['Deployment/prod/c'], ['Deployment/staging/b'], ['Deployment/prod/a']]);
    expect(await seen(await token('db-only', { products: ['db'] }))).toEqual([['Deployment/staging/b'], ['Deployment/prod/a']]);
    expect(await seen(await token('staging', { scope: { environment: 'staging' } }))).toEqual([['Deployment/staging/b']]);
    expect(await seen(await token('os-prod', { products: ['os'], scope: { environment: 'prod' } }))).toEqual([['Deployment/prod/c']]);
  });

  it('keeps a denial over many scopes short: the first 50 products and scopes, 20 resources each, the rest counted', async () => {
    l = await startTestLedger({ clock: () => now });
    const claims = Array.from({ length: 60 }, (_, i) => ({
      product: 'db',
      quantity: 1,
      scope: { environment: 'prod', namespace: `ns-${i}` },
      resource: deployment(`d${i}`, `ns-${i}`),
    }));
    claims.push(...Array.from({ length: 25 }, (_, i) => ({ ...claims[0]!, resource: deployment(`more-${i}`, 'ns-0') })));
    expect(await decide(claims)).toBe(false);
    const [d] = (await l.call('GET', '/v1/denials', { token: l.tokens.admin })).body.denials as Denial[];
    expect(d!.products).toHaveLength(50);
    expect(d!.products[0]).toMatchObject({ scope: { environment: 'prod', namespace: 'ns-0' }, quantity: 26, moreResources: 6 });
    expect(d!.products[0]!.resources).toHaveLength(20);
  });

  it('reads denials only: many allowed decisions after a denial are not walked', async () => {
    l = await startTestLedger({ clock: () => now });
    expect(await decide([{ product: 'db', quantity: 11, scope: { environment: 'prod' }, resource: deployment('a', 'prod') }])).toBe(false);
    await l.ledger.store.withProducts(['db'], async (tx) => {
      for (let i = 0; i < 5000; i++)
        await tx.appendLog({ actor: 'token:x', action: 'decision', subject: 'db', details: { allowed: true, mode: 'enforce' } });
    });
    const who = { actor: 'token:v', name: 'v', roles: ['viewer' as const] };
    const { denials, scanned } = await recentDenials(l.ledger.store, who, { limit: 50 });
    expect(denials).toHaveLength(1);
    expect(scanned).toBe(1);
  });
});
