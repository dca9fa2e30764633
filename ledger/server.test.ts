import * as crypto from 'node:crypto';
// The ledger's HTTP API through a real socket, on the embedded store.
import { afterEach, describe, expect, it } from 'vitest';
import { openapi } from './openapi.ts';
import { type TestLedger, startTestLedger } from './testing/harness.ts';

let now = new Date('2026-06-01T10:00:00Z');
const clock = () => now;
let l: TestLedger;
afterEach(async () => {
  await l?.close();
  now = new Date('2026-06-01T10:00:00Z');
});

const claim = (quantity: number, name = 'orders-db', product = 'db') => ({
  product,
  quantity,
  scope: { environment: 'prod' },
  resource: { kind: 'Deployment', name, namespace: 'prod' },
});

describe('ledger API', () => {
  it('every /v1 call needs a token, and each endpoint refuses a role it does not grant', async () => {
    l = await startTestLedger({ clock });
    const decide = { claims: [claim(1)] };
    expect((await l.call('POST', '/v1/decisions', { token: null, body: decide })).status).toBe(401);
    expect((await l.call('POST', '/v1/decisions', { token: 'egl_not-a-token', body: decide })).status).toBe(401);
    const asReporter = await l.call('POST', '/v1/decisions', { token: l.tokens.reporter, body: decide });
    expect(asReporter.status).toBe(403);
    expect(asReporter.body.error).toMatchObject({ code: 'EG_ERR_LEDGER_AUTH', message: expect.stringContaining('needs the role gate') });
    expect((await l.call('POST', '/v1/decisions', { token: l.tokens.gate, body: decide })).status).toBe(200);
    const usage = { version: 1, observedAt: '2026-06-01T09:00:00Z', usage: [] };
    expect((await l.call('PUT', '/v1/sources/cluster:a/usage', { token: l.tokens.gate, body: usage })).status).toBe(403);
    expect((await l.call('PUT', '/v1/sources/cluster:a/usage', { token: l.tokens.reporter, body: usage })).status).toBe(200);
    expect((await l.call('GET', '/v1/reservations', { token: l.tokens.gate })).status).toBe(403);
    expect((await l.call('GET', '/v1/reservations', { token: l.tokens.admin })).status).toBe(200);
    expect((await l.call('GET', '/v1/config', { token: null })).status).toBe(401);
    expect((await l.call('GET', '/healthz', { token: null })).status).toBe(200);
  });

  it.runIf('randomUUIDv7' in crypto)(
    'gives reservations ids that start with the time (UUID version 7), so the id indexes grow at one end',
    async () => {
      l = await startTestLedger({ clock });
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await l.call('POST', '/v1/decisions', { token: l.tokens.gate, body: { claims: [claim(1, `n${i}`)], reserve: true } });
        ids.push(r.body.reservation.id);
        await new Promise((res) => setTimeout(res, 2));
      }
      for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect([...ids].sort()).toEqual(ids);
    },
  );

  it('reserves what fits, refuses what does not, and frees capacity on release and on expiry', async () => {
    l = await startTestLedger({ clock });
    const first = await l.call('POST', '/v1/decisions', { token: l.tokens.gate, body: { claims: [claim(6)], reserve: true, ttl: '10m' } });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ allowed: true, products: [{ product: 'db', capacity: 10, used: 0, requested: 6 }] });
    expect(first.body.reservation).toEqual({ id: expect.any(String), expiresAt: '2026-06-01T10:10:00.000Z' });

    const second = await l.call('POST', '/v1/decisions', { token: l.tokens.gate, body: { claims: [claim(6, 'other')], reserve: true } });
    expect(second.body).toMatchObject({
      allowed: false,
      violations: [{ code: 'OVER_ENTITLEMENT' }],
      products: [{ used: 6, projected: 12 }],
    });
    expect(second.body.reservation).toBeUndefined();

    // A read-only decision sees the reservation too and holds nothing.
    const look = await l.call('POST', '/v1/decisions', { token: l.tokens.gate, body: { claims: [claim(4, 'x')] } });
    expect(look.body).toMatchObject({ allowed: true, products: [{ used: 6, projected: 10 }] });
    expect(look.body.reservation).toBeUndefined();

    const released = await l.call('DELETE', `/v1/reservations/${first.body.reservation.id}`, { token: l.tokens.gate });
    expect(released.body).toMatchObject({ state: 'released' });
    const third = await l.call('POST', '/v1/decisions', {
      token: l.tokens.gate,
      body: { claims: [claim(6, 'other')], reserve: true, ttl: 60 },
    });
    expect(third.body).toMatchObject({ allowed: true, products: [{ used: 0 }] });

    now = new Date('2026-06-01T10:01:00Z');
    const afterTtl = await l.call('POST', '/v1/decisions', { token: l.tokens.gate, body: { claims: [claim(10, 'big')] } });
    expect(afterTtl.body).toMatchObject({ allowed: true, products: [{ used: 0 }] });
    const gone = await l.call('POST', `/v1/reservations/${third.body.reservation.id}/confirm`, { token: l.tokens.gate });
    expect(gone.status).toBe(409);
    expect(gone.body.error.message).toMatch(/is expired .*decide and reserve again/);
  });

  it('a confirmed reservation stops expiring; a usage report naming its resource settles it, counted once', async () => {
    l = await startTestLedger({ clock });
    const r = await l.call('POST', '/v1/decisions', { token: l.tokens.gate, body: { claims: [claim(4)], reserve: true, ttl: '1m' } });
    const id = r.body.reservation.id;
    expect((await l.call('POST', `/v1/reservations/${id}/confirm`, { token: l.tokens.gate })).body).toMatchObject({
      state: 'confirmed',
      expiresAt: null,
    });
    now = new Date('2026-06-02T10:00:00Z');
    const held = await l.call('POST', '/v1/decisions', { token: l.tokens.gate, body: { claims: [claim(1, 'x')] } });
    expect(held.body.products[0]).toMatchObject({ used: 4 });

    const report = {
      version: 1,
      source: 'k8s-inventory',
      observedAt: '2026-06-02T09:59:00Z',
      usage: [{ product: 'db', quantity: 4, scope: { environment: 'prod' }, resource: 'Deployment/prod/orders-db' }],
    };
    const put = await l.call('PUT', '/v1/sources/cluster:prod-eu-1/usage', { token: l.tokens.reporter, body: report });
    expect(put.body).toEqual({ source: 'cluster:prod-eu-1', records: 1, settled: [id] });
    // The same resource from a second source is counted once.
    await l.call('PUT', '/v1/sources/sam:servicenow/usage', {
      token: l.tokens.reporter,
      body: { ...report, observedAt: '2026-06-02T08:00:00Z' },
    });
    const after = await l.call('POST', '/v1/decisions', { token: l.tokens.gate, body: { claims: [claim(1, 'x')] } });
    expect(after.body.products[0]).toMatchObject({ used: 4 });
    expect(after.body.provenance.usage).toEqual([
      { source: 'cluster:prod-eu-1', observedAt: '2026-06-02T09:59:00Z' },
      { source: 'sam:servicenow', observedAt: '2026-06-02T08:00:00Z' },
    ]);
    expect((await l.call('GET', `/v1/reservations/${id}`, { token: l.tokens.gate })).body).toMatchObject({ state: 'settled' });
    // Reconciliation shows the overlap: which source counts, what the other says.
    expect((await l.call('GET', '/v1/reconciliation', { token: l.tokens.reporter })).body.overlaps).toEqual([
      {
        product: 'db',
        resource: 'Deployment/prod/orders-db',
        counted: { source: 'cluster:prod-eu-1', quantity: 4, observedAt: '2026-06-02T09:59:00Z' },
        also: [{ source: 'sam:servicenow', quantity: 4, observedAt: '2026-06-02T08:00:00Z' }],
      },
    ]);
    expect((await l.call('GET', '/v1/reconciliation', { token: l.tokens.gate })).status).toBe(403);

    // A new report replaces the source's previous one; the old one stays in its history.
    await l.call('PUT', '/v1/sources/cluster:prod-eu-1/usage', { token: l.tokens.reporter, body: { ...report, usage: [] } });
    await l.call('PUT', '/v1/sources/sam:servicenow/usage', { token: l.tokens.reporter, body: { ...report, usage: [] } });
    expect(
      (await l.call('POST', '/v1/decisions', { token: l.tokens.gate, body: { claims: [claim(1, 'x')] } })).body.products[0],
    ).toMatchObject({ used: 0 });
    const history = await l.call('GET', '/v1/sources/cluster:prod-eu-1/usage/history');
    expect(history.body.reports.map((h: { usage: unknown[] }) => h.usage.length)).toEqual([0, 1]);
    expect(history.body.reports[1]).toMatchObject({ origin: 'k8s-inventory' });
  });

  it('takes Terraform state JSON as a source’s usage: matched resources by address, settling the reservation a plan made for it', async () => {
    l = await startTestLedger({ clock });
    const planned = {
      product: 'db',
      quantity: 1,
      scope: {},
      // As `check --source terraform:payments-prod` sends it: the address within its workspace.
      resource: { kind: 'aws_instance', name: 'db', address: 'terraform:payments-prod/module.data.aws_instance.db[0]' },
    };
    const r = await l.call('POST', '/v1/decisions', { token: l.tokens.gate, body: { claims: [planned], reserve: true } });
    const state = {
      format_version: '1.0',
      terraform_version: '1.5.7',
      values: {
        root_module: {
          resources: [{ address: 'aws_instance.web', mode: 'managed', type: 'aws_instance', name: 'web', values: { ami: 'ami-web-1' } }],
          child_modules: [
            {
              address: 'module.data',
              resources: [
                {
                  address: 'module.data.aws_instance.db[0]',
                  mode: 'managed',
                  type: 'aws_instance',
                  name: 'db',
                  values: { ami: 'ami-db-2026', region: 'eu-west-1' },
                },
              ],
            },
          ],
        },
      },
    };
    const put = await l.call('PUT', '/v1/sources/terraform:payments-prod/usage', { token: l.tokens.reporter, body: state });
    expect(put.body).toEqual({ source: 'terraform:payments-prod', records: 1, settled: [r.body.reservation.id] });
    const history = await l.call('GET', '/v1/sources/terraform:payments-prod/usage/history');
    expect(history.body.reports[0]).toMatchObject({
      observedAt: '2026-06-01T10:00:00.000Z',
      usage: [
        { product: 'db', quantity: 1, scope: { region: 'eu-west-1' }, resource: 'terraform:payments-prod/module.data.aws_instance.db[0]' },
      ],
    });
    const after = await l.call('POST', '/v1/decisions', { token: l.tokens.gate, body: { claims: [claim(1)] } });
    expect(after.body.products[0]).toMatchObject({ used: 1 });
  });

  it('a report still showing the old quantity does not settle a raise; the new quantity does', async () => {
    l = await startTestLedger({ clock });
    const report = (quantity: number) =>
      l.call('PUT', '/v1/sources/cluster:a/usage', {
        token: l.tokens.reporter,
        body: {
          version: 1,
          observedAt: now.toISOString(),
          usage: [{ product: 'db', quantity, scope: { environment: 'prod' }, resource: 'Deployment/prod/orders-db' }],
        },
      });
    const used = async () =>
      (await l.call('POST', '/v1/decisions', { token: l.tokens.gate, body: { claims: [claim(0, 'look')] } })).body.products[0].used;
    await report(4);
    // orders-db raised from 4 to 8: the reservation holds the 4 it adds, until the report shows 8.
    const r = await l.call('POST', '/v1/decisions', { token: l.tokens.gate, body: { claims: [claim(4)], reserve: true } });
    const id = r.body.reservation.id;
    expect((await l.call('GET', `/v1/reservations/${id}`, { token: l.tokens.gate })).body.lines).toEqual([
      { product: 'db', quantity: 4, scope: { environment: 'prod' }, resource: 'Deployment/prod/orders-db', target: 8 },
    ]);
    expect((await report(4)).body.settled).toEqual([]);
    expect(await used()).toBe(8);
    expect((await report(8)).body.settled).toEqual([id]);
    expect(await used()).toBe(8);
  });

  it('a reservation key returns the reservation it holds instead of a second; other claims under it get 409; an ended one makes way', async () => {
    l = await startTestLedger({ clock });
    const reserve = (quantity: number, extra: Record<string, unknown> = {}) =>
      l.call('POST', '/v1/decisions', {
        token: l.tokens.gate,
        body: { claims: [claim(quantity)], reserve: true, reservationKey: 'run-task:run-1', ...extra },
      });
    const first = await reserve(6);
    expect(first.body.reservation).toEqual({ id: expect.any(String), expiresAt: '2026-06-01T10:30:00.000Z' });
    // Again (a retried stage, another replica): the same reservation, decided as if it were not held, and counted once.
    const again = await reserve(6);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ allowed: true, products: [{ used: 0, requested: 6 }] });
    expect(again.body.reservation).toEqual({ ...first.body.reservation, reused: true });
    const look = await l.call('POST', '/v1/decisions', { token: l.tokens.gate, body: { claims: [claim(4, 'x')] } });
    expect(look.body.products[0]).toMatchObject({ used: 6, projected: 10 });
    const byKey = await l.call('GET', '/v1/reservations?key=run-task:run-1', { token: l.tokens.gate });
    expect(byKey.status).toBe(200);
    expect(byKey.body.reservations.map((r: { id: string; key: string }) => [r.id, r.key])).toEqual([
      [first.body.reservation.id, 'run-task:run-1'],
    ]);
    expect((await l.call('GET', '/v1/reservations?key=run-task:other', { token: l.tokens.gate })).body.reservations).toEqual([]);

    const other = await reserve(2);
    expect(other.status).toBe(409);
    expect(other.body.error.message).toMatch(
      new RegExp(`reservation key "run-task:run-1" belongs to reservation ${first.body.reservation.id}, which holds other claims`),
    );
    const noReserve = await l.call('POST', '/v1/decisions', { token: l.tokens.gate, body: { claims: [claim(1)], reservationKey: 'k' } });
    expect(noReserve.status).toBe(400);
    expect(noReserve.body.error.problems[0].message).toMatch(/goes with "reserve": true/);

    await l.call('DELETE', `/v1/reservations/${first.body.reservation.id}`, { token: l.tokens.gate });
    const anew = await reserve(2);
    expect(anew.body.reservation.id).not.toBe(first.body.reservation.id);
    expect(anew.body.reservation.reused).toBeUndefined();
    expect((await l.call('GET', '/v1/reservations?key=run-task:run-1', { token: l.tokens.gate })).body.reservations).toHaveLength(2);
  });

  it('two requests under one key in the same step make one reservation', async () => {
    l = await startTestLedger({ clock });
    const body = { claims: [claim(3)], reserve: true, reservationKey: 'job-7' };
    const [a, b] = await Promise.all([
      l.call('POST', '/v1/decisions', { token: l.tokens.gate, body }),
      l.call('POST', '/v1/decisions', { token: l.tokens.gate, body }),
    ]);
    expect(a.body.reservation.id).toBe(b.body.reservation.id);
    expect((await l.call('GET', '/v1/reservations?key=job-7', { token: l.tokens.gate })).body.reservations).toHaveLength(1);
  });

  it('warns STALE_USAGE when a source is silent past its staleAfter', async () => {
    l = await startTestLedger({ clock });
    const report = { version: 1, source: 'x', observedAt: '2026-06-01T10:00:00Z', usage: [{ product: 'db', quantity: 2 }] };
    expect((await l.call('PUT', '/v1/sources/cluster:a/usage?staleAfter=2h', { token: l.tokens.reporter, body: report })).status).toBe(200);
    const fresh = await l.call('POST', '/v1/decisions', { token: l.tokens.gate, body: { claims: [claim(1)] } });
    expect(fresh.body.warnings.map((w: { code: string }) => w.code)).not.toContain('STALE_USAGE');
    now = new Date('2026-06-01T12:00:01Z');
    const stale = await l.call('POST', '/v1/decisions', { token: l.tokens.gate, body: { claims: [claim(1)] } });
    expect(stale.body.warnings).toContainEqual(
      expect.objectContaining({ code: 'STALE_USAGE', message: expect.stringContaining('cluster:a') }),
    );
  });

  it('a stale config digest gets 409; GET /v1/config serves the one the ledger decides with', async () => {
    l = await startTestLedger({ clock });
    const cfg = await l.call('GET', '/v1/config', { token: l.tokens.gate });
    expect(cfg.body.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(cfg.body.config.products.map((p: { id: string }) => p.id)).toEqual(['db', 'os']);
    const ok = await l.call('POST', '/v1/decisions', { token: l.tokens.gate, body: { claims: [claim(1)], configDigest: cfg.body.digest } });
    expect(ok.status).toBe(200);
    const stale = await l.call('POST', '/v1/decisions', {
      token: l.tokens.gate,
      body: { claims: [claim(1)], configDigest: 'sha256:old', reserve: true },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('EG_ERR_LEDGER_CONFLICT');
    expect((await l.call('GET', '/v1/reservations', { token: l.tokens.admin })).body.reservations).toEqual([]);
  });

  it('bad bodies get 400 with every problem at its line, and nothing is recorded', async () => {
    l = await startTestLedger({ clock });
    const bad = await l.call('POST', '/v1/decisions', {
      token: l.tokens.gate,
      body: '{"claims": [\n  {"product": "nope", "quantity": 1},\n  {"product": "db", "quantity": "two"}\n], "reserve": true, "ttl": "forever"}',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('EG_ERR_INPUT_INVALID');
    expect(bad.body.error.problems.map((p: { line: number; message: string }) => `${p.line} ${p.message}`)).toEqual([
      expect.stringMatching(/^2 unknown product "nope"/),
      expect.stringMatching(/^3 claims\[1\]\.quantity/),
    ]);
    expect((await l.call('POST', '/v1/decisions', { token: l.tokens.gate, body: '{not json' })).status).toBe(400);
    expect(
      (await l.call('POST', '/v1/decisions', { token: l.tokens.gate, body: { claims: [], ttl: 'forever' } })).body.error.problems[0]
        .message,
    ).toMatch(/ttl must be a duration/);
    const badUsage = await l.call('PUT', '/v1/sources/a/usage', {
      token: l.tokens.reporter,
      body: { version: 1, usage: [{ product: 'db', quantity: -1 }] },
    });
    expect(badUsage.status).toBe(400);
    expect(badUsage.body.error.problems.length).toBe(2);
    expect((await l.call('GET', '/v1/sources', { token: l.tokens.gate })).body.sources).toEqual([]);
    expect((await l.call('GET', '/v1/reservations', { token: l.tokens.admin })).body.reservations).toEqual([]);
    expect((await l.call('GET', '/v1/reservations/nope', { token: l.tokens.gate })).status).toBe(404);
  });

  it('serves health, readiness, metrics, and an OpenAPI document naming every /v1 route', async () => {
    l = await startTestLedger({ clock });
    expect((await l.call('GET', '/readyz', { token: null })).body).toEqual({ status: 'ready', store: 'embedded' });
    await l.call('POST', '/v1/decisions', { token: l.tokens.gate, body: { claims: [claim(1)], reserve: true } });
    const metrics = await l.call('GET', '/metrics', { token: null });
    expect(metrics.body).toContain('entitlegate_ledger_decisions_total{result="allowed",reserve="true"} 1');
    const doc = await l.call('GET', '/v1/openapi.json', { token: l.tokens.gate });
    expect(doc.body.openapi).toBe('3.1.0');
    const routes = [...l.app.ledgerRoutes];
    expect(routes.length).toBeGreaterThan(8);
    const documented = Object.entries(openapi.paths).flatMap(([p, ops]) => Object.keys(ops).map((v) => `${v.toUpperCase()} ${p}`));
    expect(routes.sort()).toEqual(documented.sort());
  });
});
