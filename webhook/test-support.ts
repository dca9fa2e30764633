// Test support for the webhook: a CA and server certificates made with the
// openssl CLI in a temp dir, an HTTPS client trusting that CA, a
// kube-apiserver stand-in speaking list and watch over a real socket (the
// adapter's, re-exported), and
// AdmissionReview builders. Test-only; nothing here is used by the server.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { Agent, request } from 'undici';
import { afterEach, beforeAll } from 'vitest';
import { tempDir } from '../test/temp.ts';

export const ORACLE = 'container-registry.oracle.com/database/enterprise:21.3.0.0';
export const NOW = new Date('2026-11-28T10:00:00Z');

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: 'pipe' });

export interface TestCa {
  dir: string;
  ca: string;
  caPem: Buffer;
  /** Issues a server certificate for localhost / 127.0.0.1 with this CN; returns the cert and key paths. */
  issue(cn: string, name?: string): { cert: string; key: string };
  /** Issues a client certificate (extendedKeyUsage clientAuth), as the kube-apiserver presents one. */
  issueClient(cn: string, name?: string): { cert: string; key: string; certPem: Buffer; keyPem: Buffer };
}

/** A throw-away CA (openssl, in a temp dir that the caller removes); `prefix` names its files, for a second CA in one dir. */
export function testCa(dir: string, prefix = 'ca'): TestCa {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${prefix}.key`,
      '-out',
      `${prefix}.crt`,
      '-days',
      '2',
      '-subj',
      `/CN=entitlegate test ${prefix}`,
    ],
    dir,
  );
  const caPem = readFileSync(join(dir, `${prefix}.crt`));
  const sign = (cn: string, name: string, ext: string) => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${prefix}.crt`,
        '-CAkey',
        `${prefix}.key`,
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
      ],
      dir,
    );
    return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  };
  return {
    dir,
    ca: join(dir, `${prefix}.crt`),
    caPem,
    issue: (cn, name = cn) => sign(cn, name, 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'),
    issueClient(cn, name = cn) {
      const files = sign(cn, name, 'extendedKeyUsage=clientAuth\n');
      return { ...files, certPem: readFileSync(files.cert), keyPem: readFileSync(files.key) };
    },
  };
}

/** What a test file that serves over HTTPS shares; see `httpsTestbed`. */
export interface Testbed {
  /** The file's temp dir (removed after its last test). */
  readonly dir: string;
  readonly ca: TestCa;
  /** A server certificate for localhost, issued by `ca`. */
  readonly tls: { cert: string; key: string };
  /** A fresh folder under `dir` for one server's files. */
  runDir(): string;
  /** Runs `close` after the current test (last registered, first run), pass or fail. */
  defer(close: () => Promise<void> | void): void;
  /** A client of `base` trusting `ca`, closed after the current test. */
  client(base: string, connections?: number, identity?: { certPem: Buffer; keyPem: Buffer }): Client;
}

/**
 * Registers the hooks every webhook test file needs (call it once, at the top
 * of the file): a temp dir and a CA with a server certificate named `cn`,
 * made before the file's tests and removed after them, and servers and
 * clients closed after each test, so no test leaks a socket or a folder.
 */
export function httpsTestbed(cn = 'webhook', prefix?: string): Testbed {
  let tmp: string | undefined;
  let ca: TestCa | undefined;
  let tls: { cert: string; key: string } | undefined;
  let closers: (() => Promise<void> | void)[] = [];
  let runs = 0;
  const ready = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('httpsTestbed: used outside a test (its beforeAll has not run)');
    return v;
  };
  beforeAll(() => {
    tmp = tempDir(prefix);
    ca = testCa(tmp);
    tls = ca.issue(cn);
  });
  afterEach(async () => {
    const todo = closers.reverse();
    closers = [];
    for (const close of todo) await close();
  });
  const bed: Testbed = {
    get dir() {
      return ready(tmp);
    },
    get ca() {
      return ready(ca);
    },
    get tls() {
      return ready(tls);
    },
    runDir() {
      const dir = join(bed.dir, `run-${++runs}`);
      mkdirSync(dir);
      return dir;
    },
    defer(close) {
      closers.push(close);
    },
    client(base, connections, identity) {
      const c = new Client(base, bed.ca.caPem, connections, identity);
      bed.defer(() => c.close());
      return c;
    },
  };
  return bed;
}

/** An HTTPS client that trusts only the test CA. */
export class Client {
  readonly agent: Agent;
  readonly base: string;
  /** `identity`: the client certificate and key to present (as the kube-apiserver does with a kubeconfig). */
  constructor(base: string, caPem: Buffer, connections = 16, identity?: { certPem: Buffer; keyPem: Buffer }) {
    this.base = base;
    const mine = identity ? { cert: identity.certPem, key: identity.keyPem } : {};
    this.agent = new Agent({ connect: { ca: caPem, servername: 'localhost', ...mine }, connections });
  }
  async post(
    path: string,
    body: unknown,
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ): Promise<{ status: number; json: any }> {
    const res = await request(`${this.base}${path}`, {
      method: 'POST',
      dispatcher: this.agent,
      headers,
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, json: text ? JSON.parse(text) : undefined };
  }
  async get(path: string): Promise<{ status: number; text: string }> {
    const res = await request(`${this.base}${path}`, { dispatcher: this.agent });
    return { status: res.statusCode, text: await res.body.text() };
  }
  close(): Promise<void> {
    return this.agent.close();
  }
}

/** The CN of the certificate a fresh TLS connection is served. */
export function servedCn(port: number, caPem: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: caPem, servername: 'localhost' }, () => {
      const cn = socket.getPeerCertificate().subject?.CN;
      socket.end();
      resolve(String(cn));
    });
    socket.on('error', reject);
  });
}

export interface DeploymentSpec {
  name: string;
  namespace?: string;
  replicas?: number;
  cpu?: string;
  uid?: string;
  annotations?: Record<string, string>;
}

export function deployment(d: DeploymentSpec): Record<string, unknown> {
  const metadata: Record<string, unknown> = { name: d.name, namespace: d.namespace ?? 'prod', uid: d.uid ?? `uid-${d.name}` };
  if (d.annotations) metadata.annotations = d.annotations;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata,
    spec: {
      replicas: d.replicas ?? 1,
      selector: { matchLabels: { app: d.name } },
      template: {
        metadata: { labels: { app: d.name } },
        spec: { containers: [{ name: 'db', image: ORACLE, resources: { limits: { cpu: d.cpu ?? '1' } } }] },
      },
    },
  };
}

export interface ReviewSpec {
  operation: 'CREATE' | 'UPDATE' | 'DELETE';
  object?: Record<string, unknown>;
  oldObject?: Record<string, unknown>;
  dryRun?: boolean;
  subResource?: string;
  kind?: { group: string; version: string; kind: string };
  resource?: { group: string; version: string; resource: string };
  name?: string;
  namespace?: string;
  uid?: string;
}

export function review(r: ReviewSpec): Record<string, unknown> {
  const subject = (r.object ?? r.oldObject ?? {}) as { metadata?: { name?: string; namespace?: string } };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: r.uid ?? randomUUID(),
      kind: r.kind ?? { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: r.resource ?? { group: 'apps', version: 'v1', resource: 'deployments' },
      ...(r.subResource ? { subResource: r.subResource } : {}),
      name: r.name ?? subject.metadata?.name,
      namespace: r.namespace ?? subject.metadata?.namespace,
      operation: r.operation,
      userInfo: { username: 'alice@example.com', groups: ['system:authenticated'] },
      object: r.object ?? null,
      oldObject: r.oldObject ?? null,
      dryRun: r.dryRun ?? false,
      options: null,
    },
  };
}

export function scale(
  name: string,
  replicas: number,
  oldReplicas: number,
  namespace = 'prod',
  resource = 'deployments',
): Record<string, unknown> {
  const s = (n: number) => ({
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: { name, namespace },
    spec: { replicas: n },
    status: { replicas: oldReplicas },
  });
  return review({
    operation: 'UPDATE',
    subResource: 'scale',
    kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
    resource: { group: 'apps', version: 'v1', resource },
    name,
    namespace,
    object: s(replicas),
    oldObject: s(oldReplicas),
  });
}

export { FakeApiServer } from '../adapters/kubernetes/testing/fake-api-server.ts';

/** A config with one vCPU product and one entitlement of `quantity`, plus Kubernetes settings. */
export function configYaml(quantity = 64, kubernetes = '  failOpenNamespaces: [sandbox]\n  reservationTTLSeconds: 60\n'): string {
  return `version: 1
products:
  - id: oracle-db-ee
    vendor: Oracle
    name: Oracle Database Enterprise Edition
    metric: vcpu
    match:
      kubernetes:
        images: ["container-registry.oracle.com/database/enterprise*"]
entitlements:
  - id: ORA-2026
    product: oracle-db-ee
    model: subscription
    quantity: ${quantity}
    validFrom: 2026-01-01
    validUntil: 2026-12-31
    owner: dba-team@example.com
kubernetes:
  cluster: eu-1
${kubernetes}`;
}

export function usageYaml(quantity: number): string {
  return `version: 1
source: sam-export
observedAt: 2026-11-28T06:00:00Z
usage:
  - product: oracle-db-ee
    quantity: ${quantity}
    scope: { cluster: eu-1 }
`;
}
