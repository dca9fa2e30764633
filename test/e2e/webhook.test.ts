// The real entitlegate webhook behind a real kube-apiserver: objects go
// through the API server with @kubernetes/client-node, the API server calls
// our /validate over HTTPS (url + caBundle), and our informers watch the
// objects it stores. One product per test, so the tests do not share capacity.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { controlPlaneUnavailable, httpCode, registerWebhook, startControlPlane, type ControlPlane } from './controlplane.ts';
import {
  e2eConfig,
  errorBody,
  eventually,
  licensedDeployment,
  licensedReplicaSet,
  shippedWebhookRules,
  startEntitlegate,
  usedBy,
  type Entitlegate,
} from './entitlegate.ts';

const unavailable = controlPlaneUnavailable();
if (unavailable) {
  if (process.env.ENTITLEGATE_E2E_REQUIRE) throw new Error(`e2e control plane required but unavailable: ${unavailable}`);
  console.warn(`skipping e2e webhook tests: ${unavailable}`);
}

const LABEL = { 'entitlegate.io/e2e': 'webhook' };
// The rules users install (examples/kubernetes/webhook.yaml), limited to the test namespaces below.
const RULES = shippedWebhookRules();
const CONFIG = e2eConfig({ probe: 1, fits: 10, scaling: 10, rsscale: 10, freeing: 10, dryrun: 10, follow: 10, down: 10 });

describe.skipIf(unavailable !== undefined)('entitlegate webhook behind a real kube-apiserver', () => {
  let cp: ControlPlane | undefined;
  let eg: Entitlegate | undefined;
  let unregister: (() => Promise<void>) | undefined;
  let kc: KubeConfig;
  let apps: AppsV1Api;
  let core: CoreV1Api;
  let nsCount = 0;

  const freshNamespace = async (prefix: string): Promise<string> => {
    const name = `${prefix}-${Date.now().toString(36)}-${nsCount++}`;
    await core.createNamespace({ body: { metadata: { name, labels: LABEL } } });
    return name;
  };
  const create = (ns: string, name: string, product: string, replicas: number, dryRun?: 'All') =>
    apps.createNamespacedDeployment({ namespace: ns, body: licensedDeployment(name, product, replicas), ...(dryRun ? { dryRun } : {}) });
  const register = (failurePolicy: 'Fail' | 'Ignore', url = `${eg!.url}/validate`) =>
    registerWebhook({
      kubeconfig: kc,
      name: 'entitlegate-e2e',
      url,
      caPem: cp!.caPem,
      failurePolicy,
      timeoutSeconds: 10,
      namespaceLabels: LABEL,
      rules: RULES,
    });

  beforeAll(async () => {
    cp = await startControlPlane();
    kc = cp.kubeConfig();
    apps = kc.makeApiClient(AppsV1Api);
    core = kc.makeApiClient(CoreV1Api);
    eg = await startEntitlegate(cp, { name: 'webhook', config: CONFIG });
    unregister = await register('Fail');
    // The API server picks the configuration up through its informer: wait until it calls us.
    const ns = await freshNamespace('probe');
    await eventually(
      async () => {
        try {
          await create(ns, 'probe', 'probe', 2, 'All');
        } catch (err) {
          if (httpCode(err) === 403 && errorBody(err).includes('entitlegate')) return true;
        }
        return undefined;
      },
      30_000,
      'webhook registered and called',
    );
  });

  afterAll(async () => {
    await unregister?.().catch(() => {});
    await eg?.stop();
    await cp?.stop();
  });

  it('creates a Deployment that fits and refuses one that would exceed, naming product, used, requested and capacity', async () => {
    const ns = await freshNamespace('fits');
    const created = await create(ns, 'first', 'fits', 6);
    expect(created.metadata?.uid).toBeTruthy();

    const refusal = await create(ns, 'second', 'fits', 5).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(httpCode(refusal)).toBe(403);
    const body = JSON.parse(errorBody(refusal)) as { message: string; reason: string; code: number };
    expect(body.code).toBe(403);
    expect(body.message).toContain('admission webhook "entitlegate-e2e.entitlegate.io" denied the request: entitlegate:');
    expect(body.message).toContain('fits: 11 vcpu projected exceeds the 10 vcpu covered (6 used + 5 requested)');
    await expect(apps.readNamespacedDeployment({ namespace: ns, name: 'second' })).rejects.toMatchObject({ code: 404 });

    // What fits in the remainder is still admitted.
    await create(ns, 'third', 'fits', 4);
    await eventually(() => (usedBy(eg!, 'fits') === 10 ? true : undefined), 20_000, 'usage 10');
  });

  it('refuses a scale-up through /scale beyond capacity and admits one within it', async () => {
    const ns = await freshNamespace('scale');
    await create(ns, 'db', 'scaling', 4);
    // Sizing a Scale needs the parent Deployment in the inventory (the Scale carries no pod template).
    await eventually(() => eg!.gate.inventory?.workload('Deployment', ns, 'db'), 20_000, 'informer sees db');

    const scaleTo = async (replicas: number) => {
      const current = await apps.readNamespacedDeploymentScale({ namespace: ns, name: 'db' });
      return apps.replaceNamespacedDeploymentScale({ namespace: ns, name: 'db', body: { ...current, spec: { replicas } } });
    };
    const refusal = await scaleTo(12).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(httpCode(refusal)).toBe(403);
    expect(errorBody(refusal)).toContain('scaling: 12 vcpu projected exceeds the 10 vcpu covered (4 used + 8 requested)');
    expect((await apps.readNamespacedDeployment({ namespace: ns, name: 'db' })).spec?.replicas).toBe(4);

    const scaled = await scaleTo(9);
    expect(scaled.spec?.replicas).toBe(9);
    await eventually(() => (usedBy(eg!, 'scaling') === 9 ? true : undefined), 20_000, 'usage follows the scale');

    // A patch of spec.replicas on the Deployment itself is an UPDATE with the delta against oldObject.
    const patched = await apps
      .patchNamespacedDeployment({ namespace: ns, name: 'db', body: [{ op: 'replace', path: '/spec/replicas', value: 11 }] })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(httpCode(patched)).toBe(403);
    expect(errorBody(patched)).toContain('(9 used + 2 requested)');
  });

  it('refuses scaling a bare ReplicaSet through /scale beyond capacity (the shipped rules list replicasets/scale)', async () => {
    const ns = await freshNamespace('rsscale');
    await apps.createNamespacedReplicaSet({ namespace: ns, body: licensedReplicaSet('db', 'rsscale', 4) });
    await eventually(() => eg!.gate.inventory?.workload('ReplicaSet', ns, 'db'), 20_000, 'informer sees the ReplicaSet');

    const scaleTo = async (replicas: number) => {
      const current = await apps.readNamespacedReplicaSetScale({ namespace: ns, name: 'db' });
      return apps.replaceNamespacedReplicaSetScale({ namespace: ns, name: 'db', body: { ...current, spec: { replicas } } });
    };
    const refusal = await scaleTo(12).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(httpCode(refusal)).toBe(403);
    expect(errorBody(refusal)).toContain('rsscale: 12 vcpu projected exceeds the 10 vcpu covered (4 used + 8 requested)');
    expect((await apps.readNamespacedReplicaSet({ namespace: ns, name: 'db' })).spec?.replicas).toBe(4);

    expect((await scaleTo(9)).spec?.replicas).toBe(9);
    await eventually(() => (usedBy(eg!, 'rsscale') === 9 ? true : undefined), 20_000, 'usage follows the scale');
  });

  it('frees capacity on delete: a create that needs the freed capacity then succeeds', async () => {
    const ns = await freshNamespace('free');
    await create(ns, 'old', 'freeing', 7);
    await eventually(() => (usedBy(eg!, 'freeing') === 7 ? true : undefined), 20_000, 'informer counts old');
    await expect(create(ns, 'new', 'freeing', 5)).rejects.toMatchObject({ code: 403 });

    await apps.deleteNamespacedDeployment({ namespace: ns, name: 'old' });
    await eventually(() => (usedBy(eg!, 'freeing') === 0 ? true : undefined), 20_000, 'informer sees the delete');
    const created = await create(ns, 'new', 'freeing', 5);
    expect(created.spec?.replicas).toBe(5);
  });

  it('decides a server-side dry run the same but stores nothing and holds no reservation', async () => {
    const ns = await freshNamespace('dry');
    const dry = await create(ns, 'trial', 'dryrun', 8, 'All');
    expect(dry.metadata?.name).toBe('trial'); // the API server answers with the object it would have stored
    await expect(apps.readNamespacedDeployment({ namespace: ns, name: 'trial' })).rejects.toMatchObject({ code: 404 });
    expect(eg!.gate.reservations.active().filter((r) => r.product === 'dryrun')).toEqual([]);

    // Denied the same as a real create would be.
    const refusal = await create(ns, 'too-big', 'dryrun', 11, 'All').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(httpCode(refusal)).toBe(403);
    expect(errorBody(refusal)).toContain('dryrun: 11 vcpu projected exceeds the 10 vcpu covered (0 used + 11 requested)');

    // Nothing was held by the dry run: the whole capacity is still there.
    await create(ns, 'real', 'dryrun', 10);
  });

  it('follows the real objects: usage tracks creates, updates and deletes; reservations are released when objects appear', async () => {
    const ns = await freshNamespace('follow');
    await create(ns, 'a', 'follow', 3);
    // The reservation lasts until the informer reports the object; then usage counts it instead.
    await eventually(
      async () => ((await eg!.metric('entitlegate_product_used_vcpus{product="follow"}')) === 3 ? true : undefined),
      20_000,
      'metric used=3',
    );
    await eventually(
      () => (eg!.gate.reservations.active().some((r) => r.product === 'follow') ? undefined : true),
      20_000,
      'reservation released',
    );
    expect(await eg!.metric('entitlegate_reservations')).toBe(0);
    expect(await eg!.metric('entitlegate_product_capacity_vcpus{product="follow"}')).toBe(10);

    await apps.patchNamespacedDeployment({ namespace: ns, name: 'a', body: [{ op: 'replace', path: '/spec/replicas', value: 5 }] });
    await eventually(() => (usedBy(eg!, 'follow') === 5 ? true : undefined), 20_000, 'usage 5 after the update');
    await create(ns, 'b', 'follow', 2);
    await eventually(() => (usedBy(eg!, 'follow') === 7 ? true : undefined), 20_000, 'usage 7');
    await apps.deleteNamespacedDeployment({ namespace: ns, name: 'a' });
    await eventually(() => (usedBy(eg!, 'follow') === 2 ? true : undefined), 20_000, 'usage 2 after the delete');
    expect(eg!.gate.reservations.size).toBe(0);
    expect(await eg!.metric('entitlegate_admission_decisions_total{result="denied",code="OVER_ENTITLEMENT"}')).toBeGreaterThan(0);
  });

  it('with the webhook stopped: failurePolicy Fail refuses creation, Ignore lets it through', async () => {
    const ns = await freshNamespace('down');
    const url = `${eg!.url}/validate`;
    await eg!.stop();

    // Fail: the API server cannot call us, so it refuses (HTTP 500, "failed calling webhook").
    const refusal = await create(ns, 'while-down', 'down', 1).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(httpCode(refusal)).toBe(500);
    expect((JSON.parse(errorBody(refusal)) as { message: string }).message).toContain(
      'failed calling webhook "entitlegate-e2e.entitlegate.io"',
    );
    await expect(apps.readNamespacedDeployment({ namespace: ns, name: 'while-down' })).rejects.toMatchObject({ code: 404 });

    // Ignore: admitted unchecked — even what would exceed the entitlement.
    await register('Ignore', url);
    await eventually(
      async () => {
        try {
          return await create(ns, 'unchecked', 'down', 50);
        } catch {
          return undefined;
        }
      },
      20_000,
      'Ignore admits while the webhook is down',
    );
    expect((await apps.readNamespacedDeployment({ namespace: ns, name: 'unchecked' })).spec?.replicas).toBe(50);
  });
});
