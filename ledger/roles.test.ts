// Every /v1 endpoint called with every role, with none and with a revoked
// token: a role the endpoint does not grant gets 403, no credential or a
// revoked one 401, and a granted one gets in. The table is written out here,
// not read from the server, so a change to who may do what shows up as a
// failing row (and a new endpoint without a row fails the first test).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from './auth.ts';
import { ROLES, type Role } from './store/types.ts';
import { createSigningKeyFile } from './serve.ts';
import { type TestLedger, startTestLedger } from './testing/harness.ts';

const now = new Date('2026-06-01T10:00:00Z');
let l: TestLedger;
const tokens = {} as Record<Role, string>;
let revoked: string;

const claim = { product: 'db', quantity: 1, scope: { environment: 'prod' } };
const exceptionBody = { product: 'db', quantity: 1, until: '2026-06-10', reason: 'r', ticket: 'T-1' };

interface Row {
  route: string;
  roles: Role[] | 'all';
  /** Makes the path (and body) for one call, so calls that change state each get their own target. */
  call: (role: Role | null) => Promise<{ path: string; body?: unknown }>;
}

async function exceptionBy(token: string): Promise<string> {
  const r = await l.call('POST', '/v1/exceptions', { token, body: exceptionBody });
  expect(r.status).toBe(201);
  return r.body.id;
}

const fixed = (path: string, body?: unknown) => async () => (body === undefined ? { path } : { path, body });
let reservation = '';

const TABLE: Row[] = [
  { route: 'GET /v1/openapi.json', roles: 'all', call: fixed('/v1/openapi.json') },
  { route: 'GET /v1/config', roles: 'all', call: fixed('/v1/config') },
  { route: 'POST /v1/decisions', roles: ['gate'], call: fixed('/v1/decisions', { claims: [claim] }) },
  { route: 'GET /v1/reservations/{id}', roles: ['gate'], call: async () => ({ path: `/v1/reservations/${reservation}` }) },
  { route: 'POST /v1/reservations/{id}/confirm', roles: ['gate'], call: async () => ({ path: `/v1/reservations/${reservation}/confirm` }) },
  { route: 'DELETE /v1/reservations/{id}', roles: ['gate'], call: async () => ({ path: `/v1/reservations/${reservation}` }) },
  { route: 'GET /v1/reservations', roles: ['viewer', 'auditor'], call: fixed('/v1/reservations') },
  {
    route: 'PUT /v1/sources/{name}/usage',
    roles: ['reporter'],
    call: fixed('/v1/sources/sam/usage', { version: 1, observedAt: '2026-06-01T09:00:00Z', usage: [] }),
  },
  { route: 'GET /v1/sources', roles: ['gate', 'reporter', 'viewer', 'finance', 'procurement', 'auditor'], call: fixed('/v1/sources') },
  {
    route: 'GET /v1/reconciliation',
    roles: ['reporter', 'viewer', 'finance', 'procurement', 'auditor', 'approver'],
    call: fixed('/v1/reconciliation'),
  },
  { route: 'GET /v1/history', roles: ['viewer', 'finance', 'procurement', 'auditor', 'approver'], call: fixed('/v1/history?product=db') },
  { route: 'GET /v1/forecast', roles: ['viewer', 'finance', 'procurement', 'auditor', 'approver'], call: fixed('/v1/forecast') },
  { route: 'GET /v1/whoami', roles: 'all', call: fixed('/v1/whoami') },
  { route: 'GET /v1/dashboard/platform', roles: ['viewer'], call: fixed('/v1/dashboard/platform') },
  { route: 'GET /v1/dashboard/finance', roles: ['finance'], call: fixed('/v1/dashboard/finance') },
  { route: 'GET /v1/dashboard/procurement', roles: ['procurement'], call: fixed('/v1/dashboard/procurement') },
  { route: 'GET /v1/dashboard/audit', roles: ['auditor'], call: fixed('/v1/dashboard/audit') },
  { route: 'GET /v1/sources/{name}/usage/history', roles: ['viewer', 'auditor'], call: fixed('/v1/sources/sam/usage/history') },
  { route: 'POST /v1/exceptions', roles: ['gate', 'approver', 'procurement'], call: fixed('/v1/exceptions', exceptionBody) },
  {
    route: 'GET /v1/exceptions',
    roles: ['gate', 'viewer', 'finance', 'procurement', 'auditor', 'approver'],
    call: fixed('/v1/exceptions'),
  },
  {
    route: 'GET /v1/exceptions/{id}',
    roles: ['gate', 'viewer', 'finance', 'procurement', 'auditor', 'approver'],
    call: async () => ({ path: `/v1/exceptions/${await exceptionBy(tokens.gate)}` }),
  },
  // Requested by the gate token, so every approver is another identity.
  {
    route: 'POST /v1/exceptions/{id}/approve',
    roles: ['approver'],
    call: async () => ({ path: `/v1/exceptions/${await exceptionBy(tokens.gate)}/approve` }),
  },
  {
    route: 'POST /v1/exceptions/{id}/deny',
    roles: ['approver'],
    call: async () => ({ path: `/v1/exceptions/${await exceptionBy(tokens.gate)}/deny` }),
  },
  // Each caller that may request revokes its own request.
  {
    route: 'POST /v1/exceptions/{id}/revoke',
    roles: ['gate', 'approver', 'procurement'],
    call: async (role) => {
      const mayRequest = role && ['gate', 'approver', 'procurement', 'admin'].includes(role);
      return { path: `/v1/exceptions/${await exceptionBy(mayRequest ? tokens[role] : tokens.gate)}/revoke` };
    },
  },
  { route: 'GET /v1/findings', roles: ['viewer', 'auditor', 'finance', 'procurement', 'approver'], call: fixed('/v1/findings') },
  { route: 'GET /v1/audit/records', roles: ['auditor'], call: fixed('/v1/audit/records') },
  { route: 'GET /v1/audit/export', roles: ['auditor'], call: fixed('/v1/audit/export') },
  { route: 'GET /v1/audit/checkpoints', roles: ['auditor'], call: fixed('/v1/audit/checkpoints') },
  { route: 'GET /v1/audit/head', roles: ['auditor'], call: fixed('/v1/audit/head') },
  { route: 'GET /v1/audit/key', roles: ['auditor'], call: fixed('/v1/audit/key') },
  { route: 'GET /v1/tokens', roles: [], call: fixed('/v1/tokens') },
  { route: 'POST /v1/tokens', roles: [], call: fixed('/v1/tokens', { name: 'made', roles: ['viewer'] }) },
  {
    route: 'DELETE /v1/tokens/{id}',
    roles: [],
    call: async () => ({ path: `/v1/tokens/${(await createToken(l.ledger.store, 'victim', ['viewer'], now, 'test')).record.id}` }),
  },
  { route: 'GET /v1/denials', roles: ['viewer', 'auditor'], call: fixed('/v1/denials') },
  { route: 'GET /v1/audit/chain', roles: ['auditor'], call: fixed('/v1/audit/chain') },
];

beforeAll(async () => {
  // With a signing key, so GET /v1/audit/key has a key to give the roles that may have it.
  const signingKey = join(mkdtempSync(join(tmpdir(), 'eg-roles-')), 'signing.pem');
  createSigningKeyFile(signingKey);
  l = await startTestLedger({ clock: () => now, audit: { signingKey } });
  for (const role of ROLES) tokens[role] = (await createToken(l.ledger.store, role, [role], now, 'test')).token;
  const gone = await createToken(l.ledger.store, 'gone', [...ROLES], now, 'test');
  await l.ledger.store.revokeToken(gone.record.id, now.getTime(), 'test');
  revoked = gone.token;
  const r = await l.call('POST', '/v1/decisions', { token: tokens.gate, body: { claims: [claim], reserve: true } });
  reservation = r.body.reservation.id;
});
afterAll(() => l?.close());

describe('who may call what', () => {
  it('the table has a row for every /v1 endpoint', () => {
    expect(TABLE.map((r) => r.route).sort()).toEqual([...new Set(l.app.ledgerRoutes)].sort());
  });

  const cases = TABLE.flatMap((row) => [...ROLES, null, 'revoked' as const].map((who) => [row.route, who ?? 'none', row, who] as const));
  it.each(cases)('%s as %s', async (_route, _name, row, who) => {
    const [method, ...rest] = row.route.split(' ');
    const role = who === 'revoked' ? null : who;
    const { path, body } = await row.call(role);
    const token = who === null ? null : who === 'revoked' ? revoked : tokens[who];
    const res = await l.call(method!, path, body === undefined ? { token } : { token, body });
    void rest;
    if (who === null || who === 'revoked') {
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('EG_ERR_LEDGER_AUTH');
      if (who === 'revoked') expect(res.body.error.message).toMatch(/was revoked/);
      return;
    }
    const granted = who === 'admin' || row.roles === 'all' || row.roles.includes(who);
    if (granted) expect([200, 201, 409], JSON.stringify(res.body)).toContain(res.status);
    else {
      expect(res.status).toBe(403);
      expect(res.body.error.message).toMatch(/needs the role/);
    }
  });
});

describe('tokens limited to products or a scope', () => {
  it('refuses a decision, usage report or exception request outside the limits, and lets in what is within', async () => {
    const eu = (
      await createToken(l.ledger.store, 'eu-gate', ['gate', 'reporter'], now, 'test', { products: ['db'], scope: { environment: 'prod' } })
    ).token;
    const decide = (product: string, scope: Record<string, string>) =>
      l.call('POST', '/v1/decisions', { token: eu, body: { claims: [{ product, quantity: 1, scope }] } });
    expect((await decide('db', { environment: 'prod', region: 'eu' })).status).toBe(200);
    const otherProduct = await decide('os', { environment: 'prod' });
    expect(otherProduct.status).toBe(403);
    expect(otherProduct.body.error.message).toMatch(/token:eu-gate is limited to the products db; the change names "os"/);
    const otherScope = await decide('db', { environment: 'dev' });
    expect(otherScope.status).toBe(403);
    expect(otherScope.body.error.message).toMatch(/limited to the scope \{"environment":"prod"\}/);
    // A claim that does not say its environment is outside a limit that names one.
    expect((await decide('db', {})).status).toBe(403);
    const usage = (product: string) => ({
      version: 1,
      observedAt: '2026-06-01T09:00:00Z',
      usage: [{ product, quantity: 1, scope: { environment: 'prod' } }],
    });
    expect((await l.call('PUT', '/v1/sources/eu/usage', { token: eu, body: usage('db') })).status).toBe(200);
    expect((await l.call('PUT', '/v1/sources/eu/usage', { token: eu, body: usage('os') })).status).toBe(403);
    const exc = (product: string) => ({ ...exceptionBody, product, scope: { environment: 'prod' } });
    expect((await l.call('POST', '/v1/exceptions', { token: eu, body: exc('db') })).status).toBe(201);
    expect((await l.call('POST', '/v1/exceptions', { token: eu, body: exc('os') })).status).toBe(403);
  });
});
