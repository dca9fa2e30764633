// The real entitlegate webhook server, started in-process (buildServer) for
// end-to-end tests: TLS from the control plane's CA, live usage from
// informers on the real API server (admin kubeconfig), optionally shared
// reservations in Leases. Plus the bits the e2e tests share.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest, Agent } from 'node:https';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Deployment, V1ReplicaSet, V1RuleWithOperations } from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { FastifyInstance } from 'fastify';
import { standingReport } from '../../engine/report.ts';
import { Gate } from '../../webhook/gate.ts';
import { buildServer } from '../../webhook/server.ts';
import type { ControlPlane } from './controlplane.ts';

export const CPU_PER_POD = '1';

/**
 * The rules of the shipped examples/kubernetes/webhook.yaml, so that the e2e
 * suite proves what users install: a subresource missing there (a bare
 * ReplicaSet's /scale) is a change the API server never sends us.
 */
export function shippedWebhookRules(): V1RuleWithOperations[] {
  const file = join(import.meta.dirname, '..', '..', 'examples', 'kubernetes', 'webhook.yaml');
  const config = parse(readFileSync(file, 'utf8')) as { webhooks: { rules: V1RuleWithOperations[] }[] };
  return config.webhooks[0]!.rules;
}

/** A config with one vCPU product per id (image registry.example/<id>:*), each with `capacity` vCPU. */
export function e2eConfig(products: Record<string, number>, kubernetes = ''): string {
  const ids = Object.keys(products);
  return `version: 1
defaults:
  warnAt: 0.95
products:
${ids
  .map(
    (id) => `  - id: ${id}
    vendor: Acme
    name: ${id}
    metric: vcpu
    match:
      kubernetes:
        images: ["registry.example/${id}:*"]`,
  )
  .join('\n')}
entitlements:
${ids
  .map(
    (id) => `  - id: ${id.toUpperCase()}-1
    product: ${id}
    model: subscription
    quantity: ${products[id]}
    validFrom: 2020-01-01
    validUntil: 2099-12-31
    owner: licences@example.com`,
  )
  .join('\n')}
kubernetes:
  cluster: e2e
  reservationTTLSeconds: 60
${kubernetes}`;
}

/** A Deployment of `replicas` pods, each with one container of `product`'s image and 1 vCPU limit. */
export function licensedDeployment(name: string, product: string, replicas: number, namespace?: string): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, ...(namespace ? { namespace } : {}) },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name: 'db', image: `registry.example/${product}:1.0`, resources: { limits: { cpu: CPU_PER_POD } } }],
        },
      },
    },
  };
}

/** A bare ReplicaSet (no Deployment owns it) of `replicas` licensed pods, as licensedDeployment. */
export function licensedReplicaSet(name: string, product: string, replicas: number): V1ReplicaSet {
  const { spec } = licensedDeployment(name, product, replicas);
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name },
    spec: { replicas, selector: spec!.selector, template: spec!.template },
  };
}

export interface Entitlegate {
  app: FastifyInstance;
  gate: Gate;
  /** https://127.0.0.1:<port> */
  url: string;
  port: number;
  caPem: string;
  stop(): Promise<void>;
  post(path: string, body: unknown): Promise<{ status: number; json: any }>;
  get(path: string): Promise<{ status: number; text: string }>;
  /** The value of a metric line (exact name with labels), or undefined. */
  metric(line: string): Promise<number | undefined>;
}

export interface StartOptions {
  name: string;
  config: string;
  /** Lease namespace for shared reservations; absent: in-memory reservations. */
  shared?: { namespace: string; replica: string };
  /** Listen on this port (to restart on the same URL). Default: any free port. */
  port?: number;
  /** serve --client-ca: POST /validate answers only clients with a certificate this CA bundle signed. */
  clientCa?: string;
}

/** Starts the real webhook server in this process and waits until its inventory has synced. */
export async function startEntitlegate(cp: ControlPlane, opts: StartOptions): Promise<Entitlegate> {
  const dir = mkdtempSync(join(tmpdir(), `eg-e2e-${opts.name}-`));
  const configPath = join(dir, 'entitlegate.yaml');
  writeFileSync(configPath, opts.config);
  const tls = await cp.issueServingCert(opts.name, ['127.0.0.1', 'localhost']);
  const gate = await Gate.create({ files: { config: configPath, usage: [] }, clock: () => new Date() });
  const app = await buildServer({
    gate,
    tls: { cert: tls.certPath, key: tls.keyPath, ...(opts.clientCa ? { clientCa: opts.clientCa } : {}) },
    cluster: { kubeConfig: cp.kubeConfig(), from: 'e2e admin kubeconfig' },
    sharedReservations: opts.shared ?? null,
    usage: { debounceMs: 20, retryDelayMs: 500 },
    logger: process.env.ENTITLEGATE_E2E_LOG ? { level: process.env.ENTITLEGATE_E2E_LOG } : false,
    reloadIntervalMs: 0,
    defaultMetrics: false,
  });
  await app.listen({ port: opts.port ?? 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  const url = `https://127.0.0.1:${port}`;
  const agent = new Agent({ ca: cp.caPem, keepAlive: true, maxSockets: 64 });
  const call = (method: string, path: string, body?: unknown) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = httpsRequest(
        `${url}${path}`,
        { method, agent, headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {} },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  let stopped = false;
  const eg: Entitlegate = {
    app,
    gate,
    url,
    port,
    caPem: cp.caPem,
    async stop() {
      if (stopped) return;
      stopped = true;
      agent.destroy();
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
    async post(path, body) {
      const r = await call('POST', path, body);
      return { status: r.status, json: JSON.parse(r.text) };
    },
    get: (path) => call('GET', path),
    async metric(line) {
      const { text } = await call('GET', '/metrics');
      for (const l of text.split('\n')) if (l.startsWith(`${line} `)) return Number(l.slice(line.length + 1));
      return undefined;
    },
  };
  try {
    await eventually(async () => ((await eg.get('/readyz')).status === 200 ? true : undefined), 60_000, `${opts.name} /readyz`);
  } catch (err) {
    await eg.stop();
    throw err;
  }
  return eg;
}

/** Polls until fn returns something other than undefined. */
export async function eventually<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`${what} not met within ${timeoutMs} ms${last ? `; last error: ${String((last as Error).message ?? last)}` : ''}`);
    await sleep(100);
  }
}

/** The body of a @kubernetes/client-node ApiException as text (the API server's Status JSON). */
export function errorBody(err: unknown): string {
  const body = (err as { body?: unknown } | null)?.body;
  return typeof body === 'string' ? body : JSON.stringify(body ?? String(err));
}

/** What the engine counts for a product now (cluster inventory plus snapshots; reservations not included). */
export function usedBy(eg: Entitlegate, product: string): number {
  return standingReport(eg.gate.engine, new Date()).products.find((p) => p.product === product)?.used ?? 0;
}

/** A CREATE AdmissionReview for a Deployment, as the API server would send it (uid set, as after BeforeCreate). */
export function createReview(d: V1Deployment, opts: { dryRun?: boolean } = {}): Record<string, unknown> {
  const object = { ...d, metadata: { ...d.metadata, uid: randomUUID(), creationTimestamp: new Date().toISOString() } };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      requestKind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      requestResource: { group: 'apps', version: 'v1', resource: 'deployments' },
      name: d.metadata?.name,
      namespace: d.metadata?.namespace,
      operation: 'CREATE',
      userInfo: { username: 'e2e' },
      object,
      oldObject: null,
      dryRun: !!opts.dryRun,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  };
}

/**
 * A TCP round-robin in front of several webhook replicas, like a Service:
 * each new connection goes to the next backend (TLS passes through; the
 * replicas' certificates are signed by the same CA for 127.0.0.1).
 */
export async function roundRobin(ports: number[]): Promise<{ port: number; connections: number[]; close(): Promise<void> }> {
  const connections = ports.map(() => 0);
  const sockets = new Set<Socket>();
  let next = 0;
  const server: Server = createServer((client) => {
    const i = next++ % ports.length;
    connections[i]!++;
    const upstream = connect(ports[i]!, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
