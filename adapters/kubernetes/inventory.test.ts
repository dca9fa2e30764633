import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Inventory, usageFromObjects, type InventoryChange } from './inventory.ts';
import { products, workload } from './test-objects.ts';
import { UsageIndex } from './usage-index.ts';
import { FakeApiServer } from './testing/fake-api-server.ts';

const settings = { environmentLabel: 'entitlegate.io/environment', environments: {} };
const opts = { products, settings, cluster: 'eu-1' };
const ns = (name: string, env?: string) => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, uid: `ns-${name}`, labels: env ? { 'entitlegate.io/environment': env } : {} },
});
const node = (name: string) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name, uid: `node-${name}` } });

describe('usageFromObjects', () => {
  it('counts only top-level owners: not the ReplicaSets and Pods of a Deployment, nor the Jobs of a CronJob', () => {
    const usage = usageFromObjects(
      [
        workload({ uid: 'd', replicas: 2, containers: [{ limit: '2' }] }),
        workload({ kind: 'ReplicaSet', uid: 'rs', name: 'db-1', replicas: 2, containers: [{ limit: '2' }], ownerKind: 'Deployment' }),
        workload({ kind: 'Pod', uid: 'p1', name: 'db-1-a', containers: [{ limit: '2' }], ownerKind: 'ReplicaSet' }),
        workload({ kind: 'Pod', uid: 'p2', name: 'db-1-b', containers: [{ limit: '2' }], ownerKind: 'ReplicaSet' }),
        workload({ kind: 'CronJob', uid: 'cj', name: 'nightly', containers: [{ limit: '1' }] }),
        workload({ kind: 'Job', uid: 'j', name: 'nightly-1', containers: [{ limit: '1' }], ownerKind: 'CronJob' }),
      ],
      opts,
    );
    expect(usage).toEqual([{ product: 'oracle-db-ee', quantity: 5, scope: { cluster: 'eu-1', namespace: 'prod' } }]);
  });

  it('counts a ReplicaSet with no counted owner, and leaves out finished Jobs and Pods', () => {
    const usage = usageFromObjects(
      [
        workload({ kind: 'ReplicaSet', uid: 'rs', replicas: 3 }),
        workload({ kind: 'Job', uid: 'j', name: 'done', status: { conditions: [{ type: 'Complete', status: 'True' }] } }),
        workload({ kind: 'Job', uid: 'j2', name: 'running', status: { conditions: [{ type: 'Complete', status: 'False' }] } }),
        workload({ kind: 'Pod', uid: 'p', name: 'finished', status: { phase: 'Succeeded' } }),
      ],
      opts,
    );
    expect(usage).toEqual([{ product: 'oracle-db-ee', quantity: 4, scope: { cluster: 'eu-1', namespace: 'prod' } }]);
  });

  it('adds up records of the same product and scope, rounding each object up first', () => {
    const usage = usageFromObjects(
      [
        ns('prod', 'production'),
        workload({ uid: 'a', name: 'a', containers: [{ limit: '500m' }] }),
        workload({ uid: 'b', name: 'b', containers: [{ limit: '500m' }] }),
        workload({ uid: 'c', name: 'c', namespace: 'dev', containers: [{ limit: '3' }] }),
      ],
      opts,
    );
    expect(usage).toEqual([
      { product: 'oracle-db-ee', quantity: 3, scope: { cluster: 'eu-1', namespace: 'dev' } },
      { product: 'oracle-db-ee', quantity: 2, scope: { environment: 'production', cluster: 'eu-1', namespace: 'prod' } },
    ]);
  });

  it('runs a DaemonSet on the nodes its status reports, else on every node given', () => {
    const ds = (status?: Record<string, unknown>) =>
      workload({ kind: 'DaemonSet', uid: 'ds', containers: [{ limit: '1' }], ...(status ? { status } : {}) });
    expect(usageFromObjects([node('a'), node('b'), node('c'), ds()], opts)[0]!.quantity).toBe(3);
    expect(usageFromObjects([node('a'), node('b'), node('c'), ds({ desiredNumberScheduled: 1 })], opts)[0]!.quantity).toBe(1);
    expect(usageFromObjects([ds()], opts)).toEqual([]);
  });
});

describe('UsageIndex', () => {
  it('reports objects of unknown quantity apart from usage', () => {
    const index = new UsageIndex(opts);
    index.upsert(workload({ uid: 'x', containers: [{}] }));
    expect(index.usage()).toEqual([]);
    expect(index.unknowns()).toEqual([
      { product: 'oracle-db-ee', resource: 'Deployment/prod/db', reason: 'container db of oracle-db-ee has no CPU limit or request' },
    ]);
  });

  it('counts a workload with zero pods as using nothing, not as unknown, whatever its pods would need', () => {
    const index = new UsageIndex(opts);
    index.upsert(workload({ uid: 'x', resourceVersion: '1', replicas: 0, containers: [{}] }));
    index.upsert(workload({ kind: 'DaemonSet', uid: 'ds', name: 'agent', containers: [{}], status: { desiredNumberScheduled: 0 } }));
    index.upsert(workload({ kind: 'DaemonSet', uid: 'ds2', name: 'agent2', containers: [{}] }));
    index.markNodesKnown(); // the node list has been seen, and it is empty
    expect(index.usage()).toEqual([]);
    expect(index.unknowns()).toEqual([]);
    // scaled up, the size is unknown again
    index.upsert(workload({ uid: 'x', resourceVersion: '2', replicas: 1, containers: [{}] }));
    expect(index.unknowns()).toEqual([
      { product: 'oracle-db-ee', resource: 'Deployment/prod/db', reason: 'container db of oracle-db-ee has no CPU limit or request' },
    ]);
  });

  it('replaces an object recreated under the same name with a new uid', () => {
    const index = new UsageIndex(opts);
    index.upsert(workload({ uid: 'old', resourceVersion: '1', replicas: 2 }));
    index.upsert(workload({ uid: 'new', resourceVersion: '5', replicas: 3 }));
    expect(index.usage().map((r) => r.quantity)).toEqual([3]);
  });

  it('with 100,000 pods, one change measures one object and usage() measures none', () => {
    const index = new UsageIndex(opts);
    const pods = 100_000;
    for (let i = 0; i < pods; i++) {
      index.upsert(
        workload({
          kind: 'Pod',
          uid: `p${i}`,
          name: `p${i}`,
          namespace: `ns${i % 100}`,
          resourceVersion: '1',
          containers: [{ limit: '1' }],
        }),
      );
    }
    expect(index.measured).toBe(pods);
    expect(index.usage()).toHaveLength(100);
    expect(index.usage().reduce((s, r) => s + r.quantity, 0)).toBe(pods);
    expect(index.measured).toBe(pods); // usage() reads the sums, it does not recount
    for (let i = 0; i < 1000; i++) {
      const before = index.measured;
      index.upsert(
        workload({
          kind: 'Pod',
          uid: 'p7',
          name: 'p7',
          namespace: 'ns7',
          resourceVersion: String(i + 2),
          containers: [{ limit: String((i % 4) + 1) }],
        }),
      );
      expect(index.measured - before).toBe(1);
      const ns7 = index.usage().find((r) => r.scope.namespace === 'ns7')!.quantity;
      expect(ns7).toBe(1000 - 1 + ((i % 4) + 1));
      expect(index.measured - before).toBe(1);
    }
    // The same resourceVersion again (a resync) measures nothing.
    const before = index.measured;
    index.upsert(workload({ kind: 'Pod', uid: 'p7', name: 'p7', namespace: 'ns7', resourceVersion: '1001', containers: [{ limit: '4' }] }));
    expect(index.measured).toBe(before);
    // A namespace's environment label re-measures that namespace's pods only.
    index.upsert(ns('ns3', 'production'));
    expect(index.measured - before).toBe(pods / 100);
    expect(index.usage().find((r) => r.scope.namespace === 'ns3')).toMatchObject({ quantity: 1000, scope: { environment: 'production' } });
    // Removing measures nothing: the stored contribution is taken off.
    const beforeRemove = index.measured;
    index.remove({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p7', namespace: 'ns7', uid: 'p7' } });
    expect(index.measured).toBe(beforeRemove);
    expect(index.usage().find((r) => r.scope.namespace === 'ns7')!.quantity).toBe(999);
    expect(index.usage().reduce((s, r) => s + r.quantity, 0)).toBe(pods - 1);
  }, 60_000);
});

describe('Inventory (informers over a real HTTP server)', () => {
  let api: FakeApiServer | undefined;
  let inventory: Inventory | undefined;

  afterEach(async () => {
    await inventory?.stop();
    await api?.close();
    inventory = undefined;
    api = undefined;
  });

  async function start() {
    api = new FakeApiServer();
    const server = await api.listen();
    api.event('ADDED', '/api/v1/namespaces', ns('prod', 'production'));
    api.event('ADDED', '/api/v1/nodes', node('n1'));
    api.event('ADDED', '/api/v1/nodes', node('n2'));
    const db = workload({ uid: 'dep-db', replicas: 2, containers: [{ limit: '1500m' }] });
    (db.metadata as Record<string, unknown>).managedFields = [{ manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:spec': {} } }];
    (db.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers[0]!.env = [
      { name: 'ORACLE_PWD', value: 'secret' },
    ];
    db.status = { replicas: 2, readyReplicas: 2 };
    api.event('ADDED', '/apis/apps/v1/deployments', db);
    api.event(
      'ADDED',
      '/apis/apps/v1/deployments',
      workload({ uid: 'dep-web', name: 'web', containers: [{ image: 'nginx:1.27', limit: '8' }] }),
    );
    api.event(
      'ADDED',
      '/apis/apps/v1/daemonsets',
      workload({ kind: 'DaemonSet', uid: 'ds-agent', name: 'agent', containers: [{ limit: '1' }] }),
    );
    api.event(
      'ADDED',
      '/api/v1/pods',
      workload({ kind: 'Pod', uid: 'pod-owned', name: 'db-abc', containers: [{ limit: '1500m' }], ownerKind: 'ReplicaSet' }),
    );

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'fake', server, skipTLSVerify: true }],
      users: [{ name: 'test', token: 'test-token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'test' }],
      currentContext: 'fake',
    });
    const errors: unknown[] = [];
    inventory = new Inventory({ kubeConfig, products, settings, cluster: 'eu-1', pageSize: 1, onError: (_kind, e) => errors.push(e) });
    const changes: InventoryChange[] = [];
    inventory.onChange((c) => changes.push(c));
    await inventory.start();
    await inventory.synced;
    return { api, inventory, changes, errors };
  }

  const scope = { environment: 'production', cluster: 'eu-1', namespace: 'prod' };

  it('lists every kind (paged), then follows ADDED, MODIFIED and DELETED watch events', async () => {
    const { api, inventory, changes, errors } = await start();
    // Deployment 2 × 1.5 = 3, DaemonSet 2 nodes × 1 = 2; the owned Pod and nginx do not count
    expect(inventory.usage()).toEqual([{ product: 'oracle-db-ee', quantity: 5, scope }]);
    expect(inventory.nodeCount).toBe(2);
    expect(api.requests).toContain('/apis/apps/v1/deployments?limit=1');
    expect(api.requests).toContain('/apis/apps/v1/deployments?continue=1&limit=1');
    expect(changes.map((c) => [c.type, c.key])).toEqual(
      expect.arrayContaining([
        ['added', 'Deployment/prod/db'],
        ['added', 'DaemonSet/prod/agent'],
      ]),
    );
    await vi.waitFor(() => expect(api.watchers('/apis/apps/v1/statefulsets')).toBe(1));

    api.event(
      'ADDED',
      '/apis/apps/v1/statefulsets',
      workload({ kind: 'StatefulSet', uid: 'sts-1', name: 'ledger', replicas: 1, containers: [{ limit: '2' }] }),
    );
    await vi.waitFor(() => expect(inventory.usage()).toEqual([{ product: 'oracle-db-ee', quantity: 7, scope }]));
    expect(changes.at(-1)).toEqual({
      type: 'added',
      kind: 'StatefulSet',
      uid: 'sts-1',
      namespace: 'prod',
      name: 'ledger',
      key: 'StatefulSet/prod/ledger',
    });

    api.bookmark('/apis/apps/v1/deployments');
    api.event('MODIFIED', '/apis/apps/v1/deployments', workload({ uid: 'dep-db', replicas: 4, containers: [{ limit: '1500m' }] }));
    await vi.waitFor(() => expect(inventory.usage()).toEqual([{ product: 'oracle-db-ee', quantity: 10, scope }]));
    expect(changes.at(-1)).toMatchObject({ type: 'modified', uid: 'dep-db', key: 'Deployment/prod/db' });

    api.event(
      'DELETED',
      '/apis/apps/v1/statefulsets',
      workload({ kind: 'StatefulSet', uid: 'sts-1', name: 'ledger', replicas: 1, containers: [{ limit: '2' }] }),
    );
    await vi.waitFor(() => expect(inventory.usage()).toEqual([{ product: 'oracle-db-ee', quantity: 8, scope }]));
    expect(changes.at(-1)).toMatchObject({ type: 'deleted', uid: 'sts-1' });
    expect(errors).toEqual([]);
  });

  it('re-scopes on a namespace label change and resizes DaemonSets when nodes come and go', async () => {
    const { api, inventory } = await start();
    await vi.waitFor(() => expect(api.watchers('/api/v1/nodes')).toBe(1));
    api.event('ADDED', '/api/v1/nodes', node('n3'));
    await vi.waitFor(() => expect(inventory.usage()).toEqual([{ product: 'oracle-db-ee', quantity: 6, scope }]));
    api.event('MODIFIED', '/api/v1/namespaces', ns('prod', 'staging'));
    await vi.waitFor(() =>
      expect(inventory.usage()).toEqual([{ product: 'oracle-db-ee', quantity: 6, scope: { ...scope, environment: 'staging' } }]),
    );
    api.event('DELETED', '/api/v1/nodes', node('n1'));
    await vi.waitFor(() => expect(inventory.usage()[0]!.quantity).toBe(5));
  });

  it('resumes the watch from its resourceVersion when the server ends the stream', async () => {
    const { api, inventory } = await start();
    await vi.waitFor(() => expect(api.watchers('/apis/apps/v1/deployments')).toBe(1));
    api.dropWatches();
    api.event('MODIFIED', '/apis/apps/v1/deployments', workload({ uid: 'dep-db', replicas: 1, containers: [{ limit: '1500m' }] }));
    await vi.waitFor(() => expect(inventory.usage()[0]!.quantity).toBe(4)); // 1.5 → 2, + DaemonSet 2
    const rewatch = api.requests.filter((r) => r.startsWith('/apis/apps/v1/deployments?') && r.includes('watch=true'));
    expect(rewatch.length).toBeGreaterThanOrEqual(2);
    expect(rewatch.at(-1)).toMatch(/resourceVersion=\d+/);
  });

  it('relists on 410 Gone and drops what disappeared meanwhile', async () => {
    const { api, inventory, changes, errors } = await start();
    await vi.waitFor(() => expect(api.watchers('/apis/apps/v1/daemonsets')).toBe(1));
    api.forget('/apis/apps/v1/daemonsets', 'prod', 'agent');
    api.gone.add('/apis/apps/v1/daemonsets');
    api.dropWatches();
    await vi.waitFor(() => expect(inventory.usage()).toEqual([{ product: 'oracle-db-ee', quantity: 3, scope }]));
    expect(changes.at(-1)).toMatchObject({ type: 'deleted', key: 'DaemonSet/prod/agent' });
    expect(api.requests.filter((r) => r.startsWith('/apis/apps/v1/daemonsets?limit=')).length).toBeGreaterThanOrEqual(2);
    expect(errors).toEqual([]);
  });

  it('tells onChange the generation, which a status-only update leaves alone', async () => {
    const { api, changes } = await start();
    await vi.waitFor(() => expect(api.watchers('/apis/apps/v1/statefulsets')).toBe(1));
    const sts = (generation: number, status: Record<string, unknown>) => {
      const o = workload({ kind: 'StatefulSet', uid: 'sts-g', name: 'ledger', replicas: 1, containers: [{ limit: '2' }], status });
      (o.metadata as Record<string, unknown>).generation = generation;
      return o;
    };
    api.event('ADDED', '/apis/apps/v1/statefulsets', sts(1, {}));
    api.event('MODIFIED', '/apis/apps/v1/statefulsets', sts(1, { readyReplicas: 1 }));
    api.event('MODIFIED', '/apis/apps/v1/statefulsets', sts(2, { readyReplicas: 1 }));
    await vi.waitFor(() =>
      expect(changes.filter((c) => c.uid === 'sts-g').map((c) => [c.type, c.generation])).toEqual([
        ['added', 1],
        ['modified', 1],
        ['modified', 2],
      ]),
    );
  });

  it('keeps only what usage needs of each object', async () => {
    const { inventory } = await start();
    const db = inventory.workload('Deployment', 'prod', 'db');
    expect(db).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'db', namespace: 'prod', uid: 'dep-db', resourceVersion: expect.any(String) },
      spec: {
        replicas: 2,
        template: {
          metadata: {},
          spec: {
            containers: [
              { name: 'db', image: 'container-registry.oracle.com/database/enterprise:21.3.0.0', resources: { limits: { cpu: '1500m' } } },
            ],
          },
        },
      },
    });
    expect(JSON.stringify(db)).not.toContain('secret');
  });
});
