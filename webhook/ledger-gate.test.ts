// The webhook with a ledger: admissions over real HTTPS, decided and reserved
// at a real ledger process (its own store), each cluster's inventory (a
// kube-apiserver stand-in speaking list and watch) reported to the ledger as
// its own source.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LedgerClient } from '../ledger-client/client.ts';
import { createLedgerToken } from '../ledger/serve.ts';
import { type LedgerProcess, startLedgerProcess } from '../ledger/testing/process.ts';
import { Gate } from './gate.ts';
import { LedgerGate } from './ledger-gate.ts';
import { pooledSend } from './ledger-transport.ts';
import { buildServer } from './server.ts';
import { Client, FakeApiServer, NOW, configYaml, deployment, review, testCa, type TestCa } from './test-support.ts';
import { tempDir } from '../test/temp.ts';

let tmp: ReturnType<typeof tempDir>;
let ca: TestCa;
let tls: { cert: string; key: string };
beforeAll(() => {
  tmp = tempDir('eg-webhook-ledger-');
  ca = testCa(tmp);
  tls = ca.issue('webhook');
});

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

const DEPLOYMENTS = '/apis/apps/v1/deployments';
let seq = 0;

/** A ledger process on its own store with the 64 vCPU config, and a token with the webhook's roles (gate and reporter). */
async function startLedger(): Promise<{ ledger: LedgerProcess; token: string; admin: string; config: string; store: string }> {
  const n = ++seq;
  const config = join(tmp, `ledger-${n}.yaml`);
  writeFileSync(config, configYaml(64));
  const store = join(tmp, `ledger-${n}.db`);
  const now = new Date();
  const token = (await createLedgerToken({ store, name: 'webhook', roles: ['gate', 'reporter'], now })).token;
  const admin = (await createLedgerToken({ store, name: 'admin', roles: ['admin'], now })).token;
  const ledger = await startLedgerProcess({ config, store });
  cleanup.push(() => ledger.kill());
  return { ledger, token, admin, config, store };
}

/** One cluster (`cluster` names it) with `running` vCPU of Oracle deployed, and its webhook deciding at the ledger. */
async function startCluster(o: { cluster: string; running: number; ledgerUrl: string; token: string }) {
  const api = new FakeApiServer();
  const server = await api.listen();
  cleanup.push(() => api.close());
  api.event('ADDED', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'prod', uid: 'ns-prod' } });
  api.event('ADDED', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'sandbox', uid: 'ns-sandbox' } });
  if (o.running) api.event('ADDED', DEPLOYMENTS, deployment({ name: `base-${o.cluster}`, replicas: o.running, cpu: '1' }));
  const config = join(tmp, `webhook-${o.cluster}-${++seq}.yaml`);
  writeFileSync(config, configYaml(64).replace('cluster: eu-1', `cluster: ${o.cluster}`));
  const gate = await Gate.create({ files: { config, usage: [] }, clock: () => NOW });
  // The transport `entitlegate serve` gives its client.
  const transport = pooledSend();
  cleanup.push(() => transport.close());
  const ledger = new LedgerGate({
    client: new LedgerClient({ url: o.ledgerUrl, token: o.token, timeoutMs: 2000, send: transport.send }),
    cluster: o.cluster,
    reportDebounceMs: 20,
  });
  const app: FastifyInstance = await buildServer({
    gate,
    tls,
    ledger,
    cluster: { kubeConfig: api.kubeConfig(server), from: 'test' },
    usage: { debounceMs: 5, retryDelayMs: 50 },
    reloadIntervalMs: 0,
    defaultMetrics: false,
    logger: false,
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const client = new Client(address, ca.caPem);
  cleanup.push(async () => {
    await client.close();
    await app.close();
  });
  await vi.waitFor(async () => expect((await client.get('/readyz')).status).toBe(200), { timeout: 5000, interval: 20 });
  await vi.waitFor(() => expect(api.watchers(DEPLOYMENTS)).toBe(1), { timeout: 5000, interval: 20 });
  return { api, client, gate, ledger };
}

const create = (name: string, cpu: string, namespace = 'prod') =>
  review({ operation: 'CREATE', object: deployment({ name, cpu, namespace }) });

// biome-ignore lint/suspicious/noExplicitAny: test-only reader of JSON answers
async function adminGet(url: string, admin: string, path: string): Promise<any> {
  const res = await fetch(url + path, { headers: { authorization: `Bearer ${admin}` } });
  return res.json();
}

describe('the webhook with a ledger', { timeout: 60_000 }, () => {
  it('two clusters reserve at one ledger and together never exceed the entitlement; each reports its usage as its own source', async () => {
    const { ledger, token, admin } = await startLedger();
    const eu = await startCluster({ cluster: 'eu-1', running: 30, ledgerUrl: ledger.url, token });
    const us = await startCluster({ cluster: 'us-1', running: 20, ledgerUrl: ledger.url, token });
    // Both inventories reach the ledger as their own sources: 50 of 64 in use.
    await vi.waitFor(
      async () => {
        const { sources } = await adminGet(ledger.url, admin, '/v1/sources');
        const names = (sources as { source: string }[]).map((s) => s.source).sort();
        expect(names).toEqual(['cluster:eu-1', 'cluster:us-1']);
      },
      { timeout: 10_000, interval: 50 },
    );
    // Each cluster alone sees only its own 30 or 20 and would admit 30 more; together only 14 remain.
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? us : eu).client.post('/validate', create(`app-${i}`, '2'))),
    );
    const admitted = answers.filter((a) => a.json.response.allowed);
    expect(admitted).toHaveLength(7); // 7 × 2 = 14
    for (const a of admitted) expect(a.json.response.auditAnnotations.reservation).toMatch(/\S/);
    const denied = answers.find((a) => !a.json.response.allowed)!;
    expect(denied.json.response.auditAnnotations.violations).toBe('OVER_ENTITLEMENT:oracle-db-ee');
    const held = await adminGet(ledger.url, admin, '/v1/reservations?state=held,confirmed&limit=100');
    expect(held.reservations).toHaveLength(7);

    // An admitted Deployment appears in its cluster: the report settles its reservation, and it counts once.
    const first = answers.findIndex((a) => a.json.response.allowed);
    const cluster = first % 2 ? us : eu;
    cluster.api.event('ADDED', DEPLOYMENTS, deployment({ name: `app-${first}`, cpu: '2' }));
    await vi.waitFor(
      async () =>
        expect((await adminGet(ledger.url, admin, '/v1/reservations?state=held,confirmed&limit=100')).reservations).toHaveLength(6),
      { timeout: 10_000, interval: 50 },
    );
    expect((await eu.client.post('/validate', create('one-more', '1'))).json.response.allowed).toBe(false);
  });

  it('objects of the same name in two clusters are two resources at the ledger: both count once reported', async () => {
    const { ledger, token, admin } = await startLedger();
    const eu = await startCluster({ cluster: 'eu-1', running: 0, ledgerUrl: ledger.url, token });
    const us = await startCluster({ cluster: 'us-1', running: 0, ledgerUrl: ledger.url, token });
    expect((await eu.client.post('/validate', create('same', '30'))).json.response.allowed).toBe(true);
    expect((await us.client.post('/validate', create('same', '30'))).json.response.allowed).toBe(true);
    eu.api.event('ADDED', DEPLOYMENTS, deployment({ name: 'same', cpu: '30' }));
    us.api.event('ADDED', DEPLOYMENTS, deployment({ name: 'same', cpu: '30' }));
    // Both reports settle their own cluster's reservation...
    await vi.waitFor(
      async () => expect((await adminGet(ledger.url, admin, '/v1/reservations?state=held,confirmed&limit=100')).reservations).toEqual([]),
      { timeout: 10_000, interval: 50 },
    );
    const { overlaps } = await adminGet(ledger.url, admin, '/v1/reconciliation');
    expect(overlaps).toEqual([]);
    // ...and both count: 60 of 64 in use, 5 more do not fit.
    const more = await eu.client.post('/validate', create('x', '5'));
    expect(more.json.response.allowed).toBe(false);
    expect(more.json.response.auditAnnotations.products).toBe('oracle-db-ee:60+5/64');
  });

  it('a scale-up is settled only by a report that shows it applied, not by one sent meanwhile (a status update)', async () => {
    const { ledger, token, admin } = await startLedger();
    const eu = await startCluster({ cluster: 'eu-1', running: 0, ledgerUrl: ledger.url, token });
    const db = (replicas: number, generation: number, status: object = {}) => {
      const d = deployment({ name: 'db', replicas, cpu: '1' }) as { metadata: Record<string, unknown> };
      d.metadata.generation = generation;
      return { ...d, status };
    };
    eu.api.event('ADDED', DEPLOYMENTS, db(30, 1));
    const reportsAfter = async (n: number) =>
      vi.waitFor(() => expect(eu.ledger.stats.reports).toBeGreaterThanOrEqual(n), { timeout: 10_000, interval: 20 });
    await reportsAfter(2); // the sync's, then db's
    const up = await eu.client.post('/validate', review({ operation: 'UPDATE', object: db(40, 1), oldObject: db(30, 1) }));
    expect(up.json.response.allowed).toBe(true);
    const id = up.json.response.auditAnnotations.reservation as string;
    const state = async () => (await adminGet(ledger.url, admin, `/v1/reservations/${id}`)).state as string;
    // The old object's status changes (same generation): a report goes out with db still at 30.
    const before = eu.ledger.stats.reports;
    eu.api.event('MODIFIED', DEPLOYMENTS, db(30, 1, { readyReplicas: 29 }));
    await reportsAfter(before + 1);
    expect(await state()).toBe('held');
    // 30 reported + 10 held: 25 more do not fit (of 64); they would if the report had settled the reservation.
    expect((await eu.client.post('/validate', create('more', '25'))).json.response.allowed).toBe(false);
    // The scale-up applied (a new generation): its report settles the reservation.
    eu.api.event('MODIFIED', DEPLOYMENTS, db(40, 2));
    await vi.waitFor(async () => expect(await state()).toBe('settled'), { timeout: 10_000, interval: 50 });
  });

  it('refuses to start with a cluster but no kubernetes.cluster to name the ledger source', async () => {
    const api = new FakeApiServer();
    const server = await api.listen();
    cleanup.push(() => api.close());
    const config = join(tmp, `nameless-${++seq}.yaml`);
    writeFileSync(config, configYaml(64).replace('  cluster: eu-1\n', ''));
    const gate = await Gate.create({ files: { config, usage: [] }, clock: () => NOW });
    const ledger = new LedgerGate({ client: new LedgerClient({ url: 'http://127.0.0.1:9', token: 't' }) });
    await expect(
      buildServer({ gate, tls, ledger, cluster: { kubeConfig: api.kubeConfig(server), from: 'test' }, reloadIntervalMs: 0, logger: false }),
    ).rejects.toThrow(/set kubernetes.cluster in the config/);
  });

  it('denies from its cached standing only what cannot fit in the whole capacity, and asks the ledger before every allow', async () => {
    const { ledger, token } = await startLedger();
    const eu = await startCluster({ cluster: 'eu-1', running: 0, ledgerUrl: ledger.url, token });
    expect((await eu.client.post('/validate', create('small', '4'))).json.response.allowed).toBe(true);
    expect(eu.ledger.stats).toMatchObject({ roundTrips: 1, cachedDenials: 0 });
    // 65 vCPU cannot fit in 64 however much is freed: denied without a round trip.
    const huge = await eu.client.post('/validate', create('huge', '65'));
    expect(huge.json.response.allowed).toBe(false);
    expect(huge.json.response.status.message).toContain('more than the 64 vcpu the ledger holds for it in all');
    expect(huge.json.response.auditAnnotations.ledger).toBe('denied-from-standing');
    expect(eu.ledger.stats).toMatchObject({ roundTrips: 1, cachedDenials: 1 });
    // 61 fits the capacity but not what is held now: only the ledger can say, so it is asked (and denies).
    const over = await eu.client.post('/validate', create('over', '61'));
    expect(over.json.response.allowed).toBe(false);
    expect(eu.ledger.stats).toMatchObject({ roundTrips: 2, cachedDenials: 1 });
    const scraped = (await eu.client.get('/metrics')).text;
    expect(scraped).toContain('entitlegate_ledger_round_trips_total 2');
    expect(scraped).toContain('entitlegate_ledger_cached_denials_total 1');
    // The ledger saw exactly those two decisions.
    const metrics = await (await fetch(`${ledger.url}/metrics`)).text();
    const decided = [...metrics.matchAll(/^entitlegate_ledger_decisions_total\{[^}]*\} (\d+)$/gm)].reduce((a, m) => a + Number(m[1]), 0);
    expect(decided).toBe(2);
    // A delete needs no capacity and no round trip.
    const del = await eu.client.post('/validate', review({ operation: 'DELETE', oldObject: deployment({ name: 'small', cpu: '4' }) }));
    expect(del.json.response.allowed).toBe(true);
    expect(eu.ledger.stats.roundTrips).toBe(2);
  });

  it('the ledger unreachable: denied in an ordinary namespace, admitted with a warning in a fail-open one, nothing reserved', async () => {
    const { ledger, token, admin, config, store } = await startLedger();
    const eu = await startCluster({ cluster: 'eu-1', running: 0, ledgerUrl: ledger.url, token });
    await ledger.kill();
    const prod = await eu.client.post('/validate', create('a', '2'));
    expect(prod.json.response.allowed).toBe(false);
    expect(prod.json.response.status.message).toContain('could not be reached');
    expect(prod.json.response.auditAnnotations).toMatchObject({ decision: 'error-denied', error: 'EG_ERR_LEDGER_UNREACHABLE' });
    const sandbox = await eu.client.post('/validate', create('b', '2', 'sandbox'));
    expect(sandbox.json.response.allowed).toBe(true);
    expect(sandbox.json.response.warnings[0]).toContain('namespace sandbox is fail-open');
    // Back on the same store and port: neither admission left a reservation behind.
    const again = await startLedgerProcess({ config, store, port: Number(new URL(ledger.url).port) });
    cleanup.push(() => again.kill());
    expect((await adminGet(again.url, admin, '/v1/reservations?state=held,confirmed&limit=100')).reservations).toEqual([]);
    expect((await eu.client.post('/validate', create('c', '2'))).json.response.allowed).toBe(true);
  });
});
