// The Helm chart (deploy/chart) installed into a real kube-apiserver: `helm
// lint`, then the rendered manifests applied object by object with
// server-side apply, as `helm install --server-side` or a GitOps tool would,
// and every object read back. Two releases: one with the chart's own
// certificate and all monitoring objects, one with cert-manager. The CRD kinds
// (ServiceMonitor, PrometheusRule, cert-manager's Issuer and Certificate) are
// applied against minimal CRDs that accept any spec: that proves their group,
// version, kind, names and namespaces, not their specs. Then the
// ValidatingWebhookConfiguration is shown live: its namespace selector, opt-out
// label and matchConditions decide which requests reach the webhook. Its
// Service has no pods here and a service name would be resolved through DNS
// off this machine, so the webhook configurations are applied as rendered with
// dryRun (fully validated, not stored), their service reference is checked
// against the chart's Service, and the one stored for real points, with its
// rules, selectors and conditions unchanged, at a stub on loopback.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  type KubeConfig,
  type KubernetesObject,
  PatchStrategy,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { toolCacheDir } from '../../engine/policy/compile.ts';
import { cliProcess, ROOT } from '../cli-harness.ts';
import { controlPlaneUnavailable, startControlPlane, type ControlPlane } from './controlplane.ts';
import { eventually, licensedDeployment } from './entitlegate.ts';

const CHART = join(ROOT, 'deploy', 'chart');

function helmPath(): string | undefined {
  if (process.env.ENTITLEGATE_HELM) return process.env.ENTITLEGATE_HELM;
  const version = /^HELM_VERSION=(\S+)/m.exec(readFileSync(join(ROOT, 'scripts', 'versions.env'), 'utf8'))?.[1];
  const path = join(toolCacheDir(), 'go', `helm-${version}`, 'bin', 'helm');
  return spawnSync(path, ['version'], { stdio: 'ignore' }).status === 0 ? path : undefined;
}

const helm = helmPath();
const unavailable = controlPlaneUnavailable() ?? (helm ? undefined : 'helm is not installed (scripts/install-helm.sh)');
if (unavailable) {
  if (process.env.ENTITLEGATE_E2E_REQUIRE) throw new Error(`e2e chart test required but unavailable: ${unavailable}`);
  console.warn(`skipping e2e chart tests: ${unavailable}`);
}

function run(args: string[]): string {
  const r = spawnSync(helm!, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`helm ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A CRD for `kind` that accepts any spec: enough for the API server to store the chart's objects of that kind. */
function minimalCrd(group: string, kind: string, plural: string): KubernetesObject & Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } },
          },
        },
      ],
    },
  };
}

const CRDS = [
  minimalCrd('monitoring.coreos.com', 'ServiceMonitor', 'servicemonitors'),
  minimalCrd('monitoring.coreos.com', 'PrometheusRule', 'prometheusrules'),
  minimalCrd('cert-manager.io', 'Certificate', 'certificates'),
  minimalCrd('cert-manager.io', 'Issuer', 'issuers'),
];

describe.skipIf(unavailable !== undefined)('the Helm chart in a real kube-apiserver', () => {
  let cp: ControlPlane | undefined;
  let kc: KubeConfig;
  let objects: KubeObjectApi;
  let dir: string;
  const applied: KubernetesObject[] = [];

  type KubeObjectApi = KubernetesObjectApi;
  const apply = (obj: KubernetesObject, dryRun?: 'All') =>
    objects.patch(obj, undefined, dryRun, 'entitlegate-e2e', true, PatchStrategy.ServerSideApply);
  let stub: Stub;

  beforeAll(async () => {
    cp = await startControlPlane();
    kc = cp.kubeConfig();
    objects = KubernetesObjectApi.makeApiClient(kc);
    dir = mkdtempSync(join(tmpdir(), 'eg-chart-'));
    stub = await startStub(cp);
  }, 180_000);
  afterAll(async () => {
    await stub?.close();
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('passes helm lint --strict, and its schema refuses a wrong value', () => {
    expect(run(['lint', '--strict', CHART])).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    const bad = spawnSync(helm!, ['template', 'x', CHART, '--set', 'webhook.failurePolicy=Sometimes'], { encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('failurePolicy');
  });

  it('every object of two releases is accepted by server-side apply and reads back', async () => {
    // Release 1: the example config and usage, the chart's own certificate, every optional object.
    const values = join(dir, 'values.yaml');
    writeFileSync(
      values,
      JSON.stringify({
        config: parse(readFileSync(join(ROOT, 'examples', 'entitlegate.yaml'), 'utf8')),
        usage: { 'usage.yaml': parse(readFileSync(join(ROOT, 'examples', 'usage.yaml'), 'utf8')) },
        webhook: { optOutLabel: 'entitlegate.io/skip' },
        metrics: { serviceMonitor: { enabled: true }, prometheusRule: { enabled: true }, grafanaDashboard: { enabled: true } },
      }),
    );
    const first = run(['template', 'eg', CHART, '--namespace', 'eg-system', '--values', values]);
    // Release 2: cert-manager issues the certificate; Ignore, so it never blocks the checks below.
    const second = run([
      'template',
      'other',
      CHART,
      '--namespace',
      'other-system',
      '--set',
      'certManager.enabled=true',
      '--set',
      'webhook.failurePolicy=Ignore',
    ]);
    const docs = [...parseAllDocuments(first), ...parseAllDocuments(second)]
      .map((d) => d.toJSON() as (KubernetesObject & Record<string, unknown>) | null)
      .filter((d): d is KubernetesObject & Record<string, unknown> => !!d);
    const kinds = new Set(docs.map((d) => d.kind));
    for (const kind of [
      'Deployment',
      'PodDisruptionBudget',
      'Service',
      'ServiceAccount',
      'ClusterRole',
      'ClusterRoleBinding',
      'Role',
      'RoleBinding',
      'ConfigMap',
      'Secret',
      'ValidatingWebhookConfiguration',
      'Certificate',
      'Issuer',
      'ServiceMonitor',
      'PrometheusRule',
    ])
      expect(kinds, kind).toContain(kind);
    // The chart sends the kube-apiserver the same requests as the example webhook (examples/kubernetes/webhook.yaml).
    const example = parse(readFileSync(join(ROOT, 'examples', 'kubernetes', 'webhook.yaml'), 'utf8')) as {
      webhooks: { rules: unknown[] }[];
    };
    for (const d of docs.filter((x) => x.kind === 'ValidatingWebhookConfiguration')) {
      expect((d as unknown as { webhooks: { rules: unknown[] }[] }).webhooks[0]!.rules, d.metadata?.name).toEqual(
        example.webhooks[0]!.rules,
      );
    }

    const ext = kc.makeApiClient(ApiextensionsV1Api);
    for (const crd of CRDS) await apply(crd);
    for (const crd of CRDS)
      await eventually(async () => {
        const c = await ext.readCustomResourceDefinition({ name: crd.metadata!.name! });
        return c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True') ? true : undefined;
      });
    const core = kc.makeApiClient(CoreV1Api);
    for (const name of ['eg-system', 'other-system', 'workloads']) await core.createNamespace({ body: { metadata: { name } } });

    // Webhook configurations last, as Helm orders them: the workloads they guard come first.
    const isWebhook = (d: KubernetesObject) => d.kind === 'ValidatingWebhookConfiguration';
    const refused: string[] = [];
    const tryApply = async (doc: KubernetesObject, dryRun?: 'All') => {
      try {
        return await apply(doc, dryRun);
      } catch (err) {
        refused.push(`${doc.kind}/${doc.metadata?.name}: ${String((err as { body?: unknown }).body ?? err)}`);
        return undefined;
      }
    };
    for (const doc of docs.filter((d) => !isWebhook(d))) {
      const stored = await tryApply(doc);
      if (stored) applied.push(stored);
    }
    for (const doc of docs.filter(isWebhook)) {
      const stored = await tryApply(doc, 'All');
      if (stored) applied.push(stored);
    }
    expect(refused).toEqual([]);
    expect(applied).toHaveLength(docs.length);

    // Each webhook calls its own release's Service, on the port and path it serves.
    for (const vwc of docs.filter(isWebhook) as unknown as WebhookConfiguration[]) {
      const ref = vwc.webhooks[0]!.clientConfig.service!;
      const service = docs.find(
        (d) => d.kind === 'Service' && d.metadata?.name === ref.name && d.metadata?.namespace === ref.namespace,
      ) as unknown as { spec: { ports: { port: number }[] } } | undefined;
      expect(service, `${vwc.metadata.name} → ${ref.namespace}/${ref.name}`).toBeDefined();
      expect(service!.spec.ports.map((p) => p.port)).toContain(ref.port);
      expect(ref.path).toBe('/validate');
    }
    // Release 1's webhook for real, pointing at the stub; everything else as rendered.
    const live = structuredClone(
      docs.find((d) => isWebhook(d) && d.metadata?.name === 'eg-entitlegate'),
    ) as unknown as WebhookConfiguration;
    live.webhooks[0]!.clientConfig = { url: stub.url, caBundle: Buffer.from(cp!.caPem).toString('base64') };
    expect(await tryApply(live as unknown as KubernetesObject)).toBeDefined();
    expect(refused).toEqual([]);

    for (const doc of docs.filter((d) => !isWebhook(d))) {
      const back = await objects.read({
        apiVersion: doc.apiVersion!,
        kind: doc.kind!,
        metadata: { name: doc.metadata!.name!, namespace: doc.metadata?.namespace },
      });
      expect(back.metadata?.uid, `${doc.kind}/${doc.metadata?.name}`).toBeTruthy();
    }
    // What was stored is what the chart says (the API server did not drop or default away the essentials).
    const deployment = applied.find((o) => o.kind === 'Deployment' && o.metadata?.namespace === 'eg-system') as unknown as {
      spec: { replicas: number; template: { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } } };
    };
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    const pod = deployment.spec.template.spec;
    expect(pod.priorityClassName).toBe('system-cluster-critical');
    expect(pod.affinity).toHaveProperty('podAntiAffinity');
    const container = pod.containers[0]!;
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(container.readinessProbe).toMatchObject({ httpGet: { path: '/readyz', scheme: 'HTTPS' } });
    expect(container.livenessProbe).toMatchObject({ httpGet: { path: '/healthz', scheme: 'HTTPS' } });
    expect(container.resources).toHaveProperty('requests');
    expect(container.lifecycle).toEqual({ preStop: { sleep: { seconds: 5 } } });
    expect(container.args).toContain('--usage=/etc/entitlegate/config/usage.yaml');
  });

  it('the ConfigMap holds a config the CLI accepts', () => {
    const cm = applied.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'eg-entitlegate-config') as unknown as {
      data: Record<string, string>;
    };
    for (const [name, text] of Object.entries(cm.data)) writeFileSync(join(dir, name), text);
    const r = cliProcess(['validate', '--config', join(dir, 'entitlegate.yaml')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('the webhook is live: workloads reach it, except in excluded namespaces, opted-out objects, kubelets and workload controllers', async () => {
    // The stub refuses every request that reaches it.
    const tryCreate = (namespace: string, opts: { user?: string; labels?: Record<string, string> } = {}) => {
      const body = licensedDeployment(`probe-${Math.random().toString(36).slice(2, 8)}`, 'oracle-db-ee', 1);
      if (opts.labels) body.metadata!.labels = opts.labels;
      return rawCreate(cp!, namespace, body, opts.user);
    };
    const reached = await eventually(
      async () => {
        const r = await tryCreate('workloads');
        return r.status === 403 ? r.body : undefined;
      },
      30_000,
      'the webhook configuration in effect',
    );
    expect(reached).toContain('admission webhook \\"validate.entitlegate.io\\" denied the request: reached the webhook');
    const calls = stub.calls;
    expect((await tryCreate('kube-system')).status).toBe(201);
    expect((await tryCreate('eg-system')).status).toBe(201);
    expect((await tryCreate('workloads', { labels: { 'entitlegate.io/skip': 'true' } })).status).toBe(201);
    expect((await tryCreate('workloads', { user: 'system:node:node-1' })).status).toBe(201);
    expect((await tryCreate('workloads', { user: 'system:serviceaccount:kube-system:replicaset-controller' })).status).toBe(201);
    // The HPA's scaling is a licensed change: not skipped.
    expect(stub.calls).toBe(calls);
    expect((await tryCreate('workloads', { user: 'system:serviceaccount:kube-system:horizontal-pod-autoscaler' })).status).toBe(403);
    expect(stub.calls).toBe(calls + 1);
  });
});

/** A dry-run create as the admin, or as `user` (impersonated, in group system:masters so RBAC allows it). */
function rawCreate(cp: ControlPlane, namespace: string, body: object, user?: string): Promise<{ status: number; body: string }> {
  const url = new URL(`${cp.server}/apis/apps/v1/namespaces/${namespace}/deployments?dryRun=All`);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (user) Object.assign(headers, { 'Impersonate-User': user, 'Impersonate-Group': 'system:masters' });
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers, ca: cp.caPem, cert: cp.adminCertPem, key: cp.adminKeyPem }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

interface WebhookConfiguration {
  metadata: { name: string };
  webhooks: {
    clientConfig: { service?: { name: string; namespace: string; port: number; path: string }; url?: string; caBundle?: string };
  }[];
}

interface Stub {
  url: string;
  calls: number;
  close(): Promise<void>;
}

/** An HTTPS AdmissionReview endpoint on loopback that refuses everything and counts the calls. */
async function startStub(cp: ControlPlane): Promise<Stub> {
  const cert = await cp.issueServingCert('stub', ['127.0.0.1']);
  const stub = { url: '', calls: 0, close: async () => {} };
  const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    let text = '';
    req.setEncoding('utf8').on('data', (d: string) => (text += d));
    req.on('end', () => {
      stub.calls++;
      const review = JSON.parse(text) as { request: { uid: string } };
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          response: { uid: review.request.uid, allowed: false, status: { code: 403, message: 'reached the webhook' } },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/validate`;
  stub.close = () => new Promise((resolve) => server.close(() => resolve()));
  return stub;
}
