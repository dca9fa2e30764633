import { describe, expect, it } from 'vitest';
import type { Product } from './settings.ts';
import { matchProducts } from './match.ts';
import { amountFor, withScale, type QuantityOptions } from './quantity.ts';
import { products, workload, type W } from './test-objects.ts';
import { podTemplate, podsOf } from './workload.ts';

function amounts(o: unknown, opts: QuantityOptions = {}, list: Product[] = products) {
  return Object.fromEntries(matchProducts(podTemplate(o)!, list).map((m) => [m.productId, amountFor(o, m, m.product?.metric, opts)]));
}
const vcpu = (w: W, opts: QuantityOptions = {}) => amounts(workload(w), opts)['oracle-db-ee']!;

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

  it.each([
    ['Deployment', { spec: { replicas: '3' } }, 'spec.replicas "3"'],
    ['StatefulSet', { spec: { replicas: 2.5 } }, 'spec.replicas 2.5'],
    ['ReplicaSet', { spec: { replicas: -1 } }, 'spec.replicas -1'],
    ['Deployment', { spec: { replicas: { '{ .Values.replicas }': null } } }, 'spec.replicas {"{ .Values.replicas }":null}'],
    ['Deployment', { spec: { replicas: '{{ .Values.replicas }}' } }, 'spec.replicas "{{ .Values.replicas }}"'],
    ['ReplicationController', { spec: { replicas: true } }, 'spec.replicas true'],
    ['Job', { spec: { parallelism: '8' } }, 'spec.parallelism "8"'],
    ['Job', { spec: { parallelism: 2, completions: 0.5 } }, 'spec.completions 0.5'],
  ] as [string, W, string][])('%s %j runs an unknown number of pods, never 1 or 0', (kind, w, reason) => {
    expect(podsOf(workload({ kind, ...w }))).toEqual({ pods: null, reason: `${reason} is not a whole non-negative number` });
    expect(vcpu({ kind, ...w })).toMatchObject({ quantity: null, unknownReason: expect.stringContaining(reason) });
  });

  it("reads a CronJob's job template the same way", () => {
    const cron = workload({ kind: 'CronJob' }) as { spec: { jobTemplate: { spec: Record<string, unknown> } } };
    cron.spec.jobTemplate.spec.parallelism = -3;
    const reason = 'spec.jobTemplate.spec.parallelism -3 is not a whole non-negative number';
    expect(podsOf(cron)).toEqual({ pods: null, reason });
    expect(amounts(cron)['oracle-db-ee']).toMatchObject({ quantity: null, unknownReason: reason });
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

  it('takes a CPU limit or request of zero (no CFS quota: every core of the node) as unknown, never 0', () => {
    for (const zero of ['0', 0, '0m', '0.0']) {
      expect(vcpu({ replicas: 4, containers: [{ limit: zero }] }), String(zero)).toMatchObject({
        quantity: null,
        unknownReason: expect.stringContaining('zero bounds nothing'),
      });
      expect(vcpu({ replicas: 4, containers: [{ request: zero }] }).quantity, String(zero)).toBeNull();
    }
    for (const bad of ['-1', -2, 'lots', '1.5.0', '{{ .Values.cpu }}'])
      expect(vcpu({ containers: [{ limit: bad }] }).quantity, String(bad)).toBeNull();
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

  it('lets the quantity annotation fill in an unmeasurable amount or raise a measured one, from the workload or the pod template', () => {
    expect(vcpu({ replicas: 10, containers: [{}], templateAnnotations: { 'entitlegate.io/quantity': '6' } }).quantity).toBe(6);
    expect(vcpu({ replicas: 2, containers: [{ limit: '4' }], annotations: { 'entitlegate.io/quantity': '12' } })).toMatchObject({
      quantity: 12,
      fixed: true,
    });
    expect(
      amounts(workload({ containers: [{ image: 'crm/app:1' }], annotations: { 'entitlegate.io/quantity': '250' } }))['crm-users'],
    ).toMatchObject({ quantity: 250 });
  });

  it('never lets the annotation lower a measured amount, unless the namespace is trusted', () => {
    const tenant = { replicas: 10, containers: [{ limit: '4' }], annotations: { 'entitlegate.io/quantity': '2' } };
    expect(vcpu(tenant)).toMatchObject({ quantity: 40, fixed: false });
    expect(vcpu(tenant, { annotationMayLower: true })).toMatchObject({ quantity: 2, fixed: true });
    expect(vcpu({ ...tenant, annotations: { 'entitlegate.io/quantity': '0' } })).toMatchObject({ quantity: 40 });
  });

  it('reads the annotation as a whole non-negative number; anything else never hides what is measured', () => {
    for (const bad of ['two', '-4', '2.5', '1e3', '{{ .Values.cpu }}', '0x10', '']) {
      expect(vcpu({ replicas: 3, containers: [{ limit: '1' }], annotations: { 'entitlegate.io/quantity': bad } }).quantity, bad).toBe(3);
      expect(vcpu({ containers: [{}], annotations: { 'entitlegate.io/quantity': bad } }), bad).toMatchObject({
        quantity: null,
        unknownReason: expect.stringContaining(JSON.stringify(bad)),
      });
    }
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
    // a Scale whose replicas are not a count is not the parent's count either
    const odd = withScale(parent, { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'db' }, spec: { replicas: '50' } });
    expect(amounts(odd)['oracle-db-ee']!).toMatchObject({ quantity: null, unknownReason: expect.stringContaining('spec.replicas "50"') });
  });
});
