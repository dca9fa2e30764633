import { describe, expect, it } from 'vitest';
import type { Product } from './settings.ts';
import { matchProducts } from './match.ts';
import { amountFor, withScale } from './quantity.ts';
import { products, workload, type W } from './test-objects.ts';
import { podTemplate, podsOf } from './workload.ts';

function amounts(o: unknown, opts: { nodeCount?: number; daemonSetNodes?: number } = {}, list: Product[] = products) {
  return Object.fromEntries(matchProducts(podTemplate(o)!, list).map((m) => [m.productId, amountFor(o, m, m.product?.metric, opts)]));
}
const vcpu = (w: W, opts = {}) => amounts(workload(w), opts)['oracle-db-ee']!;

describe('pods per kind', () => {
  it.each([
    ['Deployment', { replicas: 4 }, 4],
    ['Deployment', {}, 1],
    ['Deployment', { replicas: 0 }, 0],
    ['StatefulSet', { replicas: 3 }, 3],
    ['ReplicaSet', { replicas: 2 }, 2],
    ['ReplicationController', { replicas: 5 }, 5],
    ['Pod', {}, 1],
    ['Job', { spec: { parallelism: 3 } }, 3],
    ['Job', {}, 1],
    ['Job', { spec: { parallelism: 5, completions: 2 } }, 2],
    ['CronJob', { spec: { jobTemplate: { spec: { parallelism: 4, template: {} } } } }, 4],
    ['CronJob', {}, 1],
  ] as [string, W, number][])('%s %j runs %i pods', (kind, w, pods) => {
    expect(podsOf(workload({ kind, ...w }))).toEqual({ pods });
  });

  it('takes a DaemonSet from the node count, else the configured count, else unknown', () => {
    const ds = workload({ kind: 'DaemonSet' });
    expect(podsOf(ds, { nodeCount: 7, daemonSetNodes: 3 })).toEqual({ pods: 7 });
    expect(podsOf(ds, { daemonSetNodes: 3 })).toEqual({ pods: 3 });
    expect(podsOf(ds)).toMatchObject({ pods: null, reason: expect.stringContaining('nodes') });
  });
});

describe('vcpu', () => {
  it('is the sum of licensed limits per pod, times pods, rounded up per claim', () => {
    expect(vcpu({ replicas: 3, containers: [{ limit: '500m' }] }).quantity).toBe(2); // 1500m → 2
    expect(vcpu({ replicas: 10, containers: [{ limit: '0.1' }] }).quantity).toBe(1); // exactly 1000m, not 1.0000000001
    expect(vcpu({ replicas: 2, containers: [{ limit: '1.5' }, { name: 'x', image: 'acme/x', limit: '8' }] }).quantity).toBe(3);
  });

  it('uses the request where a container has no limit', () => {
    expect(vcpu({ replicas: 2, containers: [{ request: '750m' }] }).quantity).toBe(2);
    expect(vcpu({ containers: [{ request: '4', limit: '2' }] }).quantity).toBe(2);
  });

  it('counts init containers by the effective request rule: max(largest init, sum of app containers)', () => {
    // app 1 CPU, init 3 CPU → the pod needs 3
    expect(vcpu({ containers: [{ limit: '1' }], initContainers: [{ name: 'init', limit: '3' }] }).perPod).toBe(3000);
    // app 2 + 2 = 4, init 3 → 4
    expect(vcpu({ containers: [{ limit: '2' }, { name: 'b', limit: '2' }], initContainers: [{ name: 'init', limit: '3' }] }).perPod).toBe(
      4000,
    );
    // an unlicensed init container costs nothing
    expect(vcpu({ containers: [{ limit: '1' }], initContainers: [{ name: 'init', image: 'busybox', limit: '16' }] }).perPod).toBe(1000);
  });

  it('counts sidecars (init containers with restartPolicy: Always) like app containers', () => {
    // sidecar 1 runs beside app 2 → 3; a later init of 2.5 runs beside the sidecar → 3.5
    expect(vcpu({ containers: [{ limit: '2' }], initContainers: [{ name: 'side', limit: '1', restartPolicy: 'Always' }] }).perPod).toBe(
      3000,
    );
    expect(
      vcpu({
        containers: [{ limit: '2' }],
        initContainers: [
          { name: 'side', limit: '1', restartPolicy: 'Always' },
          { name: 'init', limit: '2500m' },
        ],
      }).perPod,
    ).toBe(3500);
    // an init container that runs before the sidecar starts does not share with it
    expect(
      vcpu({
        containers: [{ limit: '1' }],
        initContainers: [
          { name: 'init', limit: '2500m' },
          { name: 'side', limit: '1', restartPolicy: 'Always' },
        ],
      }).perPod,
    ).toBe(2500);
  });

  it('is unknown when a licensed container has no CPU at all, unless the pod has a pod-level limit', () => {
    const a = vcpu({ replicas: 2, containers: [{}, { name: 'x', image: 'acme/x' }] });
    expect(a.quantity).toBeNull();
    expect(a.unknownReason).toBe('container db of oracle-db-ee has no CPU limit or request');
    const pod = workload({ replicas: 2, containers: [{}] });
    (pod.spec as { template: { spec: Record<string, unknown> } }).template.spec.resources = { limits: { cpu: '3' } };
    expect(amounts(pod)['oracle-db-ee']!.quantity).toBe(6);
  });

  it('is zero with zero pods, even when one pod would need an unknown amount', () => {
    // A Deployment scaled to zero whose licensed container has no CPU, or an invalid one.
    expect(vcpu({ replicas: 0, containers: [{}] })).toMatchObject({ quantity: 0, pods: 0, perPod: 0 });
    expect(vcpu({ replicas: 0, containers: [{}] })).not.toHaveProperty('unknownReason');
    expect(vcpu({ replicas: 0, containers: [{ limit: 'lots' }] }).quantity).toBe(0);
    expect(vcpu({ replicas: 0, containers: [{ limit: '2' }] })).toMatchObject({ quantity: 0, perPod: 2000 });
    // A DaemonSet on no nodes.
    expect(vcpu({ kind: 'DaemonSet', containers: [{}] }, { nodeCount: 0 })).toMatchObject({ quantity: 0, pods: 0 });
    expect(vcpu({ kind: 'DaemonSet', containers: [{}] }, { daemonSetNodes: 0 }).quantity).toBe(0);
    // One pod or more with no CPU is still unknown.
    expect(vcpu({ replicas: 1, containers: [{}] }).quantity).toBeNull();
    expect(vcpu({ kind: 'DaemonSet', containers: [{}] }, { nodeCount: 1 }).quantity).toBeNull();
  });

  it('is unknown for an invalid CPU quantity, naming it', () => {
    expect(vcpu({ containers: [{ limit: 'lots' }] })).toMatchObject({
      quantity: null,
      unknownReason: 'invalid CPU quantity in container db (limit "lots")',
    });
  });

  it('is unknown for a DaemonSet without a node count, and nodes × CPU with one', () => {
    expect(vcpu({ kind: 'DaemonSet' }).quantity).toBeNull();
    expect(vcpu({ kind: 'DaemonSet', containers: [{ limit: '250m' }] }, { nodeCount: 10 }).quantity).toBe(3);
    expect(vcpu({ kind: 'DaemonSet', containers: [{ limit: '250m' }] }, { daemonSetNodes: 4 }).quantity).toBe(1);
  });
});

describe('other metrics', () => {
  it('counts instances as pods', () => {
    expect(
      amounts(workload({ kind: 'StatefulSet', replicas: 3, containers: [{ image: 'redislabs/redis:7' }] }))['redis-ent']!.quantity,
    ).toBe(3);
  });

  it('cannot read users from Kubernetes without the quantity annotation', () => {
    const a = amounts(workload({ replicas: 2, containers: [{ image: 'crm/server:1', limit: '1' }] }))['crm-users']!;
    expect(a.quantity).toBeNull();
    expect(a.unknownReason).toContain('entitlegate.io/quantity');
    const b = amounts(
      workload({ replicas: 2, containers: [{ image: 'crm/server:1' }], annotations: { 'entitlegate.io/quantity': '250' } }),
    )['crm-users']!;
    expect(b).toMatchObject({ quantity: 250, fixed: true });
  });

  it('lets the quantity annotation override any metric, from the workload or the pod template', () => {
    expect(vcpu({ replicas: 10, containers: [{ limit: '4' }], annotations: { 'entitlegate.io/quantity': '2' } }).quantity).toBe(2);
    expect(vcpu({ replicas: 10, containers: [{}], templateAnnotations: { 'entitlegate.io/quantity': '6' } }).quantity).toBe(6);
    expect(vcpu({ annotations: { 'entitlegate.io/quantity': 'two' } })).toMatchObject({
      quantity: null,
      unknownReason: expect.stringContaining('"two"'),
    });
  });

  it('is unknown for a product named by annotation that the config lacks', () => {
    const a = amounts(workload({ annotations: { 'entitlegate.io/product': 'ghost' } }))['ghost']!;
    expect(a.quantity).toBeNull();
    expect(a.unknownReason).toContain('"ghost"');
  });
});

describe('scale subresource', () => {
  it('applies the Scale replicas to the parent pod template', () => {
    const parent = workload({ replicas: 2, containers: [{ limit: '1500m' }] });
    const scaled = withScale(parent, { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'db' }, spec: { replicas: 5 } });
    expect(amounts(scaled)['oracle-db-ee']!.quantity).toBe(8); // 7.5 → 8
    expect(amounts(parent)['oracle-db-ee']!.quantity).toBe(3); // the parent itself is untouched
  });
});
