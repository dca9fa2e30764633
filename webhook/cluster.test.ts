// The informer path: the server takes live usage from a kube-apiserver
// stand-in that speaks list and watch over a real socket; admissions over
// real HTTPS; the compiled policy decides.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { describe, expect, it, vi } from 'vitest';
import { Gate } from './gate.ts';
import { buildServer } from './server.ts';
import { type Client, FakeApiServer, httpsTestbed, NOW, configYaml, deployment, review, scale, usageYaml } from './test-support.ts';

const bed = httpsTestbed();

const DEPLOYMENTS = '/apis/apps/v1/deployments';

async function start(o: { holdLists?: Promise<void> } = {}) {
  const api = new FakeApiServer();
  if (o.holdLists) api.holdLists = o.holdLists;
  const server = await api.listen();
  bed.defer(() => api.close());
  api.event('ADDED', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'prod', uid: 'ns-prod' } });
  // 50 vCPU already running in the cluster; the snapshot adds 4 from elsewhere: 10 of 64 remain
  api.event('ADDED', DEPLOYMENTS, deployment({ name: 'big', replicas: 50, cpu: '1' }));
  const dir = bed.runDir();
  const files = { config: join(dir, 'cluster.yaml'), usage: join(dir, 'cluster-usage.yaml') };
  writeFileSync(files.config, configYaml(64));
  writeFileSync(files.usage, usageYaml(4).replace('scope: { cluster: eu-1 }', 'scope: { cluster: elsewhere }'));
  const gate = await Gate.create({ files: { config: files.config, usage: [files.usage] }, clock: () => NOW });
  const app: FastifyInstance = await buildServer({
    gate,
    tls: bed.tls,
    cluster: { kubeConfig: api.kubeConfig(server), from: 'test' },
    usage: { debounceMs: 5, retryDelayMs: 50 },
    reloadIntervalMs: 0,
    defaultMetrics: false,
    logger: false,
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  bed.defer(() => app.close());
  const client = bed.client(address);
  return { api, app, client, gate };
}

const create = (name: string, cpu: string, replicas = 1) => review({ operation: 'CREATE', object: deployment({ name, cpu, replicas }) });
const allowed = async (client: Client, body: unknown) => (await client.post('/validate', body)).json.response.allowed as boolean;

describe('live usage from the cluster inventory', () => {
  it('turns /readyz ready only after the first sync, and denies admissions until then', async () => {
    let release!: () => void;
    const { client } = await start({ holdLists: new Promise((r) => (release = r)) });
    const before = await client.get('/readyz');
    expect(before.status).toBe(503);
    expect(JSON.parse(before.text)).toMatchObject({ status: 'not ready', usage: 'cluster' });
    const early = await client.post('/validate', create('a', '1'));
    expect(early.json.response.allowed).toBe(false);
    expect(early.json.response.status.message).toContain('not ready: cluster inventory not yet synced');
    expect((await client.get('/healthz')).status).toBe(200);
    release();
    await vi.waitFor(async () => expect((await client.get('/readyz')).text).toBe('{"status":"ready","usage":"cluster"}'), {
      timeout: 5000,
      interval: 20,
    });
    expect((await client.get('/metrics')).text).toContain('entitlegate_product_used_vcpus{product="oracle-db-ee"} 54');
  });

  it('holds a reservation until the watch delivers the object, then counts the object once', async () => {
    const { api, client, gate } = await start();
    await vi.waitFor(async () => expect((await client.get('/readyz')).status).toBe(200), { timeout: 5000, interval: 20 });
    await vi.waitFor(() => expect(api.watchers(DEPLOYMENTS)).toBe(1), { timeout: 5000, interval: 20 });
    expect(await allowed(client, create('orders', '6'))).toBe(true); // 54 + 6
    expect(await allowed(client, create('other', '5'))).toBe(false); // 60 reserved + 5 > 64
    expect(gate.reservations.size).toBe(1);

    api.event('ADDED', DEPLOYMENTS, deployment({ name: 'orders', cpu: '6' }));
    await vi.waitFor(() => expect(gate.reservations.size).toBe(0), { timeout: 5000, interval: 10 });
    const metrics = (await client.get('/metrics')).text;
    expect(metrics).toContain('entitlegate_product_used_vcpus{product="oracle-db-ee"} 60');
    expect(metrics).toContain('entitlegate_reservations 0');
    // counted once: 60 + 4 fits exactly, 60 + 5 does not
    expect(await allowed(client, review({ operation: 'CREATE', object: deployment({ name: 'x', cpu: '4' }), dryRun: true }))).toBe(true);
    expect(await allowed(client, create('y', '5'))).toBe(false);
  });

  it('sizes a scale from its parent in the inventory', async () => {
    const { client } = await start();
    await vi.waitFor(async () => expect((await client.get('/readyz')).status).toBe(200), { timeout: 5000, interval: 20 });
    const up = await client.post('/validate', scale('big', 58, 50));
    expect(up.json.response.allowed).toBe(true);
    expect(up.json.response.auditAnnotations.products).toBe('oracle-db-ee:54+8/64');
    const over = await client.post('/validate', scale('big', 70, 58));
    expect(over.json.response.allowed).toBe(false); // 58 → 70: +12 on top of the +8 held
    expect(over.json.response.status.message).toContain('(62 used + 12 requested)');
    const down = await client.post('/validate', scale('big', 10, 50));
    expect(down.json.response).toMatchObject({ allowed: true, auditAnnotations: { products: 'oracle-db-ee:62+-40/64' } });
  });
});
