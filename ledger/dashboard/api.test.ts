// The dashboard's figures through the API (real socket, embedded store):
// reconciliation and forecast, as the views read them.
import { afterEach, describe, expect, it } from 'vitest';
import { createToken } from '../auth.ts';
import type { HistoryDay, Role } from '../store/types.ts';
import { type TestLedger, startTestLedger } from '../testing/harness.ts';

let now = new Date('2026-06-01T08:00:00Z');
const clock = () => now;
let l: TestLedger;
afterEach(async () => {
  await l?.close();
  now = new Date('2026-06-01T08:00:00Z');
});

const token = async (role: Role) => (await createToken(l.ledger.store, `${role}-t`, [role], now, 'test')).token;

async function report(source: string, usage: object[], query = '') {
  const res = await l.call('PUT', `/v1/sources/${source}/usage${query}`, {
    token: l.tokens.reporter,
    body: { version: 1, observedAt: now.toISOString(), usage },
  });
  expect(res.status).toBe(200);
}

const prod = { environment: 'prod' };

describe('GET /v1/reconciliation', () => {
  it('sets entitled against declared, discovered and reserved, and names overlaps, dormant entitlements, unconfirmed reservations and stale sources', async () => {
    l = await startTestLedger({ clock });
    // The OS was in use on 1 June only.
    await report('cluster:b', [{ product: 'os', quantity: 4, scope: prod }]);
    now = new Date('2026-06-02T08:00:00Z');
    await report('cluster:b', []);
    now = new Date('2026-06-20T08:00:00Z');
    await report('sam:servicenow', [
      { product: 'db', quantity: 5, scope: prod },
      { product: 'db', quantity: 1, scope: prod, resource: 'Deployment/prod/orders-db' },
    ]);
    await report('cluster:a', [{ product: 'db', quantity: 1, scope: prod, resource: 'Deployment/prod/orders-db' }], '?staleAfter=1h');
    await report('terraform:pay', [{ product: 'db', quantity: 2, scope: { region: 'eu-west-1' } }]);
    const reserve = (quantity: number, ttl: string) =>
      l.call('POST', '/v1/decisions', {
        token: l.tokens.gate,
        body: { claims: [{ product: 'db', quantity, scope: prod }], reserve: true, ttl },
      });
    const held = await reserve(1, '1d');
    const lapsed = await reserve(1, '1m');
    expect(held.body.allowed && lapsed.body.allowed).toBe(true);
    now = new Date('2026-06-20T10:00:00Z');

    const viewer = await token('viewer');
    const res = await l.call('GET', '/v1/reconciliation', { token: viewer });
    expect(res.status).toBe(200);
    const db = res.body.products.find((p: { product: string }) => p.product === 'db');
    expect(db).toEqual({
      product: 'db',
      metric: 'instances',
      entitled: 10,
      declared: 6,
      discovered: 3,
      other: 0,
      reserved: 1,
      gap: 3,
      scopes: [
        { scope: prod, declared: 6, discovered: 1, other: 0, reserved: 1 },
        { scope: { region: 'eu-west-1' }, declared: 0, discovered: 2, other: 0, reserved: 0 },
      ],
    });
    expect(res.body.overlaps).toEqual([
      {
        product: 'db',
        resource: 'Deployment/prod/orders-db',
        counted: { source: 'cluster:a', quantity: 1, observedAt: '2026-06-20T08:00:00.000Z' },
        also: [{ source: 'sam:servicenow', quantity: 1, observedAt: '2026-06-20T08:00:00.000Z' }],
      },
    ]);
    // The OS was used 19 days ago: not dormant over 90 days, dormant over 10.
    expect(res.body.dormant).toEqual([]);
    const short = await l.call('GET', '/v1/reconciliation?dormantDays=10', { token: viewer });
    expect(short.body.dormant).toEqual([
      {
        entitlement: 'OS-2026',
        product: 'os',
        quantity: 100,
        owner: 'platform@example.com',
        validUntil: '2026-12-31',
        unitCost: null,
        currency: null,
      },
    ]);
    expect(res.body.unconfirmed).toEqual([
      expect.objectContaining({
        id: lapsed.body.reservation.id,
        expiredAt: '2026-06-20T08:01:00.000Z',
        lines: [expect.objectContaining({ product: 'db', quantity: 1 })],
      }),
    ]);
    expect(res.body.stale).toEqual([{ source: 'cluster:a', reportedAt: '2026-06-20T08:00:00.000Z', staleAfter: '3600s' }]);
    expect(res.body.sources.map((s: { source: string; kind: string }) => `${s.source}=${s.kind}`).sort()).toEqual([
      'cluster:a=discovered',
      'cluster:b=discovered',
      'sam:servicenow=declared',
      'terraform:pay=discovered',
    ]);
  });

  it('refuses roles that do not read the dashboard, and a bad dormantDays with 400', async () => {
    l = await startTestLedger({ clock });
    expect((await l.call('GET', '/v1/reconciliation', { token: l.tokens.gate })).status).toBe(403);
    expect((await l.call('GET', '/v1/reconciliation', { token: l.tokens.reporter })).status).toBe(200);
    const bad = await l.call('GET', '/v1/reconciliation?dormantDays=soon');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/dormantDays must be a whole number of days/);
  });
});

describe('GET /v1/forecast', () => {
  const growth = (): HistoryDay[] =>
    // 2 + 0.1/day from 3 April to 1 June (60 days): 7.9 on 1 June.
    Array.from({ length: 60 }, (_, i) => {
      const v = 2 + 0.1 * i;
      const day = new Date(Date.parse('2026-04-03T00:00:00Z') + i * 86_400_000).toISOString().slice(0, 10);
      return { product: 'db', scope: '*', day, peak: v, total: v, samples: 1, last: v };
    });

  it("gives the product's trend, the day it reaches capacity, and the suggested quantity at renewal", async () => {
    l = await startTestLedger({ clock });
    await l.ledger.store.importHistory(growth());
    const procurement = await token('procurement');
    const res = await l.call('GET', '/v1/forecast?product=db', { token: procurement });
    expect(res.status).toBe(200);
    const [total] = res.body.series;
    expect(total).toMatchObject({ scope: null, capacity: 10, renewal: '2026-12-31' });
    expect(total.forecast.slope).toBeCloseTo(0.1, 9);
    // (10 - 7.9) / 0.1 = 21 days after 1 June.
    expect(total.forecast).toMatchObject({ status: 'ok', points: 60, exhaustionInDays: 21, exhaustion: '2026-06-22' });
    // 213 days to 31 December: (7.9 + 21.3) × 1.1 = 32.12.
    expect(total.forecast.suggested).toBe(33);
    expect(total.band).toHaveLength(366);
    expect(total.band[0]).toMatchObject({ day: '2026-06-01' });
    expect(total.band[0].mean).toBeCloseTo(7.9, 9);

    const table = await l.call('GET', '/v1/forecast?buffer=0', { token: procurement });
    expect(table.body.products).toEqual([expect.objectContaining({ product: 'db', forecast: expect.objectContaining({ suggested: 30 }) })]);
    expect(table.body.products[0].band).toBeUndefined();
  });

  it('says when history is too short, and refuses bad parameters', async () => {
    l = await startTestLedger({ clock });
    await l.ledger.store.importHistory(growth().slice(-5));
    const res = await l.call('GET', '/v1/forecast?product=db');
    expect(res.body.series[0].forecast).toEqual({ status: 'insufficient', points: 5, needed: 14 });
    for (const [q, message] of [
      ['product=nope', /no product "nope"/],
      ['window=3', /window must be a whole number of days from 7/],
      ['buffer=-1', /buffer must be a fraction/],
    ] as const) {
      const bad = await l.call('GET', `/v1/forecast?${q}`);
      expect(bad.status, q).toBe(400);
      expect(bad.body.error.message).toMatch(message);
    }
    expect((await l.call('GET', '/v1/forecast', { token: l.tokens.gate })).status).toBe(403);
  });
});

describe('GET /ui', () => {
  it('serves the page, its script and uPlot from the ledger itself, with a CSP that allows no other script and no token needed', async () => {
    l = await startTestLedger({ clock });
    for (const [path, type] of [
      ['/ui', 'text/html'],
      ['/ui/app.js', 'text/javascript'],
      ['/ui/app.css', 'text/css'],
      ['/ui/uplot.js', 'text/javascript'],
      ['/ui/uplot.css', 'text/css'],
    ] as const) {
      const res = await fetch(l.url + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toContain(type);
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'; script-src 'self'");
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('set-cookie')).toBeNull();
      const body = await res.text();
      // Nothing from elsewhere: every script and style the page names is the ledger's own.
      if (path === '/ui')
        expect([...body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1])).toEqual([
          'data:,',
          '/ui/uplot.css',
          '/ui/app.css',
          '/ui/uplot.js',
          '/ui/app.js',
          '#main',
        ]);
    }
  });
});
