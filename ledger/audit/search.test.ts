// GET /v1/audit/search through a real socket: the decision log newest first,
// filtered exactly by product (db is not db2), resource, actor, action and
// time, paged with `before`, within a limited auditor's products; bad input
// answered 400 with what was wrong.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../auth.ts';
import { TEST_CONFIG, type TestLedger, startTestLedger } from '../testing/harness.ts';

let now = new Date('2026-06-01T10:00:00Z');
let l: TestLedger;
let dir: string;
let auditor: string;
let gate: string;
const seqs: Record<string, number> = {};

// The test ledger's config with a product db2, whose id starts with db's.
function configWithDb2(): string {
  const base = readFileSync(TEST_CONFIG, 'utf8');
  const db2 = `  - id: db2
    vendor: Example
    name: Example Database 2
    metric: instances
    match:
      kubernetes:
        images: ["example.com/db2*"]
`;
  const file = join(dir, 'ledger.yaml');
  writeFileSync(
    file,
    `${base.replace('entitlements:\n', `${db2}entitlements:\n`)}  - id: DB2-2026
    product: db2
    model: subscription
    quantity: 10
    validFrom: 2026-01-01
    validUntil: 2026-12-31
    owner: dba@example.com
`,
  );
  return file;
}

const deployment = (name: string, namespace = 'shop') => ({ kind: 'Deployment', name, namespace });

async function step(
  at: string,
  name: string,
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<{ id: string; reservation: { id: string } }> {
  now = new Date(at);
  const res = await l.call(method, path, { token, ...(body === undefined ? {} : { body }) });
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
  seqs[name] = (await l.ledger.store.logHead()).seq;
  return res.body;
}

async function search(query: string, token = auditor): ReturnType<TestLedger['call']> {
  return l.call('GET', `/v1/audit/search${query}`, { token });
}

const seqsOf = (body: { records: { seq: number }[] }) => body.records.map((r) => r.seq);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eg-search-'));
  l = await startTestLedger({ clock: () => now, config: configWithDb2() });
  auditor = l.tokens.auditor;
  gate = l.tokens.gate;
  const approver = (await createToken(l.ledger.store, 'approver-1', ['approver'], now, 'test')).token;
  const prod = { environment: 'prod' };
  const reserved = await step('2026-06-01T10:00:00Z', 'reserveDb', 'POST', '/v1/decisions', gate, {
    reserve: true,
    claims: [{ product: 'db', quantity: 1, scope: prod, resource: deployment('orders') }],
  });
  await step('2026-06-01T10:10:00Z', 'reserveDb2', 'POST', '/v1/decisions', l.tokens.admin, {
    reserve: true,
    claims: [{ product: 'db2', quantity: 1, scope: prod, resource: deployment('orders-2') }],
  });
  await step('2026-06-01T10:20:00Z', 'decideOs', 'POST', '/v1/decisions', gate, { claims: [{ product: 'os', quantity: 1, scope: prod }] });
  await step('2026-06-01T10:25:00Z', 'confirmDb', 'POST', `/v1/reservations/${reserved.reservation.id}/confirm`, gate);
  const x = await step('2026-06-01T11:00:00Z', 'requestDb', 'POST', '/v1/exceptions', gate, {
    product: 'db',
    quantity: 2,
    scope: prod,
    until: '2026-06-20',
    reason: 'migration',
    ticket: 'CHG-1',
  });
  await step('2026-06-01T11:10:00Z', 'approveDb', 'POST', `/v1/exceptions/${x.id}/approve`, approver);
  await step('2026-06-01T12:00:00Z', 'reportDb2', 'PUT', '/v1/sources/sam/usage', l.tokens.reporter, {
    version: 1,
    observedAt: '2026-06-01T11:59:00Z',
    usage: [{ product: 'db2', quantity: 3, scope: prod, resource: 'Deployment/shop/billing' }],
  });
});

afterAll(async () => {
  await l?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the decision log search', () => {
  it('filters by product exactly, including steps about a reservation or an exception, newest first', async () => {
    const db = await search('?product=db');
    expect(db.status, JSON.stringify(db.body)).toBe(200);
    expect(seqsOf(db.body)).toEqual([seqs.approveDb, seqs.requestDb, seqs.confirmDb, seqs.reserveDb]);
    expect(db.body.next).toBeNull();
    expect(db.body.records[0]).toMatchObject({ action: 'exception.approve', actor: 'token:approver-1', prevHash: expect.any(String) });
    expect(seqsOf((await search('?product=db2')).body)).toEqual([seqs.reportDb2, seqs.reserveDb2]);
    expect(seqsOf((await search('?product=d')).body)).toEqual([]);
  });

  it('filters by resource id exactly, by actor and by action', async () => {
    expect(seqsOf((await search('?resource=Deployment/shop/orders')).body)).toEqual([seqs.confirmDb, seqs.reserveDb]);
    expect(seqsOf((await search('?resource=Deployment/shop/billing')).body)).toEqual([seqs.reportDb2]);
    const gateActor = (await search('?product=db&action=decision')).body.records[0].actor as string;
    expect(gateActor).toMatch(/^token:gate-/);
    expect(seqsOf((await search(`?actor=${encodeURIComponent(gateActor)}`)).body)).toEqual([
      seqs.requestDb,
      seqs.confirmDb,
      seqs.decideOs,
      seqs.reserveDb,
    ]);
    expect(seqsOf((await search('?action=exception.approve')).body)).toEqual([seqs.approveDb]);
    expect(seqsOf((await search(`?actor=${encodeURIComponent(gateActor)}&product=db&action=decision`)).body)).toEqual([seqs.reserveDb]);
    expect(seqsOf((await search('?product=db&resource=Deployment/shop/orders-2')).body)).toEqual([]);
  });

  it('filters by time: from inclusive, to exclusive', async () => {
    expect(seqsOf((await search('?from=2026-06-01T10:10:00Z&to=2026-06-01T11:00:00Z')).body)).toEqual([
      seqs.confirmDb,
      seqs.decideOs,
      seqs.reserveDb2,
    ]);
    expect(seqsOf((await search('?product=db&from=2026-06-01T10:25:00Z')).body)).toEqual([seqs.approveDb, seqs.requestDb, seqs.confirmDb]);
    expect(seqsOf((await search('?from=2026-06-02')).body)).toEqual([]);
  });

  it('pages newest first with before, none twice and none left out', async () => {
    const all = seqsOf((await search('?limit=500')).body);
    expect(all.length).toBeGreaterThan(7);
    expect(all).toEqual([...all].sort((a, b) => b - a));
    const seen: number[] = [];
    let before = '';
    for (let i = 0; i < 20; i++) {
      const page = await search(`?limit=3${before}`);
      expect(page.body.records.length).toBeLessThanOrEqual(3);
      seen.push(...seqsOf(page.body));
      if (page.body.next === null) break;
      before = `&before=${page.body.next}`;
    }
    expect(seen).toEqual(all);
    expect(seqsOf((await search(`?product=db&limit=2&before=${seqs.requestDb}`)).body)).toEqual([seqs.confirmDb, seqs.reserveDb]);
  });

  it('answers bad input with 400 and what was wrong', async () => {
    const cases: [string, string][] = [
      ['?limit=0', 'limit must be a whole number from 1 to 500, not "0"'],
      ['?limit=501', 'limit must be a whole number from 1 to 500, not "501"'],
      ['?limit=ten', 'limit must be a whole number from 1 to 500, not "ten"'],
      ['?before=-1', `before must be a record's seq (a whole number from 1), not "-1"`],
      ['?from=yesterday', 'from must be a date (2026-11-01) or an ISO-8601 instant (2026-11-01T09:30:00Z), not "yesterday"'],
      ['?to=2026-02-30', 'to must be a date (2026-11-01) or an ISO-8601 instant (2026-11-01T09:30:00Z), not "2026-02-30"'],
      ['?from=2026-06-02&to=2026-06-01', 'from (2026-06-02) must be before to (2026-06-01)'],
      ['?prodct=db', 'unknown parameter prodct: the search takes product, resource, actor, action, from, to, before, limit'],
    ];
    for (const [query, message] of cases) {
      const res = await search(query);
      expect(res.status, query).toBe(400);
      expect(res.body.error.message, query).toBe(message);
    }
    expect((await search('?limit=500')).status).toBe(200);
    expect((await search('?limit=1')).body.records).toHaveLength(1);
  });

  it('gives an auditor limited to products only the records that name only them', async () => {
    const limited = (await createToken(l.ledger.store, 'db2-auditor', ['auditor'], now, 'test', { products: ['db2'] })).token;
    const res = await search('', limited);
    expect(res.status).toBe(200);
    expect(res.body.filtered).toBe(true);
    expect(seqsOf(res.body)).toEqual([seqs.reportDb2, seqs.reserveDb2]);
    expect(seqsOf((await search('?product=db', limited)).body)).toEqual([]);
    const paged = await search('?limit=1', limited);
    expect(seqsOf(paged.body)).toEqual([seqs.reportDb2]);
    expect(seqsOf((await search(`?limit=1&before=${paged.body.next}`, limited)).body)).toEqual([seqs.reserveDb2]);
  });
});
