import { describe, expect, it } from 'vitest';
import { claimsFromObjects } from './claims.ts';
import { usageFromObjects } from './inventory.ts';
import { slimObject } from './slim.ts';
import { products, workload } from './test-objects.ts';
import { ownedByCountedController, WORKLOADS } from './workload.ts';

const KINDS = Object.keys(WORKLOADS);
const API: Record<string, string> = {
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  ReplicaSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  ReplicationController: 'v1',
  Pod: 'v1',
  Job: 'batch/v1',
  CronJob: 'batch/v1',
};
/** What really controls what in a cluster: the built-in controllers. */
const REAL = new Set([
  'Deployment>ReplicaSet',
  'ReplicaSet>Pod',
  'StatefulSet>Pod',
  'DaemonSet>Pod',
  'Job>Pod',
  'ReplicationController>Pod',
  'CronJob>Job',
]);

function ownedBy(kind: string, ownerKind: string, ownerApiVersion = API[ownerKind] ?? 'v1') {
  const o = workload({ kind, uid: `${kind}-uid`, replicas: 2, containers: [{ limit: '2' }] });
  (o.metadata as Record<string, unknown>).ownerReferences = [
    { apiVersion: ownerApiVersion, kind: ownerKind, name: 'owner', uid: 'o', controller: true },
  ];
  return o;
}

describe('owner references cannot hide a workload', () => {
  const pairs = KINDS.flatMap((kind) => KINDS.map((owner) => [kind, owner, REAL.has(`${owner}>${kind}`)] as const));

  it.each(pairs)('%s whose controller is a %s is left to it: %s', (kind, owner, left) => {
    const o = ownedBy(kind, owner);
    expect(ownedByCountedController(o)).toBe(left);
    // in CI manifests (with the controller among them), in admission (claims) and in the live inventory (usage), alike
    const namespace = (o.metadata as Record<string, unknown>).namespace;
    const controller = { apiVersion: API[owner], kind: owner, metadata: { name: 'owner', namespace } };
    expect(claimsFromObjects([{ object: controller }, { object: o }], { products, nodeCount: 3 }).length).toBe(left ? 0 : 1);
    // in CI manifests without it, nothing controls the object: it is counted
    expect(claimsFromObjects([{ object: o }], { products, nodeCount: 3 }).length).toBe(1);
    expect(usageFromObjects([o], { products, nodeCount: 3 }).length).toBe(left ? 0 : 1);
    // the inventory slims list items (which carry no kind) by the same rule
    const item = { metadata: o.metadata, spec: o.spec };
    expect(Object.keys(slimObject(kind, API[kind]!, item))).toEqual(
      left ? ['apiVersion', 'kind', 'metadata'] : ['apiVersion', 'kind', 'metadata', 'spec'],
    );
  });

  it('counts a workload whose owner has the right kind in another API group (a custom resource named ReplicaSet)', () => {
    expect(ownedByCountedController(ownedBy('Pod', 'ReplicaSet', 'example.com/v1'))).toBe(false);
    expect(ownedByCountedController(ownedBy('Pod', 'ReplicaSet', 'v1'))).toBe(false);
    expect(ownedByCountedController(ownedBy('ReplicaSet', 'Deployment', 'extensions/v1beta1'))).toBe(true);
  });

  it('the inventory lists each kind of the table from its group, and the scale subresource parents come from it too', () => {
    expect(KINDS.sort()).toEqual([
      'CronJob',
      'DaemonSet',
      'Deployment',
      'Job',
      'Pod',
      'ReplicaSet',
      'ReplicationController',
      'StatefulSet',
    ]);
  });
});
