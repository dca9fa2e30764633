import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Product } from './settings.ts';
import { claimsFromChange, claimsFromObjects } from './claims.ts';
import { parseKubernetes } from './parse.ts';
import { products, workload, type W } from './test-objects.ts';

const opts = {
  products,
  settings: { environmentLabel: 'entitlegate.io/environment', environments: { dev: 'development' } },
  cluster: 'eu-1',
};
const fixture = (name: string) => readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');
const oracle = (claims: ReturnType<typeof claimsFromChange>) => claims.filter((c) => c.product === 'oracle-db-ee');
const one = (n: unknown, o: unknown, extra = {}) => {
  const claims = oracle(claimsFromChange(n, o, { ...opts, ...extra }));
  expect(claims).toHaveLength(1);
  return claims[0]!;
};
const deploy = (w: W) => workload({ uid: 'u1', ...w });

describe('claimsFromObjects (CI manifests)', () => {
  it('names file and line of each resource, and counts only licensed containers', () => {
    const claims = claimsFromObjects(parseKubernetes(fixture('helm.yaml'), 'out/chart.yaml'), opts);
    expect(claims).toEqual([
      {
        product: 'oracle-db-ee',
        quantity: 3, // 2 pods × 1.5 CPU; the 4-CPU exporter is not Oracle
        peak: 3,
        scope: { namespace: 'prod', cluster: 'eu-1' },
        resource: { kind: 'StatefulSet', name: 'orders-db', namespace: 'prod', file: 'out/chart.yaml', line: 11 },
      },
    ]);
  });

  it('claims each item of a List, with the environment from the config mapping', () => {
    const claims = claimsFromObjects(parseKubernetes(fixture('list.yaml'), 'list.yaml'), opts);
    expect(claims.map((c) => [c.resource?.kind, c.resource?.line, c.quantity, c.scope.environment])).toEqual([
      ['Deployment', 4, 2, 'development'], // 3 × 500m → 2
      ['Pod', 17, 2, 'development'],
    ]);
  });

  it('takes the environment from the caller first, then a namespace label, then the mapping', () => {
    const items = [{ object: workload({ namespace: 'dev' }) }];
    expect(claimsFromObjects(items, { ...opts, environment: 'prod' })[0]!.scope.environment).toBe('prod');
    expect(
      claimsFromObjects(items, { ...opts, namespaceLabels: () => ({ 'entitlegate.io/environment': 'staging' }) })[0]!.scope.environment,
    ).toBe('staging');
    const withNamespace = [
      { object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'dev', labels: { 'entitlegate.io/environment': 'qa' } } } },
      ...items,
    ];
    expect(claimsFromObjects(withNamespace, opts)[0]!.scope.environment).toBe('qa');
    expect(claimsFromObjects(items, opts)[0]!.scope.environment).toBe('development');
    expect(claimsFromObjects([{ object: workload({ namespace: 'other' }) }], opts)[0]!.scope).toEqual({
      namespace: 'other',
      cluster: 'eu-1',
    });
  });

  it('uses the default namespace only for objects that name none, and settings.cluster when the caller gives none', () => {
    const noNs = workload();
    delete (noNs.metadata as Record<string, unknown>).namespace;
    const [c] = claimsFromObjects([{ object: noNs }], { products, namespace: 'team-a', settings: { cluster: 'from-settings' } });
    expect(c!.scope).toEqual({ namespace: 'team-a', cluster: 'from-settings' });
    expect(c!.resource).toEqual({ kind: 'Deployment', name: 'db', namespace: 'team-a' });
    expect(claimsFromObjects([{ object: workload({ namespace: 'x' }) }], { products, namespace: 'team-a' })[0]!.scope.namespace).toBe('x');
  });

  it('gives null with a reason for unknown quantities, and nothing for unlicensed or non-workload objects', () => {
    const claims = claimsFromObjects(
      [
        { object: workload({ containers: [{}] }) },
        { object: workload({ name: 'web', containers: [{ image: 'nginx:1.27', limit: '2' }] }) },
        { object: { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } } },
        {
          object: {
            apiVersion: 'example.com/v1',
            kind: 'Deployment',
            metadata: { name: 'crd' },
            spec: {
              template: {
                spec: { containers: [{ image: 'container-registry.oracle.com/database/enterprise:1', resources: { limits: { cpu: 1 } } }] },
              },
            },
          },
        },
      ],
      opts,
    );
    expect(claims).toHaveLength(1);
    expect(claims[0]).toMatchObject({
      product: 'oracle-db-ee',
      quantity: null,
      unknownReason: 'container db of oracle-db-ee has no CPU limit or request',
    });
    expect(claims[0]).not.toHaveProperty('peak');
  });

  it('claims zero, not unknown, for a workload with zero pods whose licensed container has no CPU', () => {
    const claims = claimsFromObjects(
      [
        { object: workload({ replicas: 0, containers: [{}] }) },
        { object: workload({ kind: 'DaemonSet', name: 'agent', containers: [{}] }) },
      ],
      { ...opts, nodeCount: 0 },
    );
    expect(claims.map((c) => [c.resource?.kind, c.quantity])).toEqual([
      ['Deployment', 0],
      ['DaemonSet', 0],
    ]);
    for (const c of claims) expect(c).not.toHaveProperty('unknownReason');
  });

  it('gives a CronJob that may overlap (concurrencyPolicy Allow) a peak of two runs', () => {
    const allow = claimsFromObjects([{ object: workload({ kind: 'CronJob', containers: [{ limit: '3' }] }) }], opts)[0]!;
    expect(allow).toMatchObject({ quantity: 3, peak: 6 });
    const forbid = claimsFromObjects(
      [{ object: workload({ kind: 'CronJob', containers: [{ limit: '3' }], spec: { concurrencyPolicy: 'Forbid' } }) }],
      opts,
    )[0]!;
    expect(forbid).toMatchObject({ quantity: 3, peak: 3 });
  });

  it('claims each product of a multi-product workload separately', () => {
    const claims = claimsFromObjects(
      [{ object: workload({ replicas: 2, containers: [{ limit: '1' }, { name: 'cache', image: 'redislabs/redis:7' }] }) }],
      opts,
    );
    expect(claims.map((c) => [c.product, c.quantity])).toEqual([
      ['oracle-db-ee', 2],
      ['redis-ent', 2],
    ]);
  });
});

describe('one input as kubectl apply reads it', () => {
  it('reads the same object twice as one, the last one, and says so', () => {
    const warnings: unknown[] = [];
    const text = [
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: db, namespace: prod }',
      'spec: { replicas: 4, template: { spec: { containers: [{ name: db, image: "container-registry.oracle.com/database/enterprise:21", resources: { limits: { cpu: "2" } } }] } } }',
      '---',
      'apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: { name: db, namespace: prod }',
      'spec: { replicas: 1, template: { spec: { containers: [{ name: db, image: "container-registry.oracle.com/database/enterprise:21", resources: { limits: { cpu: "2" } } }] } } }',
      '---',
      // another kind, another namespace or a generated name is another object
      'apiVersion: apps/v1\nkind: StatefulSet\nmetadata: { name: db, namespace: prod }',
      'spec: { replicas: 1, template: { spec: { containers: [{ name: db, image: "container-registry.oracle.com/database/enterprise:21", resources: { limits: { cpu: "1" } } }] } } }',
      '---',
      'apiVersion: v1\nkind: Pod\nmetadata: { generateName: job-, namespace: prod }',
      'spec: { containers: [{ name: db, image: "container-registry.oracle.com/database/enterprise:21", resources: { limits: { cpu: "1" } } }] }',
      '---',
      'apiVersion: v1\nkind: Pod\nmetadata: { generateName: job-, namespace: prod }',
      'spec: { containers: [{ name: db, image: "container-registry.oracle.com/database/enterprise:21", resources: { limits: { cpu: "1" } } }] }',
    ].join('\n');
    const claims = claimsFromObjects(parseKubernetes(text, 'twice.yaml'), { ...opts, onWarning: (w) => warnings.push(w) });
    expect(claims.map((c) => [c.resource?.kind, c.resource?.line, c.quantity])).toEqual([
      ['Deployment', 6, 2],
      ['StatefulSet', 11, 1],
      ['Pod', 16, 1],
      ['Pod', 21, 1],
    ]);
    expect(warnings).toEqual([
      {
        file: 'twice.yaml',
        line: 1,
        message: 'Deployment/prod/db is written again at line 6; only the last one is read, as kubectl apply leaves it',
      },
    ]);
  });

  it('counts at least the minReplicas of an autoscaler in the same input, which decides the pods once applied', () => {
    const hpa = (minReplicas: unknown, target = 'db', kind = 'Deployment', namespace = 'prod') => ({
      object: {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'h', namespace },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind, name: target },
          ...(minReplicas === undefined ? {} : { minReplicas }),
          maxReplicas: 50,
        },
      },
    });
    const db = { object: workload({ replicas: 1, containers: [{ limit: '1' }] }) };
    const q = (...items: { object: unknown }[]) => claimsFromObjects(items as never, opts).map((c) => c.quantity);
    expect(q(db, hpa(30))).toEqual([30]);
    expect(q(hpa(30), db)).toEqual([30]); // order does not matter
    expect(q({ object: workload({ replicas: 40, containers: [{ limit: '1' }] }) }, hpa(30))).toEqual([40]); // never lowers
    expect(q(db, hpa(undefined))).toEqual([1]); // default minReplicas 1
    expect(q(db, hpa(30, 'other'))).toEqual([1]);
    expect(q(db, hpa(30, 'db', 'StatefulSet'))).toEqual([1]);
    expect(q(db, hpa(30, 'db', 'Deployment', 'dev'))).toEqual([1]);
    expect(q(db, hpa('30'))).toEqual([1]); // refused by the API server; the target counts its own replicas
  });

  it('reads an AdmissionReview written in YAML as the change it asks for', () => {
    const review = [
      'apiVersion: admission.k8s.io/v1',
      'kind: AdmissionReview',
      'request:',
      '  uid: 1',
      '  kind: { group: apps, version: v1, kind: Deployment }',
      '  resource: { group: apps, version: v1, resource: deployments }',
      '  namespace: prod',
      '  operation: CREATE',
      '  object:',
      '    apiVersion: apps/v1',
      '    kind: Deployment',
      '    metadata: { name: db, namespace: prod }',
      '    spec: { replicas: 3, template: { spec: { containers: [{ name: db, image: "container-registry.oracle.com/database/enterprise:21", resources: { limits: { cpu: "2" } } }] } } }',
    ].join('\n');
    const claims = claimsFromObjects(parseKubernetes(review.replace('uid: 1', "uid: '1'"), 'review.yaml'), opts);
    expect(claims).toMatchObject([
      { product: 'oracle-db-ee', quantity: 6, resource: { kind: 'Deployment', name: 'db', file: 'review.yaml', line: 1 } },
    ]);
    // a malformed one is bad input, as in JSON
    expect(() => claimsFromObjects(parseKubernetes(review, 'review.yaml'), opts)).toThrow(
      /review.yaml: AdmissionReview request has no uid/,
    );
  });
});

describe('claimsFromChange (admission)', () => {
  it('CREATE claims the new object', () => {
    expect(one(deploy({ replicas: 3, containers: [{ limit: '2' }] }), null)).toMatchObject({
      quantity: 6,
      peak: 6,
      resource: { kind: 'Deployment', name: 'db', namespace: 'prod' },
    });
  });

  it('DELETE frees the old object, with no peak', () => {
    expect(one(null, deploy({ replicas: 3, containers: [{ limit: '2' }] }))).toMatchObject({ quantity: -6, peak: 0 });
  });

  it('DELETE of a workload of unknown size frees nothing rather than being blocked', () => {
    const c = one(null, deploy({ kind: 'DaemonSet' }));
    expect(c).toMatchObject({ quantity: 0, peak: 0 });
    expect(c).not.toHaveProperty('unknownReason');
  });

  it('UPDATE is new minus old; a label-only update is a zero delta', () => {
    const old = deploy({ replicas: 2, containers: [{ limit: '2' }] });
    expect(one(deploy({ replicas: 2, containers: [{ limit: '2' }], labels: { team: 'x' } }), old)).toMatchObject({ quantity: 0, peak: 0 });
    expect(one(deploy({ replicas: 5, containers: [{ limit: '2' }] }), old)).toMatchObject({ quantity: 6, peak: 6 });
    expect(one(deploy({ replicas: 1, containers: [{ limit: '2' }] }), old)).toMatchObject({ quantity: -2, peak: 0 });
  });

  it('UPDATE of a workload whose size is unknown on both sides is zero when nothing licence-relevant changed, unknown otherwise', () => {
    const old = deploy({ containers: [{}] });
    expect(one(deploy({ containers: [{}], labels: { a: 'b' } }), old)).toMatchObject({ quantity: 0 });
    expect(one(deploy({ replicas: 4, containers: [{}] }), old)).toMatchObject({
      quantity: null,
      unknownReason: expect.stringContaining('no CPU'),
    });
  });

  it('UPDATE to zero pods of a workload with no CPU is zero, not unknown, in either direction it is known', () => {
    const none = deploy({ replicas: 0, containers: [{}] });
    // created at zero, relabelled at zero
    expect(one(none, null)).toMatchObject({ quantity: 0, peak: 0 });
    expect(one(deploy({ replicas: 0, containers: [{}], labels: { a: 'b' } }), none)).toMatchObject({ quantity: 0 });
    // scaled down to zero from an unknown size: frees nothing provable, and is not blocked as unknown
    const c = one(none, deploy({ replicas: 3, containers: [{}] }));
    expect(c).toMatchObject({ quantity: 0, peak: 0 });
    expect(c).not.toHaveProperty('unknownReason');
    // scaled up from zero: the new size is unknown
    expect(one(deploy({ replicas: 3, containers: [{}] }), none)).toMatchObject({
      quantity: null,
      unknownReason: expect.stringContaining('no CPU'),
    });
  });

  it('UPDATE that drops a product frees it; one that adds a product claims it', () => {
    const withCache = deploy({ containers: [{ limit: '1' }, { name: 'cache', image: 'redislabs/redis:7' }] });
    const without = deploy({ containers: [{ limit: '1' }] });
    expect(claimsFromChange(without, withCache, opts).find((c) => c.product === 'redis-ent')).toMatchObject({ quantity: -1, peak: 0 });
    expect(claimsFromChange(withCache, without, opts).find((c) => c.product === 'redis-ent')).toMatchObject({ quantity: 1 });
  });

  it('gives no claim for a Pod that a controller owns (its controller was counted)', () => {
    expect(claimsFromChange(workload({ kind: 'Pod', ownerKind: 'ReplicaSet' }), null, opts)).toEqual([]);
    expect(claimsFromChange(workload({ kind: 'Pod', ownerKind: 'Job' }), null, opts)).toEqual([]);
    expect(claimsFromChange(workload({ kind: 'ReplicaSet', ownerKind: 'Deployment' }), null, opts)).toEqual([]);
    // an owner entitlegate does not count (an operator's custom resource) leaves the Pod counted
    const operatorPod = workload({ kind: 'Pod' });
    (operatorPod.metadata as Record<string, unknown>).ownerReferences = [
      { apiVersion: 'db.example.com/v1', kind: 'OracleDB', name: 'o', uid: 'x', controller: true },
    ];
    expect(one(operatorPod, null).quantity).toBe(1);
    expect(one(workload({ kind: 'Pod' }), null).quantity).toBe(1);
    // an owner reference that is not the controller (garbage collection only) does not make the Pod counted elsewhere
    const gcOnly = workload({ kind: 'Pod', name: 'gc' });
    (gcOnly.metadata as Record<string, unknown>).ownerReferences = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'y' }];
    expect(one(gcOnly, null).quantity).toBe(1);
  });

  it('measures an UPDATE with the old ownership: adopting a running Pod frees nothing, releasing one charges nothing', () => {
    const bare = workload({ kind: 'Pod', name: 'db', containers: [{ limit: '4' }] });
    const adopted = workload({ kind: 'Pod', name: 'db', containers: [{ limit: '4' }], ownerKind: 'ReplicaSet' });
    expect(claimsFromChange(adopted, bare, opts)).toMatchObject([{ product: 'oracle-db-ee', quantity: 0 }]);
    // nor does adoption hide what the same update adds
    const adoptedBigger = workload({ kind: 'Pod', name: 'db', containers: [{ limit: '16' }], ownerKind: 'ReplicaSet' });
    expect(one(adoptedBigger, bare)).toMatchObject({ quantity: 12 });
    expect(claimsFromChange(bare, adopted, opts)).toEqual([]);
    // a DELETE of an owned Pod is still its controller's business
    expect(claimsFromChange(null, adopted, opts)).toEqual([]);
  });

  it('charges what kubectl debug adds (ephemeral containers) and what an in-place resize adds to a bare Pod', () => {
    const pod = workload({ kind: 'Pod', name: 'app', containers: [{ name: 'app', image: 'busybox', limit: '1' }] });
    const debugged = structuredClone(pod) as { spec: Record<string, unknown> };
    debugged.spec.ephemeralContainers = [{ name: 'debugger', image: 'redislabs/redis:7' }];
    expect(claimsFromChange(debugged, pod, opts)).toMatchObject([{ product: 'redis-ent', quantity: 1 }]);
    const oraclePod = workload({ kind: 'Pod', name: 'db', containers: [{ limit: '1' }] });
    const oracleDebugged = structuredClone(oraclePod) as { spec: Record<string, unknown> };
    oracleDebugged.spec.ephemeralContainers = [{ name: 'debugger', image: 'container-registry.oracle.com/database/enterprise:21' }];
    expect(one(oracleDebugged, oraclePod)).toMatchObject({ quantity: null, unknownReason: expect.stringContaining('debugger') });
    const resized = workload({ kind: 'Pod', name: 'db', containers: [{ limit: '16' }] });
    expect(one(resized, oraclePod)).toMatchObject({ quantity: 15 });
  });

  it('scales through the scale subresource, against the parent template', () => {
    const parent = deploy({ replicas: 2, containers: [{ limit: '1500m' }] });
    const scale = (replicas: number) => ({
      apiVersion: 'autoscaling/v1',
      kind: 'Scale',
      metadata: { name: 'db', namespace: 'prod' },
      spec: { replicas },
    });
    expect(one(scale(6), scale(2), { parent })).toMatchObject({ quantity: 6, peak: 6, resource: { kind: 'Deployment', name: 'db' } }); // 9 − 3
    expect(one(scale(1), scale(2), { parent })).toMatchObject({ quantity: -1, peak: 0 }); // 2 − 3
    expect(claimsFromChange(scale(6), scale(2), opts)).toEqual([]);
    // a parent whose container has no CPU: scaling it to zero is zero, not unknown
    const noCpu = deploy({ replicas: 2, containers: [{}] });
    const toZero = one(scale(0), scale(2), { parent: noCpu });
    expect(toZero).toMatchObject({ quantity: 0, peak: 0 });
    expect(toZero).not.toHaveProperty('unknownReason');
  });
});

describe('rolling-update peaks', () => {
  const image2 = 'container-registry.oracle.com/database/enterprise:23';
  const rolled = (w: W) => deploy({ ...w, containers: (w.containers ?? [{ limit: '1' }]).map((c) => ({ ...c, image: image2 })) });

  it('Deployment default maxSurge 25% is rounded up: 4 pods surge 1, 5 pods surge 2', () => {
    expect(one(rolled({ replicas: 4 }), deploy({ replicas: 4 }))).toMatchObject({ quantity: 0, peak: 1 });
    expect(one(rolled({ replicas: 5 }), deploy({ replicas: 5 }))).toMatchObject({ quantity: 0, peak: 2 });
  });

  it('Deployment with an int or percent maxSurge', () => {
    const strategy = (maxSurge: number | string) => ({
      spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge, maxUnavailable: 0 } } },
    });
    expect(one(rolled({ replicas: 4, ...strategy(3) }), deploy({ replicas: 4 }))).toMatchObject({ quantity: 0, peak: 3 });
    expect(one(rolled({ replicas: 10, ...strategy('15%') }), deploy({ replicas: 10 }))).toMatchObject({ quantity: 0, peak: 2 }); // 1.5 → 2
    expect(one(rolled({ replicas: 4, ...strategy(0) }), deploy({ replicas: 4 }))).toMatchObject({ quantity: 0, peak: 0 });
  });

  it('Deployment whose maxSurge is not an int or a percent surges by the default 25%, never by none', () => {
    for (const maxSurge of ['{{ .Values.surge }}', 1.5, -2, 'lots']) {
      const w = rolled({ replicas: 8, spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge } } } });
      expect(one(w, deploy({ replicas: 8 })), String(maxSurge)).toMatchObject({ quantity: 0, peak: 2 });
    }
  });

  it('Deployment peak counts the costlier pods first when a rollout also resizes them', () => {
    // 4 old pods at 1 CPU become 4 new at 2 CPU, surge 1: worst moment 4 new (8) + 1 old (1) = 9, old total 4 → peak 5, net 4
    expect(one(rolled({ replicas: 4, containers: [{ limit: '2' }] }), deploy({ replicas: 4 }))).toMatchObject({ quantity: 4, peak: 5 });
    // shrinking pods: worst is all 4 old (4) + 1 new (0.5) = 4.5 → 5, old 4 → peak 1
    expect(one(rolled({ replicas: 4, containers: [{ limit: '500m' }] }), deploy({ replicas: 4 }))).toMatchObject({ quantity: -2, peak: 1 });
  });

  it('Deployment rollout that also scales up: new replicas + surge pods at most', () => {
    // 2 → 4 replicas, surge 1: 5 pods × 1 CPU = 5 at worst, old 2 → peak 3, net 2
    expect(one(rolled({ replicas: 4 }), deploy({ replicas: 2 }))).toMatchObject({ quantity: 2, peak: 3 });
  });

  it('no surge without a template change, or with Recreate', () => {
    expect(one(deploy({ replicas: 8 }), deploy({ replicas: 4 }))).toMatchObject({ quantity: 4, peak: 4 });
    expect(one(rolled({ replicas: 4, spec: { strategy: { type: 'Recreate' } } }), deploy({ replicas: 4 }))).toMatchObject({
      quantity: 0,
      peak: 0,
    });
  });

  it('StatefulSets replace one pod at a time: no surge', () => {
    expect(one(rolled({ kind: 'StatefulSet', replicas: 4 }), deploy({ kind: 'StatefulSet', replicas: 4 }))).toMatchObject({
      quantity: 0,
      peak: 0,
    });
    expect(
      one(rolled({ kind: 'StatefulSet', replicas: 4, containers: [{ limit: '2' }] }), deploy({ kind: 'StatefulSet', replicas: 4 })),
    ).toMatchObject({ quantity: 4, peak: 4 });
  });

  it('DaemonSet surges only with maxSurge set', () => {
    const ds = (w: W) => ({ kind: 'DaemonSet', ...w });
    expect(one(rolled(ds({})), deploy(ds({})), { nodeCount: 10 })).toMatchObject({ quantity: 0, peak: 0 });
    const surge = { spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '20%', maxUnavailable: 0 } } } };
    expect(one(rolled(ds(surge)), deploy(ds(surge)), { nodeCount: 10 })).toMatchObject({ quantity: 0, peak: 2 });
  });

  it('instances metric surges in pods', () => {
    const redis = (image: string, replicas: number) => deploy({ replicas, containers: [{ image }] });
    const [c] = claimsFromChange(redis('redislabs/redis:7.4', 8), redis('redislabs/redis:7.2', 8), opts);
    expect(c).toMatchObject({ product: 'redis-ent', quantity: 0, peak: 2 });
  });

  it('quantity annotation that raises the amount fixes it: no surge', () => {
    const fixed = { annotations: { 'entitlegate.io/quantity': '40' } };
    expect(one(rolled({ replicas: 4, ...fixed }), deploy({ replicas: 4, ...fixed }))).toMatchObject({ quantity: 0, peak: 0 });
  });
});

describe('label-matched product with only unknown parts', () => {
  it('names containers that the product lists but the pod lacks', () => {
    const p: Product[] = [{ id: 'x', metric: 'vcpu', match: { kubernetes: { labels: { app: 'x' }, containers: ['engine'] } } }];
    const [c] = claimsFromObjects([{ object: workload({ templateLabels: { app: 'x' } }) }], { products: p });
    expect(c).toMatchObject({ product: 'x', quantity: null, unknownReason: 'none of the containers licensed for x is in the pod' });
  });
});
