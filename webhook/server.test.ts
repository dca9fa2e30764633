// The webhook over real HTTPS (a test CA made with openssl), deciding through
// the committed compiled policy: what the kube-apiserver and kubectl users see.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Gate } from './gate.ts';
import { buildServer } from './server.ts';
import { type Client, NOW, configYaml, deployment, httpsTestbed, review, scale, servedCn, usageYaml } from './test-support.ts';

const bed = httpsTestbed('webhook-1');

interface Started {
  app: FastifyInstance;
  client: Client;
  gate: Gate;
  port: number;
  logs: string[];
  files: { config: string; usage: string };
  setNow(d: Date): void;
  /** Moves the monotonic clock reservations expire on. */
  advance(ms: number): void;
}

let seq = 0;
async function start(
  o: {
    quantity?: number;
    used?: number;
    kubernetes?: string;
    extra?: string;
    reloadIntervalMs?: number;
    tls?: { cert: string; key: string };
    connections?: number;
  } = {},
): Promise<Started> {
  const dir = bed.runDir();
  const files = { config: join(dir, `entitlegate-${++seq}.yaml`), usage: join(dir, 'usage.yaml') };
  writeFileSync(files.config, configYaml(o.quantity ?? 64, o.kubernetes) + (o.extra ?? ''));
  writeFileSync(files.usage, usageYaml(o.used ?? 54));
  let now = NOW;
  let elapsed = 0;
  const gate = await Gate.create({ files: { config: files.config, usage: [files.usage] }, clock: () => now, elapsed: () => elapsed });
  const logs: string[] = [];
  const app = await buildServer({
    gate,
    tls: o.tls ?? bed.tls,
    cluster: null,
    reloadIntervalMs: o.reloadIntervalMs ?? 0,
    defaultMetrics: false,
    logger: { level: 'info', stream: { write: (line: string) => void logs.push(line) } },
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  bed.defer(() => app.close());
  const client = bed.client(address, o.connections);
  return {
    app,
    client,
    gate,
    port: Number(new URL(address).port),
    logs,
    files,
    setNow: (d) => (now = d),
    advance: (ms) => (elapsed += ms),
  };
}

const validate = (client: Client, body: unknown) => client.post('/validate', body);
const create = (name: string, cpu: string, extra: { namespace?: string; dryRun?: boolean; annotations?: Record<string, string> } = {}) =>
  review({
    operation: 'CREATE',
    object: deployment({
      name,
      cpu,
      ...(extra.namespace ? { namespace: extra.namespace } : {}),
      ...(extra.annotations ? { annotations: extra.annotations } : {}),
    }),
    ...(extra.dryRun ? { dryRun: true } : {}),
  });

describe('POST /validate over HTTPS', () => {
  it('allows a CREATE that fits, echoes the uid, and warns briefly when close to the limit', async () => {
    const { client } = await start();
    const body = create('orders', '4');
    const { status, json } = await validate(client, body);
    expect(status).toBe(200);
    expect(json.apiVersion).toBe('admission.k8s.io/v1');
    expect(json.kind).toBe('AdmissionReview');
    expect(json.response.uid).toBe((body.request as { uid: string }).uid);
    expect(json.response.allowed).toBe(true);
    expect(json.response.status).toBeUndefined();
    // 58 of 64 after the change: APPROACHING_LIMIT (warnAt 0.8)
    expect(json.response.warnings).toHaveLength(1);
    expect(json.response.warnings[0]).toMatch(/^APPROACHING_LIMIT: oracle-db-ee: 58 of 64 vcpu/);
    for (const w of json.response.warnings) expect(w.length).toBeLessThanOrEqual(120);
    expect(json.response.auditAnnotations).toMatchObject({
      decision: 'allowed',
      products: 'oracle-db-ee:54+4/64',
      warnings: 'APPROACHING_LIMIT',
    });
    // audit annotation keys are prefixed with the webhook's name by the apiserver: they must be bare names
    for (const key of Object.keys(json.response.auditAnnotations)) expect(key).toMatch(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/);
  });

  it('denies a CREATE over the entitlement with 403 and a message naming product, used, requested and capacity', async () => {
    const { client, logs } = await start();
    const { status, json } = await validate(client, create('orders', '12'));
    expect(status).toBe(200);
    expect(json.response.allowed).toBe(false);
    expect(json.response.status.code).toBe(403);
    expect(json.response.status.message).toContain('oracle-db-ee');
    expect(json.response.status.message).toContain('66 vcpu projected exceeds the 64 vcpu covered (54 used + 12 requested)');
    expect(json.response.auditAnnotations).toMatchObject({ decision: 'denied', violations: 'OVER_ENTITLEMENT:oracle-db-ee' });
    const line = logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'admission denied');
    expect(line).toMatchObject({
      result: 'denied',
      code: 'OVER_ENTITLEMENT',
      resource: 'Deployment/prod/orders',
      user: 'alice@example.com',
    });
  });

  it('charges an UPDATE by its delta against oldObject, and a DELETE frees', async () => {
    const { client } = await start();
    const old = deployment({ name: 'orders', replicas: 2, cpu: '2' });
    const up = await validate(
      client,
      review({ operation: 'UPDATE', object: deployment({ name: 'orders', replicas: 6, cpu: '2' }), oldObject: old, dryRun: true }),
    );
    expect(up.json.response.allowed).toBe(true); // 4 → 12: +8, 62 of 64
    expect(up.json.response.auditAnnotations.products).toBe('oracle-db-ee:54+8/64');
    const over = await validate(
      client,
      review({ operation: 'UPDATE', object: deployment({ name: 'orders', replicas: 8, cpu: '2' }), oldObject: old }),
    );
    expect(over.json.response.allowed).toBe(false); // +12
    expect(over.json.response.status.message).toContain('(54 used + 12 requested)');
    const same = await validate(
      client,
      review({ operation: 'UPDATE', object: { ...old, metadata: { ...(old.metadata as object), labels: { a: 'b' } } }, oldObject: old }),
    );
    expect(same.json.response).toMatchObject({ allowed: true, auditAnnotations: { products: 'oracle-db-ee:54+0/64' } });
    const del = await validate(client, review({ operation: 'DELETE', oldObject: old }));
    expect(del.json.response).toMatchObject({
      allowed: true,
      auditAnnotations: { decision: 'allowed', products: 'oracle-db-ee:54+-4/64' },
    });
  });

  it('decides a dryRun the same but never holds a reservation for it', async () => {
    const { client, gate } = await start();
    const dry = await validate(client, create('orders', '8', { dryRun: true }));
    expect(dry.json.response).toMatchObject({ allowed: true, auditAnnotations: { dryRun: 'true' } });
    const dryOver = await validate(client, create('orders', '11', { dryRun: true }));
    expect(dryOver.json.response.allowed).toBe(false);
    expect(gate.reservations.size).toBe(0);
    // had the dry run been held, 54 + 8 + 8 would exceed 64
    expect((await validate(client, create('orders', '8'))).json.response.allowed).toBe(true);
  });

  it('counts an allowed admission against the next one until its reservation expires (TTL, injected monotonic clock)', async () => {
    const { client, advance, gate } = await start();
    expect((await validate(client, create('a', '6'))).json.response.allowed).toBe(true);
    const next = await validate(client, create('b', '6'));
    expect(next.json.response.allowed).toBe(false);
    expect(next.json.response.status.message).toContain('(60 used + 6 requested)');
    expect(gate.reservations.size).toBe(1);
    advance(59_000);
    expect((await validate(client, create('b', '6'))).json.response.allowed).toBe(false);
    advance(2_000); // reservationTTLSeconds: 60
    expect((await validate(client, create('b', '6'))).json.response.allowed).toBe(true);
  });

  it('expires reservations in elapsed time, not on the decision clock: under a fixed --now they still expire, and a clock step does not', async () => {
    const { client, advance, setNow } = await start();
    expect((await validate(client, create('a', '6'))).json.response.allowed).toBe(true);
    // The decision clock jumps a day ahead (or stands still, as under --now): the reservation holds.
    setNow(new Date(NOW.getTime() + 86_400_000));
    expect((await validate(client, create('b', '6'))).json.response.allowed).toBe(false);
    setNow(NOW);
    advance(61_000);
    expect((await validate(client, create('b', '6'))).json.response.allowed).toBe(true);
  });

  it('admits exempt namespaces (kube-system by default) without evaluating', async () => {
    const { client, gate } = await start();
    const { json } = await validate(client, create('huge', '500', { namespace: 'kube-system' }));
    expect(json.response).toEqual({ uid: expect.any(String), allowed: true, auditAnnotations: { decision: 'exempt' } });
    expect(gate.reservations.size).toBe(0);
  });

  it('allows a scale it cannot size without an inventory, with a warning saying so', async () => {
    const { client } = await start();
    const { json } = await validate(client, scale('orders', 40, 2));
    expect(json.response.allowed).toBe(true);
    expect(json.response.warnings).toEqual([
      'entitlegate: scale of Deployment/prod/orders not sized: there is no cluster inventory (snapshot mode)',
    ]);
  });

  it('fails closed on an evaluation error, and open in a failOpenNamespaces namespace', async () => {
    const { client } = await start();
    // An annotation naming a product the config lacks: the engine cannot evaluate it.
    const annotations = { 'entitlegate.io/product': 'no-such-product' };
    const closed = await validate(client, create('x', '1', { annotations }));
    expect(closed.status).toBe(200);
    expect(closed.json.response.allowed).toBe(false);
    expect(closed.json.response.status.message).toMatch(/^entitlegate could not evaluate this change, so it is denied: .*no-such-product/);
    expect(closed.json.response.auditAnnotations).toEqual({ decision: 'error-denied', error: 'EG_ERR_INPUT_INVALID' });
    const open = await validate(client, create('x', '1', { namespace: 'sandbox', annotations }));
    expect(open.json.response.allowed).toBe(true);
    expect(open.json.response.warnings[0]).toMatch(/^entitlegate could not evaluate \(admitted: namespace sandbox is fail-open\)/);
    expect(open.json.response.warnings[0].length).toBeLessThanOrEqual(120);
  });

  it('answers anything that is not an AdmissionReview v1 with HTTP 400 and a JSON message, no stack trace', async () => {
    const { client } = await start();
    const cases: [string | object, Record<string, string> | undefined, RegExp][] = [
      ['{"apiVersion": ', undefined, /JSON/i],
      ['', undefined, /empty/i],
      ['[1,2]', undefined, /not an AdmissionReview: expected a JSON object/],
      [{ kind: 'Deployment', apiVersion: 'apps/v1' }, undefined, /not an AdmissionReview: kind is "Deployment"/],
      [
        { kind: 'AdmissionReview', apiVersion: 'admission.k8s.io/v1beta1', request: {} },
        undefined,
        /apiVersion "admission.k8s.io\/v1beta1" is not supported; use admission.k8s.io\/v1/,
      ],
      [{ kind: 'AdmissionReview', apiVersion: 'admission.k8s.io/v1' }, undefined, /has no request/],
      ['kind: AdmissionReview', { 'content-type': 'text/plain' }, /content-type/i],
    ];
    for (const [body, headers, message] of cases) {
      const res = await client.post('/validate', body, headers);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.message).toMatch(message);
      expect(JSON.stringify(res.json)).not.toMatch(/\bat .*\.ts:\d+|stack/);
    }
    const metrics = await client.get('/metrics');
    expect(metrics.text).toContain(`entitlegate_admission_bad_requests_total ${cases.length}`);
  });
});

describe('health and metrics', () => {
  it('serves /healthz, /readyz (snapshot mode is ready at once) and Prometheus metrics', async () => {
    const { client } = await start();
    expect(await client.get('/healthz')).toEqual({ status: 200, text: '{"status":"ok"}' });
    expect(await client.get('/readyz')).toEqual({ status: 200, text: '{"status":"ready","usage":"snapshots"}' });
    await validate(client, create('a', '2'));
    await validate(client, create('b', '40'));
    await validate(client, create('c', '1', { namespace: 'kube-system' }));
    const { status, text } = await client.get('/metrics');
    expect(status).toBe(200);
    expect(text).toContain('entitlegate_admission_decisions_total{result="allowed",code="NONE"} 1');
    expect(text).toContain('entitlegate_admission_decisions_total{result="denied",code="OVER_ENTITLEMENT"} 1');
    expect(text).toContain('entitlegate_admission_decisions_total{result="exempt",code="NONE"} 1');
    // The latency histogram records each decision (its count and a positive sum; which bucket is timing, not behaviour).
    expect(text).toMatch(/entitlegate_admission_duration_seconds_count\{result="allowed"\} 1\n/);
    expect(text).toMatch(/entitlegate_admission_duration_seconds_bucket\{le="\+Inf",result="allowed"\} 1\n/);
    expect(Number(/entitlegate_admission_duration_seconds_sum\{result="allowed"\} ([0-9.e-]+)/.exec(text)?.[1])).toBeGreaterThan(0);
    expect(text).toContain('entitlegate_product_used_vcpus{product="oracle-db-ee"} 54');
    expect(text).toContain('entitlegate_product_capacity_vcpus{product="oracle-db-ee"} 64');
    expect(text).toContain('entitlegate_entitlement_capacity_vcpus{product="oracle-db-ee",entitlement="ORA-2026",kind="entitlement"} 64');
    expect(text).toContain('entitlegate_entitlement_used_vcpus{product="oracle-db-ee",entitlement="ORA-2026",kind="entitlement"} 54');
    expect(text).toContain('entitlegate_product_reserved_vcpus{product="oracle-db-ee"} 2');
    expect(text).toContain('entitlegate_reservations 1');
    expect(text).toContain('entitlegate_ready 1');
  });

  it('keeps secrets out of the logs', async () => {
    const { app, logs } = await start();
    app.log.info(
      {
        hmacKey: 'hmac-secret',
        token: 'tok-secret',
        req: { headers: { authorization: 'Bearer abc-secret' } },
        terraform: { runTaskHmacKey: 'cfg-secret' },
      },
      'x',
    );
    const text = logs.join('');
    expect(text).toContain('[redacted]');
    expect(text).not.toMatch(/hmac-secret|tok-secret|abc-secret|cfg-secret/);
  });
});

describe('hot reload', () => {
  it('applies a good new config without a restart, and refuses a bad one loudly while the old keeps serving', async () => {
    const { client, files, logs } = await start({ reloadIntervalMs: 20 });
    expect((await validate(client, create('a', '20', { dryRun: true }))).json.response.allowed).toBe(false);
    // an atomic replace, as editors and ConfigMap updates do
    writeFileSync(`${files.config}.new`, configYaml(100));
    renameSync(`${files.config}.new`, files.config);
    await vi.waitFor(async () => expect((await validate(client, create('a', '20', { dryRun: true }))).json.response.allowed).toBe(true), {
      timeout: 5000,
      interval: 50,
    });

    writeFileSync(
      files.config,
      configYaml(100).replace('quantity: 100', 'quantity: lots').replace('model: subscription', 'model: forever'),
    );
    await vi.waitFor(() => expect(logs.some((l) => l.includes('config reload refused'))).toBe(true), { timeout: 5000, interval: 50 });
    const line = JSON.parse(logs.find((l) => l.includes('config reload refused'))!);
    expect(line.level).toBe(50);
    expect(line.problems).toMatch(new RegExp(`${files.config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+ `));
    expect(line.problems).toContain('quantity');
    expect((await validate(client, create('a', '20', { dryRun: true }))).json.response.allowed).toBe(true); // still the good config
    const metrics = (await client.get('/metrics')).text;
    expect(metrics).toContain('entitlegate_reload_failures_total{kind="config"} 1');
    expect(metrics).toContain('entitlegate_reloads_total{kind="config"} 1');
  });

  it('reloads usage snapshots too', async () => {
    const { client, files } = await start({ reloadIntervalMs: 20 });
    expect((await validate(client, create('a', '8', { dryRun: true }))).json.response.allowed).toBe(true);
    writeFileSync(files.usage, usageYaml(60));
    await vi.waitFor(async () => expect((await validate(client, create('a', '8', { dryRun: true }))).json.response.allowed).toBe(false), {
      timeout: 5000,
      interval: 50,
    });
  });

  it('serves a new TLS certificate after its files change, and keeps the old one when the new key does not match', async () => {
    const dir = bed.runDir();
    const cert = join(dir, 'tls.crt');
    const key = join(dir, 'tls.key');
    const first = bed.ca.issue('webhook-first');
    const second = bed.ca.issue('webhook-second');
    writeFileSync(cert, readFile(first.cert));
    writeFileSync(key, readFile(first.key));
    const { port, client, logs } = await start({ tls: { cert, key }, reloadIntervalMs: 20 });
    expect(await servedCn(port, bed.ca.caPem)).toBe('webhook-first');
    writeFileSync(`${cert}.tmp`, readFile(second.cert));
    writeFileSync(`${key}.tmp`, readFile(second.key));
    renameSync(`${key}.tmp`, key);
    renameSync(`${cert}.tmp`, cert);
    await vi.waitFor(async () => expect(await servedCn(port, bed.ca.caPem)).toBe('webhook-second'), { timeout: 5000, interval: 50 });
    expect((await client.get('/healthz')).status).toBe(200);

    writeFileSync(cert, readFile(first.cert)); // key of "second" stays: a mismatch
    await vi.waitFor(() => expect(logs.some((l) => l.includes('TLS reload refused'))).toBe(true), { timeout: 5000, interval: 50 });
    expect(await servedCn(port, bed.ca.caPem)).toBe('webhook-second');
    expect((await client.get('/metrics')).text).toContain('entitlegate_reload_failures_total{kind="tls"} 1');
  });
});

describe('concurrency', () => {
  it('200 concurrent CREATEs over HTTPS competing for 10 remaining vCPU admit exactly 10', async () => {
    const { client, gate } = await start({ used: 54, connections: 64 });
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => validate(client, create(`app-${i}`, '1'))));
    expect(results.every((r) => r.status === 200)).toBe(true);
    const allowed = results.filter((r) => r.json.response.allowed);
    expect(allowed).toHaveLength(10);
    expect(results.filter((r) => !r.json.response.allowed)).toHaveLength(190);
    expect(gate.reservations.active()).toEqual([{ product: 'oracle-db-ee', quantity: 10, scope: { cluster: 'eu-1', namespace: 'prod' } }]);
    // and the next one is denied too
    expect((await validate(client, create('late', '1'))).json.response.allowed).toBe(false);
  });
});

function readFile(f: string): Buffer {
  return readFileSync(f);
}

describe('HCP Terraform run task', () => {
  const signed = (body: string, key: string) => ({
    'content-type': 'application/json',
    'x-tfc-task-signature': createHmac('sha512', key).update(body).digest('hex'),
  });
  const verification = JSON.stringify({
    payload_version: 1,
    stage: 'test',
    access_token: 'test-token',
    task_result_callback_url: 'https://app.terraform.io/api/v2/task-results/t/callback',
  });

  it('is not served without terraform.runTaskHmacKey: 404, and the start log says why', async () => {
    const { client, logs } = await start();
    const res = await client.post('/terraform/run-task', verification, { 'content-type': 'application/json' });
    expect(res.status).toBe(404);
    expect(logs.join('')).toMatch(/HCP Terraform run task off: terraform\.runTaskHmacKey is not set/);
  });

  it('is served at POST /terraform/run-task with a key: signed requests only', async () => {
    const { client, logs } = await start({ extra: 'terraform:\n  runTaskHmacKey: server-test-key\n' });
    expect((await client.post('/terraform/run-task', verification, { 'content-type': 'application/json' })).status).toBe(401);
    expect((await client.post('/terraform/run-task', verification, signed(verification, 'another-key'))).status).toBe(401);
    expect((await client.post('/terraform/run-task', verification, signed(verification, 'server-test-key'))).status).toBe(200);
    expect(logs.join('')).toMatch(/HCP Terraform run task served \(signed requests only\)/);
    expect(logs.join('')).not.toContain('server-test-key');
  });

  it('reads an env:NAME key on each request: a reload rotates it; a variable gone at request time gets 500 with a clear log', async () => {
    const names = ['EG_TEST_RUN_TASK_KEY_A', 'EG_TEST_RUN_TASK_KEY_B'] as const;
    process.env[names[0]] = 'key-a';
    process.env[names[1]] = 'key-b';
    try {
      const { client, files, logs } = await start({ reloadIntervalMs: 20, extra: `terraform:\n  runTaskHmacKey: env:${names[0]}\n` });
      expect((await client.post('/terraform/run-task', verification, signed(verification, 'key-a'))).status).toBe(200);
      writeFileSync(files.config, configYaml(64) + `terraform:\n  runTaskHmacKey: env:${names[1]}\n`);
      await vi.waitFor(
        async () => expect((await client.post('/terraform/run-task', verification, signed(verification, 'key-b'))).status).toBe(200),
        { timeout: 5000, interval: 50 },
      );
      expect((await client.post('/terraform/run-task', verification, signed(verification, 'key-a'))).status).toBe(401);

      delete process.env[names[1]];
      const res = await client.post('/terraform/run-task', verification, signed(verification, 'key-b'));
      expect(res.status).toBe(500);
      expect(res.json.error).toBe('EG_ERR_CONFIG_INVALID');
      expect(logs.join('')).toContain('run task request refused: the HMAC key cannot be read; nothing fetched or called back');
      expect(logs.join('')).toContain(`reads the environment variable ${names[1]}, which is not set`);
      expect(logs.join('')).not.toMatch(/key-a|key-b/);
    } finally {
      for (const n of names) delete process.env[n];
    }
  });

  it('refuses to start when the env:NAME variable of the key is not set', async () => {
    delete process.env.EG_TEST_RUN_TASK_KEY_UNSET;
    await expect(start({ extra: 'terraform:\n  runTaskHmacKey: env:EG_TEST_RUN_TASK_KEY_UNSET\n' })).rejects.toThrow(
      /EG_TEST_RUN_TASK_KEY_UNSET, which is not set/,
    );
  });

  it('hostile requests over HTTPS: a private callback address is refused (400); a replayed task_result_id is acted on once', async () => {
    const patches: string[] = [];
    const hcp = createServer((req, res) => {
      patches.push(`${req.method} ${req.url}`);
      req.resume();
      req.on('end', () => res.writeHead(200).end());
    });
    await new Promise<void>((r) => hcp.listen(0, '127.0.0.1', r));
    const port = (hcp.address() as AddressInfo).port;
    try {
      const open = await start({ extra: 'terraform:\n  runTaskHmacKey: k\n' });
      const { app, client } = await start({ extra: "terraform:\n  runTaskHmacKey: k\n  runTaskHosts: ['127.0.0.1']\n" });
      const task = (callback: string) =>
        JSON.stringify({
          payload_version: 1,
          stage: 'pre_plan',
          access_token: 'run-token',
          task_result_id: 'taskrs-replayed',
          task_result_callback_url: callback,
        });
      const metadata = task('https://169.254.169.254/latest/meta-data/iam');
      const refused = await open.client.post('/terraform/run-task', metadata, signed(metadata, 'k'));
      expect(refused.status).toBe(400);
      expect(refused.json.message).toMatch(/169\.254\.169\.254 is a link-local address; list its host in terraform\.runTaskHosts/);

      const body = task(`http://127.0.0.1:${port}/api/v2/task-results/taskrs-replayed/callback`);
      for (let i = 0; i < 3; i++) expect((await client.post('/terraform/run-task', body, signed(body, 'k'))).status).toBe(200);
      await app.close(); // waits for the accepted task's callback
      expect(patches).toEqual(['PATCH /api/v2/task-results/taskrs-replayed/callback']);
    } finally {
      await new Promise((r) => hcp.close(r));
    }
  });

  it('passes terraform.runTaskScope to the run task (the config accepts it, and runTaskHosts)', async () => {
    const { gate } = await start({
      extra:
        'terraform:\n  runTaskHmacKey: k\n  runTaskScope: { environment: prod, account: "123456789012" }\n  runTaskHosts: [app.terraform.io]\n',
    });
    expect(gate.config.terraform.runTaskScope).toEqual({ environment: 'prod', account: '123456789012' });
    expect(gate.config.terraform.runTaskHosts).toEqual(['app.terraform.io']);
  });
});
