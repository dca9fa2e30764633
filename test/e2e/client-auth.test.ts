// The kube-apiserver authenticating itself to the webhook with a client
// certificate, set up exactly as docs/webhook.md says (an
// AdmissionConfiguration naming a kubeconfig with a user entry for the
// webhook's host:port), against a webhook started with --client-ca: the real
// apiserver's admissions are decided; anyone else's are refused before a
// reservation is made; and an apiserver that presents no certificate is
// refused loudly (failurePolicy Fail), not decided without reservations.
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCa } from '../../webhook/test-support.ts';
import { controlPlaneUnavailable, httpCode, registerWebhook, startControlPlane, type ControlPlane } from './controlplane.ts';
import { e2eConfig, errorBody, eventually, licensedDeployment, startEntitlegate, type Entitlegate } from './entitlegate.ts';
import { tempDir } from '../temp.ts';

const unavailable = controlPlaneUnavailable();
if (unavailable) {
  if (process.env.ENTITLEGATE_E2E_REQUIRE) throw new Error(`e2e control plane required but unavailable: ${unavailable}`);
  console.warn(`skipping e2e client-auth tests: ${unavailable}`);
}

const RULES = [
  { apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE'] as string[], resources: ['deployments'], scope: 'Namespaced' },
];

/**
 * A port nothing listens on now, to name in the apiserver's kubeconfig before
 * the webhook starts on it. Taken below Linux's ephemeral range (32768-60999):
 * a port the OS hands out for port 0 could be handed again, to etcd, the
 * apiserver or any other test's listener, in the seconds before the webhook
 * binds it (seen in CI as EADDRINUSE); below the range only an explicit bind
 * can take it.
 */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port below the ephemeral range after 50 tries');
}

describe.skipIf(unavailable !== undefined)('--client-ca behind a real kube-apiserver', () => {
  let tmp: ReturnType<typeof tempDir>;
  let cp: ControlPlane | undefined;
  let eg: Entitlegate | undefined;
  let stranger: Entitlegate | undefined;
  const unregister: (() => Promise<void>)[] = [];
  let kc: KubeConfig;
  let apps: AppsV1Api;
  let core: CoreV1Api;

  const namespace = async (name: string, labels: Record<string, string>) => {
    await core.createNamespace({ body: { metadata: { name, labels } } });
    return name;
  };

  beforeAll(async () => {
    tmp = tempDir('eg-e2e-client-auth-');
    const clientCa = testCa(tmp, 'apiserver-client-ca');
    const client = clientCa.issueClient('kube-apiserver', 'apiserver-client');
    const port = await freePort();
    // docs/webhook.md, "Authenticating the kube-apiserver": for a webhook configured by URL the user entry is host:port.
    const kubeconfig = join(tmp, 'entitlegate-webhook.kubeconfig');
    writeFileSync(
      kubeconfig,
      `apiVersion: v1
kind: Config
users:
  - name: 127.0.0.1:${port}
    user:
      client-certificate: ${client.cert}
      client-key: ${client.key}
`,
    );
    const admissionConfig = join(tmp, 'admission-config.yaml');
    writeFileSync(
      admissionConfig,
      `apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
  - name: ValidatingAdmissionWebhook
    configuration:
      apiVersion: apiserver.config.k8s.io/v1
      kind: WebhookAdmissionConfiguration
      kubeConfigFile: ${kubeconfig}
`,
    );
    cp = await startControlPlane({ apiserverArgs: [`--admission-control-config-file=${admissionConfig}`] });
    kc = cp.kubeConfig();
    apps = kc.makeApiClient(AppsV1Api);
    core = kc.makeApiClient(CoreV1Api);
    eg = await startEntitlegate(cp, { name: 'client-auth', config: e2eConfig({ authed: 4, unauthed: 4 }), port, clientCa: clientCa.ca });
    // A second webhook with the same --client-ca on a port the kubeconfig has no entry for: the apiserver presents no certificate.
    stranger = await startEntitlegate(cp, { name: 'client-auth-2', config: e2eConfig({ authed: 4, unauthed: 4 }), clientCa: clientCa.ca });
    for (const [name, url, label] of [
      ['entitlegate-authed', `${eg.url}/validate`, 'authed'],
      ['entitlegate-unauthed', `${stranger.url}/validate`, 'unauthed'],
    ] as const) {
      unregister.push(
        await registerWebhook({
          kubeconfig: kc,
          name,
          url,
          caPem: cp.caPem,
          failurePolicy: 'Fail',
          timeoutSeconds: 10,
          namespaceLabels: { 'entitlegate.io/e2e': label },
          rules: RULES,
        }),
      );
    }
  });

  afterAll(async () => {
    for (const u of unregister) await u().catch(() => {});
    await eg?.stop();
    await stranger?.stop();
    await cp?.stop();
  });

  it("decides the admissions of the apiserver that presents its client certificate (its denials are entitlegate's own, what fits is stored)", async () => {
    const ns = await namespace('authed', { 'entitlegate.io/e2e': 'authed' });
    // The apiserver picks the webhook configuration up through its informer: wait until a denial comes from us.
    const refusal = await eventually(
      async () =>
        apps.createNamespacedDeployment({ namespace: ns, body: licensedDeployment('too-big', 'authed', 5) }).then(
          () => undefined,
          (err: unknown) => (errorBody(err).includes('entitlegate:') ? err : undefined),
        ),
      30_000,
      'webhook registered and called',
    );
    expect(httpCode(refusal)).toBe(403);
    expect(errorBody(refusal)).toContain('authed: 5 vcpu projected exceeds the 4 vcpu covered (0 used + 5 requested)');
    const created = await apps.createNamespacedDeployment({ namespace: ns, body: licensedDeployment('fits', 'authed', 3) });
    expect(created.metadata?.uid).toBeTruthy();
  });

  it('refuses the same AdmissionReview posted without the certificate: 401, no reservation', async () => {
    const before = eg!.gate.reservations.size;
    const review = {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'b9a1e3f0-0000-4000-8000-000000000001',
        kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
        resource: { group: 'apps', version: 'v1', resource: 'deployments' },
        name: 'grab',
        namespace: 'authed',
        operation: 'CREATE',
        userInfo: { username: 'mallory' },
        object: { ...licensedDeployment('grab', 'authed', 1, 'authed') },
        oldObject: null,
        dryRun: false,
      },
    };
    const res = await eg!.post('/validate', review);
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ code: 'EG_ERR_UNAUTHENTICATED' });
    expect(eg!.gate.reservations.size).toBe(before);
  });

  it('an apiserver that presents no certificate is refused loudly: the create fails with the webhook call error, nothing is stored', async () => {
    const ns = await namespace('unauthed', { 'entitlegate.io/e2e': 'unauthed' });
    const failure = await eventually(
      async () =>
        apps.createNamespacedDeployment({ namespace: ns, body: licensedDeployment('small', 'unauthed', 1) }).then(
          () => undefined,
          (err: unknown) => (/failed calling webhook/.test(errorBody(err)) ? err : undefined),
        ),
      30_000,
      'second webhook registered and called',
    );
    expect(errorBody(failure)).toMatch(/entitlegate-unauthed\.entitlegate\.io/);
    // How the apiserver words the webhook's 401.
    expect(errorBody(failure)).toMatch(/the server has asked for the client to provide credentials/);
    await expect(apps.readNamespacedDeployment({ namespace: ns, name: 'small' })).rejects.toMatchObject({ code: 404 });
    expect(stranger!.gate.reservations.size).toBe(0);
  });
});
