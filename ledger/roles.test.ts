// Every /v1 endpoint called with every role, with none and with a revoked
// token: a role the endpoint does not grant gets 403, no credential or a
// revoked one 401, and a granted one gets in. The table is written out here,
// not read from the server, so a change to who may do what shows up as a
// failing row (and a new endpoint without a row fails the first test).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from './auth.ts';
import { ROLES, type Role } from './store/types.ts';
import { createSigningKeyFile } from './serve.ts';
import { type TestLedger, startTestLedger } from './testing/harness.ts';
import { tempDir } from '../test/temp.ts';

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
  { route: 'GET /v1/audit/search', roles: ['auditor'], call: fixed('/v1/audit/search?product=db') },
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
  const signingKey = join(tempDir('eg-roles-'), 'signing.pem');
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

// biome-ignore lint/suspicious/noExplicitAny: the answers' parsed JSON, as the harness gives it (typing each would restate the API)
type Body = any;

// Reads by tokens limited to a product (db) or a scope (environment: prod), beside
// an unlimited token with the same roles: each row says what each limited token
// sees, and every answer is searched for what it must not show (another product's
// or scope's names, ids and quantities: the data is chosen so that each is unique).
describe('reads follow a token’s product and scope limits', () => {
  type Limited = 'dbOnly' | 'prodOnly';
  let m: TestLedger;
  const tk = {} as Record<Limited | 'all', string>;
  const id = {} as Record<'resDbProd' | 'resDbDev' | 'resOsProd' | 'excDbProd' | 'excDbDev' | 'excOsProd', string>;
  const HIDDEN: Record<Limited, string[]> = {
    dbOnly: ['"os"', 'OS-2026', 'PO-OS', 'cluster:os', '777'],
    prodOnly: ['"dev"', 'DB-ANY', 'PO-DB-ANY', 'OS-2026', 'cluster:os', '777', '333', '353'],
  };

  interface LimitRow {
    route: string;
    path: () => string;
    /** What each limited token gets: its status, then checks of its body. */
    sees: Record<Limited, (body: Body, status: number) => void>;
    /** Markers the unlimited token's answer has (so a hidden marker's absence means something). */
    whole?: string[];
    /** Markers this answer may show a limited token after all. */
    allow?: string[];
  }
  const ok = (check: (body: Body) => void) => (body: Body, status: number) => {
    expect(status, JSON.stringify(body)).toBe(200);
    check(body);
  };
  const notFound = (body: Body, status: number) => {
    expect(status).toBe(404);
    expect(body.error.code).toBe('EG_ERR_LEDGER_NOT_FOUND');
  };
  const ids = (list: { id: string }[]) => list.map((x) => x.id).sort();
  // A quantity as a number of its own, not digits inside a hash.
  const shown = (marker: string) =>
    /^\d+$/.test(marker) ? new RegExp(`(?<![\\w.])${marker}(?![\\w.])`) : new RegExp(marker.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

  const ROWS: LimitRow[] = [
    {
      route: 'GET /v1/config',
      path: () => '/v1/config',
      // Every product's matchers, so a gate recognises every product; only the entitlements it sees.
      allow: ['"os"'],
      whole: ['OS-2026', 'DB-ANY'],
      sees: {
        dbOnly: ok((b) => expect(b.config.entitlements.map((e: Body) => e.id)).toEqual(['DB-PROD', 'DB-ANY'])),
        prodOnly: ok((b) => expect(b.config.entitlements.map((e: Body) => e.id)).toEqual(['DB-PROD'])),
      },
    },
    {
      route: 'GET /v1/reservations/{id} (db, prod)',
      path: () => `/v1/reservations/${id.resDbProd}`,
      sees: { dbOnly: ok((b) => expect(b.id).toBe(id.resDbProd)), prodOnly: ok((b) => expect(b.id).toBe(id.resDbProd)) },
    },
    {
      route: 'GET /v1/reservations/{id} (db, dev)',
      path: () => `/v1/reservations/${id.resDbDev}`,
      whole: ['"dev"'],
      sees: { dbOnly: ok((b) => expect(b.id).toBe(id.resDbDev)), prodOnly: notFound },
    },
    {
      route: 'GET /v1/reservations/{id} (os, prod)',
      path: () => `/v1/reservations/${id.resOsProd}`,
      sees: { dbOnly: notFound, prodOnly: ok((b) => expect(b.id).toBe(id.resOsProd)) },
    },
    {
      route: 'GET /v1/reservations',
      path: () => '/v1/reservations',
      whole: ['"os"', '"dev"'],
      sees: {
        dbOnly: ok((b) => expect(ids(b.reservations)).toEqual([id.resDbDev, id.resDbProd].sort())),
        prodOnly: ok((b) => expect(ids(b.reservations)).toEqual([id.resDbProd, id.resOsProd].sort())),
      },
    },
    {
      route: 'GET /v1/sources',
      path: () => '/v1/sources',
      whole: ['cluster:os'],
      sees: {
        dbOnly: ok((b) => expect(b.sources).toMatchObject([{ source: 'cluster:a', records: 2 }])),
        prodOnly: ok((b) => expect(b.sources).toMatchObject([{ source: 'cluster:a', records: 1 }])),
      },
    },
    {
      route: 'GET /v1/sources/{name}/usage/history (both products)',
      path: () => '/v1/sources/cluster:a/usage/history',
      whole: ['"dev"'],
      sees: {
        dbOnly: ok((b) => expect(b.reports[0].usage).toHaveLength(2)),
        prodOnly: ok((b) => expect(b.reports[0].usage).toEqual([{ product: 'db', quantity: 20, scope: { environment: 'prod' } }])),
      },
    },
    {
      route: 'GET /v1/sources/{name}/usage/history (os only)',
      path: () => '/v1/sources/cluster:os/usage/history',
      whole: ['777'],
      allow: ['cluster:os'],
      // As for a source that never reported: no report.
      sees: { dbOnly: ok((b) => expect(b.reports).toEqual([])), prodOnly: ok((b) => expect(b.reports).toEqual([])) },
    },
    {
      route: 'GET /v1/reconciliation',
      path: () => '/v1/reconciliation',
      whole: ['777', '353'],
      sees: {
        dbOnly: ok((b) => expect(b.products).toMatchObject([{ product: 'db', entitled: 15, discovered: 353, reserved: 2 }])),
        prodOnly: ok((b) =>
          expect(b.products).toMatchObject([
            { product: 'db', entitled: 10, discovered: 20, reserved: 1, scopes: [{ scope: { environment: 'prod' } }] },
            { product: 'os', entitled: 0, discovered: 0, reserved: 1 },
          ]),
        ),
      },
    },
    {
      route: 'GET /v1/exceptions',
      path: () => '/v1/exceptions',
      whole: ['"os"', '"dev"'],
      sees: {
        dbOnly: ok((b) => expect(ids(b.exceptions)).toEqual([id.excDbDev, id.excDbProd].sort())),
        prodOnly: ok((b) => expect(ids(b.exceptions)).toEqual([id.excDbProd, id.excOsProd].sort())),
      },
    },
    {
      route: 'GET /v1/exceptions/{id} (os, prod)',
      path: () => `/v1/exceptions/${id.excOsProd}`,
      sees: { dbOnly: notFound, prodOnly: ok((b) => expect(b.product).toBe('os')) },
    },
    {
      route: 'GET /v1/exceptions/{id} (db, dev)',
      path: () => `/v1/exceptions/${id.excDbDev}`,
      sees: { dbOnly: ok((b) => expect(b.scope).toEqual({ environment: 'dev' })), prodOnly: notFound },
    },
    {
      route: 'GET /v1/findings',
      path: () => '/v1/findings',
      whole: ['"os"', '"dev"'],
      sees: {
        dbOnly: ok((b) => {
          expect(b.open.length).toBeGreaterThan(0);
          expect(b.open.every((f: Body) => f.product === 'db')).toBe(true);
        }),
        prodOnly: ok((b) => expect(b.open).toMatchObject([{ product: 'db', scope: { environment: 'prod' } }])),
      },
    },
    {
      route: 'GET /v1/history (db)',
      path: () => '/v1/history?product=db',
      whole: ['"dev"', '353'],
      sees: {
        dbOnly: ok((b) => expect(b.series.map((s: Body) => s.scope)).toEqual([null, { environment: 'dev' }, { environment: 'prod' }])),
        prodOnly: ok((b) => {
          expect(b.series.map((s: Body) => s.scope)).toEqual([{ environment: 'prod' }]);
          expect(b.capacity.at(-1).quantity).toBe(10);
        }),
      },
    },
    {
      route: 'GET /v1/history (os)',
      path: () => '/v1/history?product=os',
      sees: {
        // As for a product the config does not declare.
        dbOnly: (b, status) => {
          expect(status).toBe(400);
          expect(b.error.message).toBe('no product "os" in the ledger\'s config');
        },
        prodOnly: ok((b) => expect(b.series.map((s: Body) => s.scope)).toEqual([])),
      },
    },
    {
      route: 'GET /v1/forecast',
      path: () => '/v1/forecast',
      whole: ['"os"'],
      sees: {
        dbOnly: ok((b) => expect(b.products.map((p: Body) => p.product)).toEqual(['db'])),
        // Each product's total spans every scope.
        prodOnly: ok((b) => expect(b.products).toEqual([])),
      },
    },
    {
      route: 'GET /v1/forecast (db)',
      path: () => '/v1/forecast?product=db',
      whole: ['"dev"'],
      sees: {
        dbOnly: ok((b) => expect(b.series).toHaveLength(3)),
        prodOnly: ok((b) => expect(b.series.map((s: Body) => s.scope)).toEqual([{ environment: 'prod' }])),
      },
    },
    {
      route: 'GET /v1/dashboard/platform',
      path: () => '/v1/dashboard/platform',
      whole: ['"os"', '"dev"', '353'],
      sees: {
        dbOnly: ok((b) => {
          // The approved exception's 1 counts, as for anyone.
          expect(b.products).toMatchObject([{ product: 'db', capacity: 16, used: 353 }]);
          expect(ids(b.reservations)).toEqual([id.resDbDev, id.resDbProd].sort());
        }),
        prodOnly: ok((b) => {
          expect(b.products).toMatchObject([
            { product: 'db', capacity: 10, used: 20, reserved: 1, headroom: 0 },
            { product: 'os', capacity: 0, used: 0, reserved: 1 },
          ]);
          expect(ids(b.reservations)).toEqual([id.resDbProd, id.resOsProd].sort());
        }),
      },
    },
    {
      route: 'GET /v1/dashboard/finance',
      path: () => '/v1/dashboard/finance',
      whole: ['PO-OS', 'PO-DB-ANY'],
      sees: {
        dbOnly: ok((b) => expect(b.byContract.map((c: Body) => c.key).sort()).toEqual(['PO-DB-ANY', 'PO-DB-PROD'])),
        prodOnly: ok((b) => {
          expect(b.entitlements.map((e: Body) => e.id)).toEqual(['DB-PROD']);
          expect(b.byContract).toEqual([{ key: 'PO-DB-PROD', currency: 'USD', amount: 1000 }]);
          expect(b.exposure).toEqual([]);
        }),
      },
    },
    {
      route: 'GET /v1/dashboard/procurement',
      path: () => '/v1/dashboard/procurement',
      whole: ['OS-2026'],
      sees: {
        dbOnly: ok((b) => expect(b.renewals.map((r: Body) => r.id)).toEqual(['DB-ANY', 'DB-PROD'])),
        prodOnly: ok((b) => expect(b.renewals.map((r: Body) => r.id)).toEqual(['DB-PROD'])),
      },
    },
    {
      route: 'GET /v1/dashboard/audit',
      path: () => '/v1/dashboard/audit',
      whole: ['"os"', '"dev"'],
      sees: {
        dbOnly: ok((b) => expect(ids(b.reservations)).toEqual([id.resDbDev, id.resDbProd].sort())),
        prodOnly: ok((b) => expect(ids(b.reservations)).toEqual([id.resDbProd, id.resOsProd].sort())),
      },
    },
    {
      route: 'GET /v1/audit/records',
      path: () => '/v1/audit/records?limit=1000',
      whole: ['"os"', '"dev"', '777', 'token.create'],
      sees: {
        dbOnly: ok((b) => {
          expect(b.filtered).toBe(true);
          expect(b.records.map((r: Body) => `${r.action} ${r.subject}`)).toEqual(
            expect.arrayContaining([`decision ${id.resDbProd}`, `decision ${id.resDbDev}`, `exception.approve ${id.excDbProd}`]),
          );
        }),
        prodOnly: ok((b) => {
          expect(b.filtered).toBe(true);
          expect(b.records.map((r: Body) => `${r.action} ${r.subject}`)).toEqual(
            expect.arrayContaining([`decision ${id.resDbProd}`, `exception.request ${id.excOsProd}`, `exception.approve ${id.excDbProd}`]),
          );
        }),
      },
    },
    {
      route: 'GET /v1/audit/export',
      path: () => '/v1/audit/export',
      whole: ['token.create'],
      sees: {
        dbOnly: (b, status) => {
          expect(status).toBe(403);
          expect(b.error.message).toMatch(/limited to the products db: the export is the whole chain, for an auditor without limits/);
        },
        prodOnly: (b, status) => {
          expect(status).toBe(403);
          expect(b.error.message).toMatch(/limited to the scope \{"environment":"prod"\}: the export is the whole chain/);
        },
      },
    },
  ];

  beforeAll(async () => {
    m = await startTestLedger({ clock: () => now, config: join(import.meta.dirname, 'testdata/ledger-limits.yaml') });
    const reads: Role[] = ['gate', 'reporter', 'viewer', 'finance', 'procurement', 'auditor', 'approver'];
    tk.all = (await createToken(m.ledger.store, 'all-reader', reads, now, 'test')).token;
    tk.dbOnly = (await createToken(m.ledger.store, 'db-reader', reads, now, 'test', { products: ['db'] })).token;
    tk.prodOnly = (await createToken(m.ledger.store, 'prod-reader', reads, now, 'test', { scope: { environment: 'prod' } })).token;
    const approver = (await createToken(m.ledger.store, 'approver', ['approver'], now, 'test')).token;
    const reserve = async (product: string, environment: string) => {
      const claims = [{ product, quantity: 1, scope: { environment } }];
      const r = await m.call('POST', '/v1/decisions', { token: m.tokens.gate, body: { claims, reserve: true } });
      expect(r.body.allowed, JSON.stringify(r.body)).toBe(true);
      return r.body.reservation.id as string;
    };
    id.resDbProd = await reserve('db', 'prod');
    id.resDbDev = await reserve('db', 'dev');
    id.resOsProd = await reserve('os', 'prod');
    const except = async (product: string, environment: string) => {
      const body = { product, quantity: 1, until: '2026-06-10', scope: { environment }, reason: 'r', ticket: 'T-1' };
      return (await m.call('POST', '/v1/exceptions', { token: m.tokens.gate, body })).body.id as string;
    };
    id.excDbProd = await except('db', 'prod');
    id.excDbDev = await except('db', 'dev');
    id.excOsProd = await except('os', 'prod');
    expect((await m.call('POST', `/v1/exceptions/${id.excDbProd}/approve`, { token: approver })).status).toBe(200);
    const usage = (records: { product: string; quantity: number; environment: string }[]) => ({
      version: 1,
      observedAt: '2026-06-01T09:00:00Z',
      usage: records.map((r) => ({ product: r.product, quantity: r.quantity, scope: { environment: r.environment } })),
    });
    const put = async (source: string, records: { product: string; quantity: number; environment: string }[]) =>
      expect((await m.call('PUT', `/v1/sources/${source}/usage`, { token: m.tokens.reporter, body: usage(records) })).status).toBe(200);
    await put('cluster:a', [
      { product: 'db', quantity: 20, environment: 'prod' },
      { product: 'db', quantity: 333, environment: 'dev' },
    ]);
    await put('cluster:os', [{ product: 'os', quantity: 777, environment: 'dev' }]);
  });
  afterAll(() => m?.close());

  const cases = ROWS.flatMap((row) => (['dbOnly', 'prodOnly'] as const).map((w) => [row.route, w, row] as const));
  it.each(cases)('%s as a token limited to %s', async (_route, w, row) => {
    const whole = await m.call('GET', row.path(), { token: tk.all });
    expect(whole.status).toBe(200);
    for (const marker of row.whole ?? []) expect(JSON.stringify(whole.body), `the unlimited answer shows ${marker}`).toMatch(shown(marker));
    const res = await m.call('GET', row.path(), { token: tk[w] });
    row.sees[w](res.body, res.status);
    const text = JSON.stringify(res.body);
    for (const marker of HIDDEN[w].filter((h) => !row.allow?.includes(h)))
      expect(text, `${w} is shown ${marker}`).not.toMatch(shown(marker));
  });

  // After the table: it adds reservations the rows would see.
  it('a limited gate confirms or releases only the reservations it may read; another is a 404', async () => {
    const dbGate = (await createToken(m.ledger.store, 'db-gate', ['gate'], now, 'test', { products: ['db'] })).token;
    // Held directly in the store: every product is over capacity by now, so a gate's decision would reserve nothing.
    const held = async (product: string) => {
      const id = `res-${product}-limited-gate`;
      const lines = [{ product, quantity: 1, scope: { environment: 'prod' }, resource: null }];
      const r = { id, state: 'held' as const, createdAt: now.getTime(), expiresAt: now.getTime() + 3_600_000, actor: 'token:other', lines };
      await m.ledger.store.withProducts([product], (tx) => tx.insertReservation(r));
      return id;
    };
    const os = await held('os');
    for (const [method, path] of [
      ['POST', `/v1/reservations/${os}/confirm`],
      ['DELETE', `/v1/reservations/${os}`],
    ] as const) {
      const r = await m.call(method, path, { token: dbGate });
      expect(r.status).toBe(404);
      expect(r.body.error.message).toBe(`no reservation ${os}`);
    }
    expect((await m.call('GET', `/v1/reservations/${os}`, { token: m.tokens.gate })).body.state).toBe('held');
    const db = await held('db');
    expect((await m.call('POST', `/v1/reservations/${db}/confirm`, { token: dbGate })).body.state).toBe('confirmed');
    expect((await m.call('DELETE', `/v1/reservations/${db}`, { token: dbGate })).body.state).toBe('released');
  });
});
