// Daily history through the API (real socket, embedded store): what a source
// reports and what confirmed reservations hold, per day, carried forward.
import { afterEach, describe, expect, it } from 'vitest';
import { createToken } from './auth.ts';
import type { Role } from './store/types.ts';
import { type TestLedger, startTestLedger } from './testing/harness.ts';

let now = new Date('2026-06-01T08:00:00Z');
const clock = () => now;
let l: TestLedger;
afterEach(async () => {
  await l?.close();
  now = new Date('2026-06-01T08:00:00Z');
});

const token = async (role: Role) => (await createToken(l.ledger.store, `${role}-t`, [role], now, 'test')).token;

async function report(source: string, usage: { product: string; quantity: number; scope?: Record<string, string> }[]) {
  const res = await l.call('PUT', `/v1/sources/${source}/usage`, {
    token: l.tokens.reporter,
    body: { version: 1, observedAt: now.toISOString(), usage },
  });
  expect(res.status).toBe(200);
}

describe('GET /v1/history', () => {
  it('gives each day its peak and average per scope and in total, carries quiet days forward, and records a drop to zero', async () => {
    l = await startTestLedger({ clock });
    const viewer = await token('viewer');
    // 1 June: 4 then 6 in prod (peak 6, average 5), 2 in dev.
    await report('cluster:a', [{ product: 'db', quantity: 4, scope: { environment: 'prod' } }]);
    now = new Date('2026-06-01T12:00:00Z');
    await report('cluster:a', [
      { product: 'db', quantity: 6, scope: { environment: 'prod' } },
      { product: 'db', quantity: 2, scope: { environment: 'dev' } },
    ]);
    // 2 June: nothing reported. 3 June: a confirmed reservation of 1 in prod; the dev cluster reports nothing any more.
    now = new Date('2026-06-03T09:00:00Z');
    const d = await l.call('POST', '/v1/decisions', {
      token: l.tokens.gate,
      body: { claims: [{ product: 'db', quantity: 1, scope: { environment: 'prod' } }], reserve: true },
    });
    await l.call('POST', `/v1/reservations/${d.body.reservation.id}/confirm`, { token: l.tokens.gate });
    now = new Date('2026-06-03T10:00:00Z');
    await report('cluster:a', [{ product: 'db', quantity: 6, scope: { environment: 'prod' } }]);
    now = new Date('2026-06-04T10:00:00Z');

    const res = await l.call('GET', '/v1/history?product=db&from=2026-05-31&to=2026-06-04', { token: viewer });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ product: 'db', metric: 'instances', from: '2026-05-31', to: '2026-06-04', step: '1d' });
    const [total, dev, prod] = res.body.series;
    expect(total.scope).toBeNull();
    expect(dev.scope).toEqual({ environment: 'dev' });
    expect(prod.scope).toEqual({ environment: 'prod' });
    // No history before the first report: 31 May is absent.
    expect(prod.points).toEqual([
      { day: '2026-06-01', peak: 6, average: 5 },
      { day: '2026-06-02', peak: 6, average: 6 },
      // 6 carried in, then 7 (confirmed reservation); the report's 7 changes nothing and is no sample: peak 7.
      { day: '2026-06-03', peak: 7, average: (6 + 7) / 2 },
      { day: '2026-06-04', peak: 7, average: 7 },
    ]);
    expect(dev.points.map((p: { peak: number; average: number }) => [p.peak, p.average])).toEqual([
      [2, 2],
      [2, 2],
      // 2 carried in (the confirmation does not change it), 0 once the report no longer names it.
      [2, 1],
      [0, 0],
    ]);
    expect(total.points.map((p: { peak: number }) => p.peak)).toEqual([8, 8, 9, 7]); // 3 June: 7 in prod and still 2 in dev at the confirmation;
    expect(res.body.capacity).toEqual(['2026-06-01', '2026-06-02', '2026-06-03', '2026-06-04'].map((day) => ({ day, quantity: 10 })));

    const weekly = await l.call('GET', '/v1/history?product=db&from=2026-06-01&to=2026-06-14&step=7d', { token: viewer });
    expect(weekly.body.series[2].points).toEqual([
      { day: '2026-06-01', peak: 7, average: (5 + 6 + 6.5 + 7 * 4) / 7 },
      { day: '2026-06-08', peak: 7, average: 7 },
    ]);
  });

  it('answers only the roles that read the dashboard, and refuses a bad query with 400', async () => {
    l = await startTestLedger({ clock });
    expect((await l.call('GET', '/v1/history?product=db', { token: l.tokens.gate })).status).toBe(403);
    expect((await l.call('GET', '/v1/history?product=db', { token: l.tokens.reporter })).status).toBe(403);
    expect((await l.call('GET', '/v1/history?product=db', { token: null })).status).toBe(401);
    for (const role of ['viewer', 'finance', 'procurement', 'auditor'] as const)
      expect((await l.call('GET', '/v1/history?product=db', { token: await token(role) })).status).toBe(200);
    const cases: [string, RegExp][] = [
      ['', /product is required/],
      ['product=nope', /no product "nope"/],
      ['product=db&from=2026-02-30', /from must be a date/],
      ['product=db&from=2026-06-02&to=2026-06-01', /after to/],
      ['product=db&from=2024-01-01&to=2026-06-01', /longer than 800 days/],
      ['product=db&step=week', /step must be a number of days/],
    ];
    for (const [q, message] of cases) {
      const res = await l.call('GET', `/v1/history?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body.error.message).toMatch(message);
    }
  });
});
