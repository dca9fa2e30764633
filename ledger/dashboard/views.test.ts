// Each role view's figures through the API (real socket, embedded store), on a
// config whose answers are worked out by hand.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempFiles } from '../../test/cli-harness.ts';
import { createToken } from '../auth.ts';
import type { Role } from '../store/types.ts';
import { type TestLedger, startTestLedger } from '../testing/harness.ts';

const NOW = new Date('2026-06-01T10:00:00Z');
let now = NOW;
let l: TestLedger;
let dir: string;

const CONFIG = `version: 1
products:
  - { id: db, metric: instances }
  - { id: os, metric: vcpu }
entitlements:
  - { id: DB-A, product: db, model: subscription, quantity: 10, validFrom: 2026-01-01, validUntil: 2026-07-15, owner: dba@example.com,
      contract: { ref: PO-1, unitCost: 100, currency: USD } }
  - { id: DB-B, product: db, model: subscription, quantity: 5, validFrom: 2026-01-01, validUntil: 2026-10-31, owner: dba@example.com,
      scope: { environment: [dev] }, contract: { ref: PO-2, unitCost: 200, currency: USD } }
  - { id: OS-1, product: os, model: subscription, quantity: 100, validFrom: 2026-01-01, validUntil: 2027-06-01, owner: platform@example.com,
      contract: { ref: PO-1, unitCost: 10, currency: USD } }
`;

beforeAll(() => {
  dir = tempFiles({ 'config.yaml': CONFIG });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await l?.close();
  now = NOW;
});

async function start(): Promise<Record<'viewer' | 'finance' | 'procurement' | 'auditor', string>> {
  l = await startTestLedger({ clock: () => now, config: join(dir, 'config.yaml') });
  const res = await l.call('PUT', '/v1/sources/cluster:a/usage', {
    token: l.tokens.reporter,
    body: {
      version: 1,
      observedAt: NOW.toISOString(),
      usage: [
        { product: 'db', quantity: 12, scope: { environment: 'prod' } },
        { product: 'os', quantity: 40, scope: { environment: 'prod' } },
      ],
    },
  });
  expect(res.status).toBe(200);
  const mk = async (role: Role) => (await createToken(l.ledger.store, `${role}-t`, [role], NOW, 'test')).token;
  return { viewer: await mk('viewer'), finance: await mk('finance'), procurement: await mk('procurement'), auditor: await mk('auditor') };
}

describe('role views', () => {
  it('finance: unused capacity priced, true-up exposure at the dearest unit cost, spend by owner and by contract', async () => {
    const t = await start();
    const res = await l.call('GET', '/v1/dashboard/finance', { token: t.finance });
    expect(res.status).toBe(200);
    expect(res.body.unusedCost).toEqual([{ currency: 'USD', amount: 5 * 200 + 60 * 10 }]);
    expect(
      res.body.entitlements.map((e: { id: string; used: number; headroom: number; unusedCost: number }) => [
        e.id,
        e.used,
        e.headroom,
        e.unusedCost,
      ]),
    ).toEqual([
      ['DB-B', 0, 5, 1000],
      ['OS-1', 40, 60, 600],
      ['DB-A', 10, 0, 0],
    ]);
    // 12 in prod: DB-A (any scope) covers 10, DB-B is dev only: 2 over, priced at DB-B's 200.
    expect(res.body.exposure).toEqual([{ product: 'db', overUse: 2, unitCost: 200, currency: 'USD', exposure: 400 }]);
    expect(res.body.byOwner).toEqual([
      { key: 'dba@example.com', currency: 'USD', amount: 10 * 100 + 5 * 200 },
      { key: 'platform@example.com', currency: 'USD', amount: 1000 },
    ]);
    expect(res.body.byContract).toEqual([
      { key: 'PO-1', currency: 'USD', amount: 1000 + 1000 },
      { key: 'PO-2', currency: 'USD', amount: 1000 },
    ]);
  });

  it('procurement: entitlements ending within 180 days, soonest first, with the days left', async () => {
    const t = await start();
    const res = await l.call('GET', '/v1/dashboard/procurement', { token: t.procurement });
    expect(res.body.renewals).toEqual([
      { id: 'DB-A', product: 'db', quantity: 10, owner: 'dba@example.com', contract: 'PO-1', validUntil: '2026-07-15', daysLeft: 44 },
      { id: 'DB-B', product: 'db', quantity: 5, owner: 'dba@example.com', contract: 'PO-2', validUntil: '2026-10-31', daysLeft: 152 },
    ]);
  });

  it('platform: capacity, used, reserved and headroom per product; audit: reservations filtered by product, resource, actor and time', async () => {
    const t = await start();
    const reserve = (product: string, name: string) =>
      l.call('POST', '/v1/decisions', {
        token: l.tokens.gate,
        body: {
          claims: [{ product, quantity: 1, scope: { environment: 'dev' }, resource: { kind: 'Deployment', name, namespace: 'dev' } }],
          reserve: true,
          ttl: '7d',
        },
      });
    expect((await reserve('db', 'one')).body.allowed).toBe(true);
    now = new Date('2026-06-03T10:00:00Z');
    expect((await reserve('os', 'two')).body.allowed).toBe(true);

    const platform = await l.call('GET', '/v1/dashboard/platform', { token: t.viewer });
    const db = platform.body.products.find((p: { product: string }) => p.product === 'db');
    expect(db).toMatchObject({ capacity: 15, used: 12, reserved: 1, headroom: 4, utilization: 13 / 15 });
    expect(platform.body.reservations).toHaveLength(2);

    const audit = async (q: string) =>
      (await l.call('GET', `/v1/dashboard/audit?${q}`, { token: t.auditor })).body.reservations.map(
        (r: { lines: { product: string }[] }) => r.lines[0]!.product,
      );
    expect(await audit('')).toEqual(['os', 'db']);
    expect(await audit('product=db')).toEqual(['db']);
    expect(await audit('resource=dev/two')).toEqual(['os']);
    expect(await audit('actor=nobody')).toEqual([]);
    expect(await audit('from=2026-06-02')).toEqual(['os']);
    expect(await audit('to=2026-06-01')).toEqual(['db']);
    const bad = await l.call('GET', '/v1/dashboard/audit?from=yesterday', { token: t.auditor });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/from must be a date or an ISO-8601 instant/);
  });

  it('each view answers its own role only (admin every one)', async () => {
    const t = await start();
    const grants: Record<string, keyof typeof t> = { platform: 'viewer', finance: 'finance', procurement: 'procurement', audit: 'auditor' };
    for (const [view, role] of Object.entries(grants))
      for (const [other, token] of Object.entries(t))
        expect((await l.call('GET', `/v1/dashboard/${view}`, { token })).status, `${other} on ${view}`).toBe(other === role ? 200 : 403);
    for (const view of Object.keys(grants)) expect((await l.call('GET', `/v1/dashboard/${view}`)).status).toBe(200);
  });
});
