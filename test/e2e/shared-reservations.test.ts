// Two webhook replicas against one real kube-apiserver: with reservations
// shared in Leases, concurrent admissions for the last few units never
// together exceed capacity; with in-memory reservations they can.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppsV1Api, CoordinationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { controlPlaneUnavailable, httpCode, registerWebhook, startControlPlane, type ControlPlane } from './controlplane.ts';
import {
  createReview,
  e2eConfig,
  errorBody,
  eventually,
  licensedDeployment,
  roundRobin,
  startEntitlegate,
  usedBy,
  type Entitlegate,
} from './entitlegate.ts';
import { LEDGER_ANNOTATION, leaseName, type LedgerEntry } from '../../webhook/shared-reservations.ts';

const unavailable = controlPlaneUnavailable();
if (unavailable) {
  if (process.env.ENTITLEGATE_E2E_REQUIRE) throw new Error(`e2e control plane required but unavailable: ${unavailable}`);
  console.warn(`skipping e2e shared-reservation tests: ${unavailable}`);
}

const LEASES = 'entitlegate';
const LABEL = { 'entitlegate.io/e2e': 'shared' };
// Every product: 10 vCPU. Each test uses its own product.
const CONFIG = e2eConfig({ direct: 10, memory: 10, apiserver: 10, dryshared: 10 });
const CONCURRENT = 40;

describe.skipIf(unavailable !== undefined)('reservations shared by two replicas through the real API server', () => {
  let cp: ControlPlane | undefined;
  let kc: KubeConfig;
  let apps: AppsV1Api;
  let core: CoreV1Api;
  let leases: CoordinationV1Api;
  const started: Entitlegate[] = [];
  let r1: Entitlegate;
  let r2: Entitlegate;
  let nsCount = 0;

  const freshNamespace = async (prefix: string): Promise<string> => {
    const name = `${prefix}-${Date.now().toString(36)}-${nsCount++}`;
    await core.createNamespace({ body: { metadata: { name, labels: LABEL } } });
    return name;
  };
  const ledger = async (product: string): Promise<{ entries: LedgerEntry[]; resourceVersion: string | undefined }> => {
    try {
      const lease = await leases.readNamespacedLease({ namespace: LEASES, name: leaseName(product) });
      return {
        entries: JSON.parse(lease.metadata?.annotations?.[LEDGER_ANNOTATION] ?? '[]') as LedgerEntry[],
        resourceVersion: lease.metadata?.resourceVersion,
      };
    } catch (err) {
      if (httpCode(err) === 404) return { entries: [], resourceVersion: undefined };
      throw err;
    }
  };
  /** Brings a product to `used` vCPU with a real Deployment stored without the webhook, and waits until the replicas count it. */
  const preload = async (ns: string, product: string, used: number, replicas: Entitlegate[]) => {
    await apps.createNamespacedDeployment({ namespace: ns, body: licensedDeployment('base', product, used) });
    for (const r of replicas) await eventually(() => (usedBy(r, product) === used ? true : undefined), 20_000, `${product} used=${used}`);
  };
  const start = async (name: string, shared: boolean) => {
    const eg = await startEntitlegate(cp!, { name, config: CONFIG, ...(shared ? { shared: { namespace: LEASES, replica: name } } : {}) });
    started.push(eg);
    return eg;
  };

  beforeAll(async () => {
    cp = await startControlPlane();
    kc = cp.kubeConfig();
    apps = kc.makeApiClient(AppsV1Api);
    core = kc.makeApiClient(CoreV1Api);
    leases = kc.makeApiClient(CoordinationV1Api);
    await core.createNamespace({ body: { metadata: { name: LEASES } } });
    r1 = await start('replica-1', true);
    r2 = await start('replica-2', true);
  });

  afterAll(async () => {
    for (const eg of started) await eg.stop().catch(() => {});
    await cp?.stop();
  });

  it(`${CONCURRENT} concurrent CREATEs for the last 3 vCPU, split across both replicas: exactly 3 admitted`, async () => {
    const ns = await freshNamespace('direct');
    await preload(ns, 'direct', 7, [r1, r2]);
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: CONCURRENT }, (_, i) =>
        (i % 2 ? r2 : r1).post('/validate', createReview(licensedDeployment(`d${i}`, 'direct', 1, ns))),
      ),
    );
    const ms = performance.now() - started;
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const allowed = answers.filter((a) => a.json.response.allowed);
    const denied = answers.filter((a) => !a.json.response.allowed);
    expect(allowed).toHaveLength(3);
    // The refusals are decisions on capacity, not failures of the Lease protocol.
    for (const d of denied)
      expect(d.json.response.status.message).toMatch(
        /^entitlegate: direct: 11 vcpu projected exceeds the 10 vcpu covered \(10 used \+ 1 requested\)/,
      );

    const { entries } = await ledger('direct');
    expect(entries.reduce((s, e) => s + e.quantity, 0)).toBe(3);
    const conflicts =
      (await r1.metric('entitlegate_shared_reservation_conflicts_total'))! +
      (await r2.metric('entitlegate_shared_reservation_conflicts_total'))!;
    const writes =
      (await r1.metric('entitlegate_shared_reservation_writes_total'))! + (await r2.metric('entitlegate_shared_reservation_writes_total'))!;
    expect(writes).toBe(3);
    console.info(
      `shared: ${CONCURRENT} admissions in ${ms.toFixed(0)} ms; allowed by replica: ${entries.map((e) => e.replica).join(', ')}; Lease conflicts retried: ${conflicts}`,
    );
  });

  it('without shared reservations the same burst overshoots: each replica admits the last 3 vCPU on its own', async () => {
    const m1 = await start('memory-1', false);
    const m2 = await start('memory-2', false);
    const ns = await freshNamespace('memory');
    await preload(ns, 'memory', 7, [m1, m2]);
    const answers = await Promise.all(
      Array.from({ length: CONCURRENT }, (_, i) =>
        (i % 2 ? m2 : m1).post('/validate', createReview(licensedDeployment(`d${i}`, 'memory', 1, ns))),
      ),
    );
    const allowed = answers.filter((a) => a.json.response.allowed).length;
    expect(allowed).toBe(6); // 3 per replica: 13 of 10 vCPU
    await m1.stop();
    await m2.stop();
  });

  it('both replicas behind one webhook URL (round-robin per connection): concurrent real creates never exceed capacity, and the ledger empties as the informers see the objects', async () => {
    const lb = await roundRobin([r1.port, r2.port]);
    const unregister = await registerWebhook({
      kubeconfig: kc,
      name: 'entitlegate-shared',
      url: `https://127.0.0.1:${lb.port}/validate`,
      caPem: cp!.caPem,
      failurePolicy: 'Fail',
      timeoutSeconds: 10,
      namespaceLabels: LABEL,
      rules: [
        {
          apiGroups: ['apps'],
          apiVersions: ['v1'],
          operations: ['CREATE', 'UPDATE'],
          resources: ['deployments', 'deployments/scale'],
          scope: 'Namespaced',
        },
      ],
    });
    try {
      const ns = await freshNamespace('apiserver');
      // "base" is stored before the webhook is active or after; either way it fits (7 of 10).
      await preload(ns, 'apiserver', 7, [r1, r2]);
      await eventually(
        async () => {
          try {
            await apps.createNamespacedDeployment({ namespace: ns, body: licensedDeployment('probe', 'apiserver', 4), dryRun: 'All' });
          } catch (err) {
            if (httpCode(err) === 403 && errorBody(err).includes('entitlegate')) return true;
          }
          return undefined;
        },
        30_000,
        'webhook active',
      );

      const before1 = (await r1.metric('entitlegate_admission_decisions_total{result="allowed",code="NONE"}')) ?? 0;
      const before2 = (await r2.metric('entitlegate_admission_decisions_total{result="allowed",code="NONE"}')) ?? 0;
      const denied1 = (await r1.metric('entitlegate_admission_decisions_total{result="denied",code="OVER_ENTITLEMENT"}')) ?? 0;
      const denied2 = (await r2.metric('entitlegate_admission_decisions_total{result="denied",code="OVER_ENTITLEMENT"}')) ?? 0;
      const results = await Promise.allSettled(
        Array.from({ length: CONCURRENT }, (_, i) =>
          apps.createNamespacedDeployment({ namespace: ns, body: licensedDeployment(`c${i}`, 'apiserver', 1) }),
        ),
      );
      const created = results.filter((r) => r.status === 'fulfilled').length;
      const refusals = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      for (const err of refusals) {
        expect(httpCode(err)).toBe(403);
        expect(errorBody(err)).toContain('apiserver: 11 vcpu projected exceeds the 10 vcpu covered');
      }
      expect(created).toBe(3);
      const stored = (await apps.listNamespacedDeployment({ namespace: ns })).items;
      const total = stored.reduce((s, d) => s + (d.spec?.replicas ?? 0), 0);
      expect(total).toBe(10);

      // Who decided: the API server opens several connections for a burst, the round-robin spreads them.
      const decided1 =
        ((await r1.metric('entitlegate_admission_decisions_total{result="allowed",code="NONE"}')) ?? 0) -
        before1 +
        ((await r1.metric('entitlegate_admission_decisions_total{result="denied",code="OVER_ENTITLEMENT"}')) ?? 0) -
        denied1;
      const decided2 =
        ((await r2.metric('entitlegate_admission_decisions_total{result="allowed",code="NONE"}')) ?? 0) -
        before2 +
        ((await r2.metric('entitlegate_admission_decisions_total{result="denied",code="OVER_ENTITLEMENT"}')) ?? 0) -
        denied2;
      console.info(
        `through the API server: ${created} of ${CONCURRENT} created; decisions replica-1 ${decided1}, replica-2 ${decided2}; connections ${lb.connections.join('/')}`,
      );
      expect(decided1 + decided2).toBe(CONCURRENT);
      expect(decided1).toBeGreaterThan(0);
      expect(decided2).toBeGreaterThan(0);

      // Both informers see the stored objects: usage counts them and the Lease entries are released
      // (dropped when read; the next write persists that).
      for (const r of [r1, r2]) await eventually(() => (usedBy(r, 'apiserver') === 10 ? true : undefined), 20_000, 'usage 10');
      expect(await r1.gate.shared!.pending('apiserver')).toEqual([]);
      expect(await r2.gate.shared!.pending('apiserver')).toEqual([]);
      // (The "direct" test's admissions were never stored: their entries stay until the TTL — 60 s here.)
      expect(r1.gate.shared!.stats.entries.get('apiserver')).toBe(0);

      // Delete one, the capacity comes back for the next create — through either replica.
      await apps.deleteNamespacedDeployment({ namespace: ns, name: 'base' });
      for (const r of [r1, r2]) await eventually(() => (usedBy(r, 'apiserver') === 3 ? true : undefined), 20_000, 'usage 3');
      await apps.createNamespacedDeployment({ namespace: ns, body: licensedDeployment('after-delete', 'apiserver', 7) });
    } finally {
      await unregister();
      await lb.close();
    }
  });

  it('fails safe when the Leases cannot be written: denied with the reason, unless the namespace is fail-open', async () => {
    const config = e2eConfig({ direct: 10 }, '  failOpenNamespaces: [lenient]\n');
    const broken = await startEntitlegate(cp!, { name: 'broken', config, shared: { namespace: 'no-such-namespace', replica: 'broken' } });
    started.push(broken);
    const denied = await broken.post('/validate', createReview(licensedDeployment('x', 'direct', 1, 'strict')));
    expect(denied.json.response.allowed).toBe(false);
    expect(denied.json.response.status.message).toContain(
      'entitlegate could not evaluate this change, so it is denied: shared reservations: cannot write the Leases in namespace no-such-namespace (HTTP 404)',
    );
    const lenient = await broken.post('/validate', createReview(licensedDeployment('x', 'direct', 1, 'lenient')));
    expect(lenient.json.response.allowed).toBe(true);
    expect(lenient.json.response.warnings[0]).toContain('namespace lenient is fail-open');
    expect(await broken.metric('entitlegate_shared_reservation_failures_total')).toBe(2);
    await broken.stop();
  });

  it('a dry run decides with the shared ledger but never writes the Lease', async () => {
    const ns = await freshNamespace('dryshared');
    await preload(ns, 'dryshared', 2, [r1, r2]);
    const a = await r1.post('/validate', createReview(licensedDeployment('held', 'dryshared', 6, ns)));
    expect(a.json.response.allowed).toBe(true);
    const lease = await ledger('dryshared');
    expect(lease.entries.map((e) => [e.key, e.quantity, e.replica])).toEqual([[`Deployment/${ns}/held`, 6, 'replica-1']]);

    // Replica 2 counts replica 1's reservation (2 used + 6 reserved + 3 > 10) ...
    const over = await r2.post('/validate', createReview(licensedDeployment('over', 'dryshared', 3, ns), { dryRun: true }));
    expect(over.json.response.allowed).toBe(false);
    expect(over.json.response.status.message).toContain('dryshared: 11 vcpu projected exceeds the 10 vcpu covered (8 used + 3 requested)');
    // ... and a dry run that fits writes nothing.
    const fits = await r2.post('/validate', createReview(licensedDeployment('fits', 'dryshared', 2, ns), { dryRun: true }));
    expect(fits.json.response.allowed).toBe(true);
    expect((await ledger('dryshared')).resourceVersion).toBe(lease.resourceVersion);
  });
});
