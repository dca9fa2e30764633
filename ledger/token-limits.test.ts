// What a limited token may change, through a real socket. A report replaces a
// source's whole usage, so a reporter that could report as any source could
// empty another cluster's usage and free its capacity for itself; a release
// frees capacity too, so a gate limited to one product must not release
// another's reservation; and a gate that asks for warn mode must not reserve
// over capacity.
import { afterEach, describe, expect, it } from 'vitest';
import { createToken } from './auth.ts';
import { type TestLedger, startTestLedger } from './testing/harness.ts';
import type { TokenLimits } from './store/types.ts';

const now = new Date('2026-06-01T10:00:00Z');
let l: TestLedger;
afterEach(async () => l?.close());

let resources = 0;
// Each record its own resource: records of one resource from two sources would count once.
const report = (...usage: { product: string; quantity: number; scope?: Record<string, string> }[]) => ({
  version: 1,
  observedAt: '2026-06-01T09:59:00Z',
  usage: usage.map((u) => ({ scope: {}, resource: `Deployment/prod/app-${++resources}`, ...u })),
});

async function reporter(limits: TokenLimits): Promise<string> {
  return (await createToken(l.ledger.store, `reporter-${Math.random()}`, ['reporter'], now, 'test', limits)).token;
}

const used = async (product: string) =>
  (await l.call('POST', '/v1/decisions', { token: l.tokens.gate, body: { claims: [{ product, quantity: 0, scope: {} }] } })).body
    .products[0].used as number;

describe('reporting as a source', () => {
  it('a reporter limited to sources reports as those (globs too) and is refused as any other, leaving that source as it was', async () => {
    l = await startTestLedger({ clock: () => now });
    expect(
      (await l.call('PUT', '/v1/sources/cluster:us-1/usage', { token: l.tokens.reporter, body: report({ product: 'db', quantity: 6 }) }))
        .status,
    ).toBe(200);
    const eu = await reporter({ sources: ['cluster:eu-*', 'sam:servicenow'] });
    expect(
      (await l.call('PUT', '/v1/sources/cluster:eu-1/usage', { token: eu, body: report({ product: 'db', quantity: 1 }) })).status,
    ).toBe(200);
    expect((await l.call('PUT', '/v1/sources/sam:servicenow/usage', { token: eu, body: report() })).status).toBe(200);
    const other = await l.call('PUT', '/v1/sources/cluster:us-1/usage', { token: eu, body: report() });
    expect(other.status).toBe(403);
    expect(other.body.error.message).toContain('reports only as cluster:eu-*, sam:servicenow, not as the source "cluster:us-1"');
    // cluster:us-1's 6 still count, beside cluster:eu-1's 1.
    expect(await used('db')).toBe(7);
  });

  it('a reporter limited to a product may not replace a source that also holds another product, and may replace one that holds only its own', async () => {
    l = await startTestLedger({ clock: () => now });
    const put = (token: string, source: string, body: unknown) => l.call('PUT', `/v1/sources/${source}/usage`, { token, body });
    expect(
      (await put(l.tokens.reporter, 'cluster:a', report({ product: 'db', quantity: 4 }, { product: 'os', quantity: 30 }))).status,
    ).toBe(200);
    const dbOnly = await reporter({ products: ['db'] });
    // A report of db alone would replace the source, os's 30 vCPU with it.
    const erase = await put(dbOnly, 'cluster:a', report({ product: 'db', quantity: 4 }));
    expect(erase.status).toBe(403);
    expect(erase.body.error.message).toMatch(/may not replace the source "cluster:a": its current report holds os/);
    expect(await used('os')).toBe(30);

    expect((await put(l.tokens.reporter, 'cluster:b', report({ product: 'db', quantity: 2 }))).status).toBe(200);
    expect((await put(dbOnly, 'cluster:b', report({ product: 'db', quantity: 3 }))).status).toBe(200);
    expect(await used('db')).toBe(7);
  });

  it('a reporter limited to a scope may not replace a source holding records of another scope', async () => {
    l = await startTestLedger({ clock: () => now });
    const put = (token: string, body: unknown) => l.call('PUT', '/v1/sources/sam:export/usage', { token, body });
    const prod = { environment: 'prod' };
    expect(
      (
        await put(
          l.tokens.reporter,
          report({ product: 'db', quantity: 2, scope: prod }, { product: 'db', quantity: 5, scope: { environment: 'dev' } }),
        )
      ).status,
    ).toBe(200);
    const prodOnly = await reporter({ scope: prod });
    const erase = await put(prodOnly, report({ product: 'db', quantity: 2, scope: prod }));
    expect(erase.status).toBe(403);
    expect(await used('db')).toBe(7);
  });

  it('the limits are kept by the store, listed, and logged with the token', async () => {
    l = await startTestLedger({ clock: () => now });
    const made = await l.call('POST', '/v1/tokens', { body: { name: 'eu', roles: ['reporter'], sources: ['cluster:eu-*'] } });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ sources: ['cluster:eu-*'] });
    const listed = (await l.call('GET', '/v1/tokens')).body.tokens.find((t: { name: string }) => t.name === 'eu');
    expect(listed).toMatchObject({ roles: ['reporter'], sources: ['cluster:eu-*'] });
    const log = (await l.call('GET', '/v1/audit/records?limit=1000', { token: l.tokens.auditor })).body.records as {
      action: string;
      subject: string;
      details: { sources?: string[] };
    }[];
    expect(log.find((r) => r.action === 'token.create' && r.subject === 'eu')?.details.sources).toEqual(['cluster:eu-*']);
    const bad = await l.call('POST', '/v1/tokens', { body: { name: 'x', roles: ['reporter'], sources: ['cluster eu'] } });
    expect(bad.status).toBe(400);
  });
});

describe('reservations and token limits', () => {
  it('a gate limited to a product cannot read, confirm or release a reservation of another product; within its limits it can', async () => {
    l = await startTestLedger({ clock: () => now });
    const reserve = (product: string) =>
      l.call('POST', '/v1/decisions', { token: l.tokens.gate, body: { claims: [{ product, quantity: 2, scope: {} }], reserve: true } });
    const os = (await reserve('os')).body.reservation.id as string;
    const db = (await reserve('db')).body.reservation.id as string;
    const dbGate = (await createToken(l.ledger.store, 'db-gate', ['gate'], now, 'test', { products: ['db'] })).token;
    for (const [method, path] of [
      ['GET', `/v1/reservations/${os}`],
      ['POST', `/v1/reservations/${os}/confirm`],
      ['DELETE', `/v1/reservations/${os}`],
    ] as const) {
      // As if it did not exist: a limited token learns nothing of another product's reservations.
      const res = await l.call(method, path, { token: dbGate });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    expect((await l.call('GET', `/v1/reservations/${os}`, { token: l.tokens.gate })).body.state).toBe('held');
    expect(await used('os')).toBe(2);
    expect((await l.call('DELETE', `/v1/reservations/${db}`, { token: dbGate })).body.state).toBe('released');
  });
});

describe('the mode a gate asks for', () => {
  it('a reservation asking for warn is decided in the ledger config’s enforce mode; a look may warn', async () => {
    l = await startTestLedger({ clock: () => now });
    const over = { claims: [{ product: 'db', quantity: 11, scope: {} }], mode: 'warn' };
    const look = await l.call('POST', '/v1/decisions', { token: l.tokens.gate, body: over });
    expect(look.body).toMatchObject({ allowed: true, mode: 'warn' });
    expect(look.body.violations.length).toBeGreaterThan(0);
    const reserve = await l.call('POST', '/v1/decisions', { token: l.tokens.gate, body: { ...over, reserve: true } });
    expect(reserve.body).toMatchObject({ allowed: false, mode: 'enforce' });
    expect(reserve.body.reservation).toBeUndefined();
    expect(await used('db')).toBe(0);
  });
});

describe('one resource reported by two sources', () => {
  const orders = 'Deployment/prod/orders-db';
  const put = (token: string, source: string, quantity: number, observedAt: string) =>
    l.call('PUT', `/v1/sources/${source}/usage`, {
      token,
      body: { version: 1, observedAt, usage: [{ product: 'db', quantity, scope: {}, resource: orders }] },
    });

  it('counts the largest quantity any source gives it: another source reporting it at less, even observed later, lowers nothing', async () => {
    l = await startTestLedger({ clock: () => now });
    const cluster = await reporter({ sources: ['cluster:a'] });
    const sam = await reporter({ sources: ['sam:*'] });
    expect((await put(cluster, 'cluster:a', 8, '2026-06-01T09:00:00Z')).status).toBe(200);
    expect((await put(sam, 'sam:export', 0, '2026-06-01T09:59:00Z')).status).toBe(200);
    expect(await used('db')).toBe(8);
    const overlap = (await l.call('GET', '/v1/reconciliation', { token: l.tokens.reporter })).body.overlaps[0];
    expect(overlap).toMatchObject({
      resource: orders,
      counted: { source: 'cluster:a', quantity: 8 },
      also: [{ source: 'sam:export', quantity: 0 }],
    });
    // Once the source that gave the most says less, less counts.
    expect((await put(cluster, 'cluster:a', 2, '2026-06-01T10:00:00Z')).status).toBe(200);
    expect(await used('db')).toBe(2);
  });

  it('another source reporting the resource at something else does not settle the reservation of its change; its own source does', async () => {
    l = await startTestLedger({ clock: () => now });
    const cluster = await reporter({ sources: ['cluster:a'] });
    const sam = await reporter({ sources: ['sam:*'] });
    await put(cluster, 'cluster:a', 4, '2026-06-01T09:00:00Z');
    // Raising orders-db from 4 to 8: the reservation holds the 4 it adds until the 8 is reported.
    const raise = await l.call('POST', '/v1/decisions', {
      token: l.tokens.gate,
      body: {
        claims: [{ product: 'db', quantity: 4, scope: {}, resource: { kind: 'Deployment', namespace: 'prod', name: 'orders-db' } }],
        reserve: true,
      },
    });
    const id = raise.body.reservation.id as string;
    expect(await used('db')).toBe(8);
    expect((await put(sam, 'sam:export', 1, '2026-06-01T09:59:00Z')).body.settled).toEqual([]);
    expect((await l.call('GET', `/v1/reservations/${id}`, { token: l.tokens.gate })).body.state).toBe('held');
    expect(await used('db')).toBe(8);
    expect((await put(cluster, 'cluster:a', 8, '2026-06-01T10:00:00Z')).body.settled).toEqual([id]);
    expect(await used('db')).toBe(8);
  });
});
