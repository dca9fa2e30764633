// Builders for test objects: a workload is mostly boilerplate around the few
// fields a test is about.
import type { Product } from './settings.ts';

export const ORACLE = 'container-registry.oracle.com/database/enterprise:21.3.0.0';

export const products: Product[] = [
  { id: 'oracle-db-ee', metric: 'vcpu', match: { kubernetes: { images: ['container-registry.oracle.com/database/enterprise*'] } } },
  { id: 'redis-ent', metric: 'instances', match: { kubernetes: { images: ['redislabs/redis*'] } } },
  { id: 'mq', metric: 'vcpu', match: { kubernetes: { labels: { app: 'mq', tier: 'broker' } } } },
  { id: 'mq-named', metric: 'vcpu', match: { kubernetes: { labels: { app: 'mq-named' }, containers: ['broker'] } } },
  { id: 'ibm-mq-5724-H72', metric: 'vcpu' },
  { id: 'crm-users', metric: 'users', match: { kubernetes: { images: ['crm/*'] } } },
];

export interface C {
  name?: string;
  image?: string;
  limit?: string | number;
  request?: string | number;
  restartPolicy?: string;
}

export function container(c: C): Record<string, unknown> {
  const resources: Record<string, unknown> = {};
  if (c.limit !== undefined) resources.limits = { cpu: c.limit };
  if (c.request !== undefined) resources.requests = { cpu: c.request };
  return { name: c.name ?? 'db', image: c.image ?? ORACLE, resources, ...(c.restartPolicy ? { restartPolicy: c.restartPolicy } : {}) };
}

export interface W {
  kind?: string;
  apiVersion?: string;
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  replicas?: number;
  containers?: C[];
  initContainers?: C[];
  annotations?: Record<string, string>;
  templateAnnotations?: Record<string, string>;
  labels?: Record<string, string>;
  templateLabels?: Record<string, string>;
  spec?: Record<string, unknown>;
  ownerKind?: string;
  status?: Record<string, unknown>;
}

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

/** A workload of any kind with one Oracle container at 1 CPU unless told otherwise. */
export function workload(w: W = {}): Record<string, unknown> {
  const kind = w.kind ?? 'Deployment';
  const podSpec: Record<string, unknown> = { containers: (w.containers ?? [{ limit: '1' }]).map(container) };
  if (w.initContainers) podSpec.initContainers = w.initContainers.map(container);
  const templateMeta: Record<string, unknown> = {};
  if (w.templateLabels) templateMeta.labels = w.templateLabels;
  if (w.templateAnnotations) templateMeta.annotations = w.templateAnnotations;
  const metadata: Record<string, unknown> = { name: w.name ?? 'db', namespace: w.namespace ?? 'prod' };
  if (w.uid) metadata.uid = w.uid;
  if (w.resourceVersion) metadata.resourceVersion = w.resourceVersion;
  if (w.labels) metadata.labels = w.labels;
  if (w.annotations) metadata.annotations = w.annotations;
  if (w.ownerKind)
    metadata.ownerReferences = [{ apiVersion: API[w.ownerKind] ?? 'v1', kind: w.ownerKind, name: 'owner', uid: 'o-1', controller: true }];
  let spec: Record<string, unknown>;
  const template = { metadata: templateMeta, spec: podSpec };
  if (kind === 'Pod') {
    if (w.templateLabels) metadata.labels = { ...w.templateLabels, ...w.labels };
    if (w.templateAnnotations) metadata.annotations = { ...w.templateAnnotations, ...w.annotations };
    spec = { ...podSpec, ...w.spec };
  } else if (kind === 'CronJob') spec = { schedule: '0 * * * *', jobTemplate: { spec: { template } }, ...w.spec };
  else spec = { ...(w.replicas !== undefined ? { replicas: w.replicas } : {}), template, ...w.spec };
  const o: Record<string, unknown> = { apiVersion: w.apiVersion ?? API[kind] ?? 'v1', kind, metadata, spec };
  if (w.status) o.status = w.status;
  return o;
}
