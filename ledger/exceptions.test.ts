// The exceptions workflow through a real socket: separation of duties, two
// approvers above the threshold, and capacity that appears on approval and
// goes on expiry and revocation, in the next decision of every gate.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from './auth.ts';
import { type TestLedger, startTestLedger } from './testing/harness.ts';
import type { Role } from './store/types.ts';
import { type PrivatePostgres, postgresBin, startPostgres } from './testing/postgres.ts';

const CONFIG = resolve(import.meta.dirname, 'testdata/ledger-governance.yaml');
let now = new Date('2026-06-01T10:00:00Z');
const clock = () => now;
let l: TestLedger;
afterEach(async () => {
  await l?.close();
  now = new Date('2026-06-01T10:00:00Z');
});

async function token(name: string, roles: Role[], products?: string[]): Promise<string> {
  return (await createToken(l.ledger.store, name, roles, now, 'test', products ? { products } : {})).token;
}

const claim = (quantity: number, name = 'orders-db') => ({
  product: 'db',
  quantity,
  scope: { environment: 'prod' },
  resource: { kind: 'Deployment', name, namespace: 'prod' },
});

const request = (quantity: number, extra: Record<string, unknown> = {}) => ({
  product: 'db',
  quantity,
  until: '2026-06-10',
  scope: { environment: 'prod' },
  reason: 'blue/green cutover',
  ticket: 'CHG-1234',
  ...extra,
});

describe('exceptions', () => {
  it('an approved exception adds capacity in the next decision; expiry takes it away', async () => {
    l = await startTestLedger({ clock, config: CONFIG });
    const ci = await token('ci', ['gate']);
    const bob = await token('bob', ['approver']);
    const held = await l.call('POST', '/v1/decisions', { token: ci, body: { claims: [claim(10)], reserve: true } });
    // Confirmed, so it counts past its TTL.
    expect((await l.call('POST', `/v1/reservations/${held.body.reservation.id}/confirm`, { token: ci })).status).toBe(200);
    const more = { claims: [claim(3, 'cutover')] };
    expect((await l.call('POST', '/v1/decisions', { token: ci, body: more })).body.allowed).toBe(false);

    const req = await l.call('POST', '/v1/exceptions', { token: ci, body: request(4) });
    expect(req.status).toBe(201);
    expect(req.body).toMatchObject({
      id: expect.stringMatching(/^exc-\d+$/),
      state: 'pending',
      requestedBy: 'token:ci',
      approvalsNeeded: 1,
    });
    const id = req.body.id;
    // Pending gives nothing.
    expect((await l.call('POST', '/v1/decisions', { token: ci, body: more })).body.allowed).toBe(false);

    const ok = await l.call('POST', `/v1/exceptions/${id}/approve`, { token: bob, body: { reason: 'agreed in CAB' } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      state: 'active',
      approvals: [{ by: 'token:bob', reason: 'agreed in CAB' }],
      activeFrom: now.toISOString(),
    });
    const with4 = await l.call('POST', '/v1/decisions', { token: ci, body: more });
    expect(with4.body).toMatchObject({ allowed: true, products: [{ capacity: 14, used: 10, projected: 13 }] });
    expect(with4.body.warnings).toEqual(
      expect.arrayContaining([expect.objectContaining({ code: 'EXCEPTION_APPLIED', message: expect.stringContaining(id) })]),
    );
    expect((await l.call('POST', '/v1/decisions', { token: ci, body: { claims: [claim(5, 'too-much')] } })).body.allowed).toBe(false);

    // The whole of 2026-06-10 (UTC) and not a millisecond more.
    now = new Date('2026-06-10T23:59:59Z');
    expect((await l.call('POST', '/v1/decisions', { token: ci, body: more })).body.allowed).toBe(true);
    now = new Date('2026-06-11T00:00:00Z');
    expect((await l.call('POST', '/v1/decisions', { token: ci, body: more })).body.allowed).toBe(false);
    expect((await l.call('GET', `/v1/exceptions/${id}`, { token: ci })).body.state).toBe('expired');
    expect((await l.call('GET', '/v1/exceptions?state=ended', { token: ci })).body.exceptions.map((x: { id: string }) => x.id)).toEqual([
      id,
    ]);
    expect((await l.call('GET', '/v1/exceptions?state=active', { token: ci })).body.exceptions).toEqual([]);
  });

  it('separation of duties: the requester cannot approve, an approver without the product cannot, one approver above the threshold is not enough', async () => {
    l = await startTestLedger({ clock, config: CONFIG });
    const ci = await token('ci', ['gate']);
    // Another token of the same name is the same identity.
    const ciApprover = await token('ci', ['approver']);
    const osOnly = await token('os-owner', ['approver'], ['os']);
    const bob = await token('bob', ['approver']);
    const carol = await token('carol', ['approver', 'gate']);
    await l.call('POST', '/v1/decisions', { token: ci, body: { claims: [claim(10)], reserve: true } });

    const small = (await l.call('POST', '/v1/exceptions', { token: ci, body: request(2) })).body.id;
    const own = await l.call('POST', `/v1/exceptions/${small}/approve`, { token: ciApprover });
    expect(own.status).toBe(403);
    expect(own.body.error.message).toMatch(
      /token:ci requested exc-\d+ and may not approve it: separation of duties needs another approver/,
    );
    const gateOnly = await l.call('POST', `/v1/exceptions/${small}/approve`, { token: carol.replace(/.$/, 'x') });
    expect(gateOnly.status).toBe(401);
    const notMine = await l.call('POST', `/v1/exceptions/${small}/approve`, { token: osOnly });
    expect(notMine.status).toBe(403);
    expect(notMine.body.error.message).toMatch(/approves for os only, and exc-\d+ is for db/);
    expect((await l.call('POST', `/v1/exceptions/${small}/approve`, { token: ci })).status).toBe(403);
    expect((await l.call('GET', `/v1/exceptions/${small}`, { token: ci })).body.state).toBe('pending');

    // Above twoApproversAbove (5): two distinct approvers.
    const big = (await l.call('POST', '/v1/exceptions', { token: carol, body: request(8) })).body.id;
    const first = await l.call('POST', `/v1/exceptions/${big}/approve`, { token: bob });
    expect(first.body).toMatchObject({ state: 'pending', approvalsNeeded: 2, approvals: [{ by: 'token:bob' }] });
    expect((await l.call('POST', '/v1/decisions', { token: ci, body: { claims: [claim(8, 'big')] } })).body.allowed).toBe(false);
    const twice = await l.call('POST', `/v1/exceptions/${big}/approve`, { token: bob });
    expect(twice.status).toBe(403);
    expect(twice.body.error.message).toMatch(/has approved exc-\d+ already; its second approval must come from another approver/);
    const byRequester = await l.call('POST', `/v1/exceptions/${big}/approve`, { token: carol });
    expect(byRequester.status).toBe(403);
    const second = await l.call('POST', `/v1/exceptions/${big}/approve`, { token: ciApprover });
    expect(second.body).toMatchObject({ state: 'active', approvals: [{ by: 'token:bob' }, { by: 'token:ci' }] });
    expect((await l.call('POST', '/v1/decisions', { token: ci, body: { claims: [claim(8, 'big')] } })).body.allowed).toBe(true);

    // Revoked: the capacity goes in the next decision.
    const revoked = await l.call('POST', `/v1/exceptions/${big}/revoke`, { token: bob, body: { reason: 'cutover done' } });
    expect(revoked.body).toMatchObject({ state: 'revoked', endedBy: 'token:bob', endReason: 'cutover done' });
    expect((await l.call('POST', '/v1/decisions', { token: ci, body: { claims: [claim(8, 'big')] } })).body.allowed).toBe(false);
    expect((await l.call('POST', `/v1/exceptions/${big}/approve`, { token: bob })).status).toBe(409);

    // Denied by an approver; then nothing more happens to it.
    const denied = await l.call('POST', `/v1/exceptions/${small}/deny`, { token: bob, body: { reason: 'buy more' } });
    expect(denied.body).toMatchObject({ state: 'denied', endedBy: 'token:bob', endReason: 'buy more' });
    expect((await l.call('POST', `/v1/exceptions/${small}/approve`, { token: carol })).status).toBe(409);
    const pending = await l.call('GET', '/v1/exceptions?state=pending', { token: bob });
    expect(pending.body.exceptions).toEqual([]);
  });

  it('an approver limited to a scope approves, denies and revokes only exceptions within it', async () => {
    l = await startTestLedger({ clock, config: CONFIG });
    const ci = await token('ci', ['gate']);
    const staging = (
      await createToken(l.ledger.store, 'staging-approver', ['approver'], now, 'test', { scope: { environment: 'staging' } })
    ).token;
    const prod = (await createToken(l.ledger.store, 'prod-approver', ['approver'], now, 'test', { scope: { environment: 'prod' } })).token;
    const ids = [];
    for (let i = 0; i < 2; i++) ids.push((await l.call('POST', '/v1/exceptions', { token: ci, body: request(2) })).body.id as string);
    const [a, b] = ids as [string, string];
    for (const [verb, id] of [
      ['approve', a],
      ['deny', b],
    ] as const) {
      const refused = await l.call('POST', `/v1/exceptions/${id}/${verb}`, { token: staging });
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toBe(
        `token:staging-approver approves within the scope {"environment":"staging"} only, and ${id} is for the scope {"environment":"prod"}: an approver for that scope must ${verb} it`,
      );
      expect((await l.call('GET', `/v1/exceptions/${id}`, { token: ci })).body.state).toBe('pending');
    }
    expect((await l.call('POST', `/v1/exceptions/${a}/approve`, { token: prod })).body.state).toBe('active');
    expect((await l.call('POST', `/v1/exceptions/${b}/deny`, { token: prod })).body.state).toBe('denied');
    const revoke = await l.call('POST', `/v1/exceptions/${a}/revoke`, { token: staging });
    expect(revoke.status).toBe(403);
    expect(revoke.body.error.message).toMatch(/approves within the scope \{"environment":"staging"\} only, and exc-\d+ is for the scope/);
    expect((await l.call('GET', `/v1/exceptions/${a}`, { token: ci })).body.state).toBe('active');
    expect((await l.call('POST', `/v1/exceptions/${a}/revoke`, { token: prod })).body.state).toBe('revoked');
    // An exception for any environment is not within a limit that names one.
    const anyEnv = (await l.call('POST', '/v1/exceptions', { token: ci, body: request(2, { scope: {} }) })).body.id;
    expect((await l.call('POST', `/v1/exceptions/${anyEnv}/approve`, { token: prod })).status).toBe(403);
  });

  it('refuses a request without ticket or reason, too far ahead, in the past, or for an unknown product, listing every problem', async () => {
    l = await startTestLedger({ clock, config: CONFIG });
    const ci = await token('ci', ['gate']);
    const bad = await l.call('POST', '/v1/exceptions', {
      token: ci,
      body: '{\n  "product": "db",\n  "quantity": 2,\n  "until": "2026-08-01",\n  "reason": " "\n}',
    });
    expect(bad.status).toBe(400);
    const messages = bad.body.error.problems.map((p: { line: number; message: string }) => `${p.line ?? '-'} ${p.message}`);
    expect(messages).toEqual([
      '1 a ticket reference is required (the change or incident it is for)',
      '4 until 2026-08-01 is more than 30 days ahead (ledger.exceptions.maxDays); ask for less, and again later',
      '5 a reason is required: why is the extra capacity needed?',
    ]);
    const far = await l.call('POST', '/v1/exceptions', { token: ci, body: request(2, { until: '2026-07-02' }) });
    expect(far.body.error.problems[0].message).toMatch(/more than 30 days ahead \(ledger.exceptions.maxDays\)/);
    expect((await l.call('POST', '/v1/exceptions', { token: ci, body: request(2, { until: '2026-07-01' }) })).status).toBe(201);
    const past = await l.call('POST', '/v1/exceptions', { token: ci, body: request(2, { until: '2026-05-31' }) });
    expect(past.body.error.problems[0].message).toMatch(/has passed/);
    const unknown = await l.call('POST', '/v1/exceptions', { token: ci, body: request(2, { product: 'nope' }) });
    expect(unknown.body.error.problems[0].message).toMatch(/unknown product "nope"/);
    const requester = await l.call('POST', '/v1/exceptions', { token: ci, body: request(2, { requestedBy: 'someone-else' }) });
    expect(requester.status).toBe(400);
    expect((await l.call('GET', '/v1/exceptions', { token: ci })).body.exceptions).toHaveLength(1);
  });
});

describe('approvers: owners', () => {
  it('only an owner of the product’s entitlements may approve', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eg-owners-'));
    const config = join(dir, 'ledger.yaml');
    writeFileSync(config, readFileSync(CONFIG, 'utf8').replace('twoApproversAbove: 5', 'twoApproversAbove: 5\n    approvers: owners'));
    try {
      l = await startTestLedger({ clock, config });
      const ci = await token('ci', ['gate']);
      const bob = await token('bob', ['approver']);
      // The config names dba@example.com as the owner of DB-2026.
      const dba = await token('dba@example.com', ['approver']);
      const id = (await l.call('POST', '/v1/exceptions', { token: ci, body: request(2) })).body.id;
      const notOwner = await l.call('POST', `/v1/exceptions/${id}/approve`, { token: bob });
      expect(notOwner.status).toBe(403);
      expect(notOwner.body.error.message).toMatch(/only an owner of db's entitlements \(dba@example.com\) may approve/);
      expect((await l.call('POST', `/v1/exceptions/${id}/approve`, { token: dba })).body.state).toBe('active');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(postgresBin() === null)('exceptions on PostgreSQL, two ledger replicas', () => {
  let pg: PrivatePostgres | undefined;
  let other: TestLedger | undefined;
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(async () => {
    await other?.close();
    pg?.destroy();
  });

  it('two approvers at once on two replicas: both approvals kept, active once', async () => {
    pg!.createDatabase('exc2');
    const url = pg!.url('exc2');
    l = await startTestLedger({ clock, config: CONFIG, store: url });
    const second = await startTestLedger({ clock, config: CONFIG, store: url });
    try {
      const ci = await token('ci', ['gate']);
      const approvers = await Promise.all(['bob', 'carol', 'dave', 'erin'].map((n) => token(n, ['approver'])));
      for (let round = 0; round < 5; round++) {
        const id = (await l.call('POST', '/v1/exceptions', { token: ci, body: request(8) })).body.id;
        const [a, b] = [approvers[round % 4]!, approvers[(round + 1) % 4]!];
        const answers = await Promise.all([
          l.call('POST', `/v1/exceptions/${id}/approve`, { token: a }),
          second.call('POST', `/v1/exceptions/${id}/approve`, { token: b }),
        ]);
        expect(answers.map((r) => r.status)).toEqual([200, 200]);
        const x = (await second.call('GET', `/v1/exceptions/${id}`, { token: ci })).body;
        expect(x.state).toBe('active');
        expect(x.approvals).toHaveLength(2);
        await l.call('POST', `/v1/exceptions/${id}/revoke`, { token: ci });
      }
    } finally {
      await second.close();
    }
  });

  it('approved on one replica, the capacity is there in the next decision on the other; revoked on it, gone on the first', async () => {
    pg!.createDatabase('exc');
    const url = pg!.url('exc');
    l = await startTestLedger({ clock, config: CONFIG, store: url });
    other = await startTestLedger({ clock, config: CONFIG, store: url });
    const ci = await token('ci', ['gate']);
    const bob = await token('bob', ['approver']);
    const held = await other.call('POST', '/v1/decisions', { token: ci, body: { claims: [claim(10)], reserve: true } });
    await other.call('POST', `/v1/reservations/${held.body.reservation.id}/confirm`, { token: ci });
    const more = { claims: [claim(2, 'more')] };
    expect((await other.call('POST', '/v1/decisions', { token: ci, body: more })).body.allowed).toBe(false);
    const id = (await l.call('POST', '/v1/exceptions', { token: ci, body: request(2) })).body.id;
    expect((await l.call('POST', `/v1/exceptions/${id}/approve`, { token: bob })).body.state).toBe('active');
    for (const replica of [other, l])
      expect((await replica.call('POST', '/v1/decisions', { token: ci, body: more })).body).toMatchObject({
        allowed: true,
        products: [{ capacity: 12 }],
      });
    expect((await other.call('POST', `/v1/exceptions/${id}/revoke`, { token: bob })).body.state).toBe('revoked');
    for (const replica of [l, other])
      expect((await replica.call('POST', '/v1/decisions', { token: ci, body: more })).body).toMatchObject({
        allowed: false,
        products: [{ capacity: 10 }],
      });
  });
});
