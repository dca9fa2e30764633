// The workload kinds entitlegate reads: where each keeps its pod template,
// how many pods it runs, and who owns it.
import { arr, count, groupOf, kindOf, metadata, rec, spec, str, stringMap, type Obj } from './objects.ts';

/** Kind → the API groups it is served from (extensions/v1beta1 for old manifests). */
const WORKLOAD_GROUPS: Record<string, readonly string[]> = {
  Deployment: ['apps', 'extensions'],
  StatefulSet: ['apps'],
  ReplicaSet: ['apps', 'extensions'],
  DaemonSet: ['apps', 'extensions'],
  ReplicationController: [''],
  Pod: [''],
  Job: ['batch'],
  CronJob: ['batch'],
};
export const WORKLOAD_KINDS = Object.keys(WORKLOAD_GROUPS);

/** A kind we count; a custom resource that happens to be called "Deployment" is not one. */
export function isWorkload(o: unknown): boolean {
  return WORKLOAD_GROUPS[kindOf(o)]?.includes(groupOf(o)) ?? false;
}

export function isScale(o: unknown): boolean {
  return kindOf(o) === 'Scale' && groupOf(o) === 'autoscaling';
}

export interface ContainerInfo {
  name: string;
  image: string;
  /** CPU limit, else request, as written; undefined when neither is set. */
  cpu: unknown;
  cpuField?: 'limit' | 'request';
  /** An init container with restartPolicy: Always (a sidecar) runs beside the app containers. */
  sidecar: boolean;
}

export interface PodTemplateInfo {
  workloadLabels: Record<string, string>;
  workloadAnnotations: Record<string, string>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  containers: ContainerInfo[];
  initContainers: ContainerInfo[];
  /** Pod-level CPU (spec.resources), limit else request. */
  podCpu: unknown;
}

function cpuOf(resources: unknown): { cpu: unknown; cpuField?: 'limit' | 'request' } {
  const r = rec(resources);
  const limit = rec(r?.limits)?.cpu;
  if (limit !== undefined && limit !== null) return { cpu: limit, cpuField: 'limit' };
  const request = rec(r?.requests)?.cpu;
  if (request !== undefined && request !== null) return { cpu: request, cpuField: 'request' };
  return { cpu: undefined };
}

function containers(list: unknown, init: boolean): ContainerInfo[] {
  return arr(list).map((c, i) => {
    const r = rec(c) ?? {};
    return {
      name: str(r.name) ?? `#${i}`,
      image: str(r.image) ?? '',
      ...cpuOf(r.resources),
      sidecar: init && r.restartPolicy === 'Always',
    };
  });
}

/** The pod template object (metadata + spec) of a workload. */
export function templateObject(o: unknown): Obj | undefined {
  const kind = kindOf(o);
  if (kind === 'Pod') return rec(o);
  if (kind === 'CronJob') return rec(spec(rec(spec(o).jobTemplate)).template);
  return rec(spec(o).template);
}

export function podTemplate(o: unknown): PodTemplateInfo | undefined {
  if (!isWorkload(o)) return undefined;
  const template = templateObject(o);
  if (!template) return undefined;
  const meta = metadata(o);
  let workloadAnnotations = stringMap(meta.annotations);
  let workloadLabels = stringMap(meta.labels);
  if (kindOf(o) === 'CronJob') {
    // The job template's metadata belongs to the workload too.
    const jobMeta = rec(rec(spec(o).jobTemplate)?.metadata);
    workloadAnnotations = { ...stringMap(jobMeta?.annotations), ...workloadAnnotations };
    workloadLabels = { ...stringMap(jobMeta?.labels), ...workloadLabels };
  }
  const isPod = kindOf(o) === 'Pod';
  const tmeta = isPod ? {} : metadata(template);
  const tspec = spec(template);
  return {
    workloadLabels,
    workloadAnnotations,
    labels: stringMap(tmeta.labels),
    annotations: stringMap(tmeta.annotations),
    containers: containers(tspec.containers, false),
    initContainers: containers(tspec.initContainers, true),
    podCpu: cpuOf(tspec.resources).cpu,
  };
}

export type PodCount = { pods: number; reason?: undefined } | { pods: null; reason: string };

export interface PodCountOptions {
  /** Nodes a DaemonSet runs on (from the inventory). */
  nodeCount?: number;
  /** Configured fallback (settings.daemonSetNodes). */
  daemonSetNodes?: number;
}

/** Pods the workload runs at once, in steady state. */
export function podsOf(o: unknown, opts: PodCountOptions = {}): PodCount {
  const s = spec(o);
  switch (kindOf(o)) {
    case 'Deployment':
    case 'StatefulSet':
    case 'ReplicaSet':
    case 'ReplicationController':
      return { pods: count(s.replicas) ?? 1 };
    case 'Pod':
      return { pods: 1 };
    case 'Job':
      return { pods: jobPods(s) };
    case 'CronJob':
      // One run at a time. concurrencyPolicy Allow (the default) can overlap
      // runs when one outlasts the schedule; charging every CronJob double for
      // that would overstate the steady state, so the overlap is reported as
      // the claim's peak instead (see peak.ts).
      return { pods: jobPods(spec(rec(s.jobTemplate))) };
    case 'DaemonSet': {
      const nodes = opts.nodeCount ?? opts.daemonSetNodes;
      if (nodes === undefined) {
        return {
          pods: null,
          reason:
            'the number of nodes a DaemonSet runs on is unknown (no cluster inventory and no kubernetes.daemonSetNodes in the config)',
        };
      }
      return { pods: nodes };
    }
    default:
      return { pods: 0 };
  }
}

/** A Job runs `parallelism` pods (default 1), never more than `completions`. */
function jobPods(s: Obj): number {
  const parallelism = count(s.parallelism) ?? 1;
  const completions = count(s.completions);
  return completions === undefined ? parallelism : Math.min(parallelism, completions);
}

/** Kinds that create the objects they own, and are counted themselves. */
const COUNTED_CONTROLLERS: Record<string, readonly string[]> = {
  Deployment: ['apps', 'extensions'],
  StatefulSet: ['apps'],
  ReplicaSet: ['apps', 'extensions'],
  DaemonSet: ['apps', 'extensions'],
  ReplicationController: [''],
  Job: ['batch'],
  CronJob: ['batch'],
};

/**
 * The object's controller is a workload entitlegate counts, so counting the
 * object too would charge the same pods twice. An owner of another kind (an
 * operator's custom resource, a Node for static pods, an Argo Rollout owning
 * ReplicaSets) is never seen by the inventory, so those objects are counted.
 */
export function ownedByCountedController(o: unknown): boolean {
  for (const ref of arr(metadata(o).ownerReferences)) {
    const r = rec(ref);
    if (r?.controller !== true) continue;
    if (COUNTED_CONTROLLERS[str(r.kind) ?? '']?.includes(groupOf(r))) return true;
  }
  return false;
}
