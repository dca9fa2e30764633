// The workload kinds entitlegate reads: where each keeps its pod template,
// how many pods it runs, and who owns it.
import { preview } from '../../engine/preview.ts';
import { arr, count, groupOf, kindOf, metadata, rec, spec, str, stringMap, type Obj } from './objects.ts';

/** One workload kind: where it is served, what it controls, whether it scales. */
export interface WorkloadKind {
  /** API groups it is served from (extensions/v1beta1 for old manifests); the first is the one listed and watched. */
  groups: readonly string[];
  /** The version listed and watched, and the collection's resource name (plural). */
  version: string;
  resource: string;
  /**
   * The kinds whose objects it creates and owns as their controller. An
   * object is left to its controller (not counted itself) only when the
   * controller's kind is listed here for the object's kind: an owner
   * reference is written by whoever writes the object, so any other pairing
   * is a claim the cluster would not honour and the object is counted.
   */
  controls: readonly string[];
  /** Serves the scale subresource (`kubectl scale`, HPA). */
  scalable: boolean;
}

/**
 * The one table of workload kinds: recognition (isWorkload), ownership
 * (ownedByCountedController), the inventory's list/watch collections and the
 * scale subresource's parents are all read from it.
 */
export const WORKLOADS: Readonly<Record<string, WorkloadKind>> = {
  Deployment: { groups: ['apps', 'extensions'], version: 'v1', resource: 'deployments', controls: ['ReplicaSet'], scalable: true },
  StatefulSet: { groups: ['apps'], version: 'v1', resource: 'statefulsets', controls: ['Pod'], scalable: true },
  ReplicaSet: { groups: ['apps', 'extensions'], version: 'v1', resource: 'replicasets', controls: ['Pod'], scalable: true },
  DaemonSet: { groups: ['apps', 'extensions'], version: 'v1', resource: 'daemonsets', controls: ['Pod'], scalable: false },
  ReplicationController: { groups: [''], version: 'v1', resource: 'replicationcontrollers', controls: ['Pod'], scalable: true },
  Pod: { groups: [''], version: 'v1', resource: 'pods', controls: [], scalable: false },
  Job: { groups: ['batch'], version: 'v1', resource: 'jobs', controls: ['Pod'], scalable: false },
  CronJob: { groups: ['batch'], version: 'v1', resource: 'cronjobs', controls: ['Job'], scalable: false },
};
export const WORKLOAD_KINDS = Object.keys(WORKLOADS);

/** `apiVersion` of a kind as listed and watched ("apps/v1", "v1"). */
export function listedApiVersion(w: WorkloadKind): string {
  const group = w.groups[0] ?? '';
  return group ? `${group}/${w.version}` : w.version;
}

/** A kind we count; a custom resource that happens to be called "Deployment" is not one. */
export function isWorkload(o: unknown): boolean {
  return WORKLOADS[kindOf(o)]?.groups.includes(groupOf(o)) ?? false;
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
  /** References of the image volumes it mounts: an OCI image's files, which it may run as well as its own image's. */
  volumeImages: string[];
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

/**
 * Image volumes (`volumes[].image.reference`, Kubernetes 1.31+) by volume
 * name. A container that mounts one can run the licensed software from it
 * under any image of its own: `busybox` mounting the database image's files
 * runs the database.
 */
function imageVolumes(podSpec: Obj): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of arr(podSpec.volumes)) {
    const r = rec(v);
    const reference = str(rec(r?.image)?.reference);
    const name = str(r?.name);
    if (name !== undefined && reference !== undefined) out.set(name, reference);
  }
  return out;
}

function containers(list: unknown, init: boolean, volumes: ReadonlyMap<string, string>): ContainerInfo[] {
  return arr(list).map((c, i) => {
    const r = rec(c) ?? {};
    const volumeImages = volumes.size
      ? arr(r.volumeMounts).flatMap((m) => {
          const image = volumes.get(str(rec(m)?.name) ?? '');
          return image === undefined ? [] : [image];
        })
      : [];
    return {
      name: str(r.name) ?? `#${i}`,
      image: str(r.image) ?? '',
      ...cpuOf(r.resources),
      sidecar: init && r.restartPolicy === 'Always',
      volumeImages,
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
  const volumes = imageVolumes(tspec);
  return {
    workloadLabels,
    workloadAnnotations,
    labels: stringMap(tmeta.labels),
    annotations: stringMap(tmeta.annotations),
    // A Pod's ephemeral containers (kubectl debug) run beside its app
    // containers, images of their own included, so they are read as app
    // containers. They may set no resources: a licensed one leaves the
    // vCPU unknown unless the pod-level spec.resources bounds it.
    containers: isPod
      ? [...containers(tspec.containers, false, volumes), ...containers(tspec.ephemeralContainers, false, volumes)]
      : containers(tspec.containers, false, volumes),
    initContainers: containers(tspec.initContainers, true, volumes),
    podCpu: cpuOf(tspec.resources).cpu,
  };
}

/**
 * Why the API server would refuse a workload's pod template as written: a
 * template, pod spec or container list of the wrong type, a container that is
 * not an object, an `image` that is not a string. Read leniently, each of
 * these was a workload with no image, hence no product and no claim, while
 * `check` passed it; `kubectl apply` refuses it (the decoder cannot read a
 * list or a number as an image), so `check` says so too. Empty when the
 * template is readable (or the object is no workload).
 */
export function podTemplateProblems(o: unknown): string[] {
  if (!isWorkload(o)) return [];
  const problems: string[] = [];
  const kind = kindOf(o);
  let at = 'spec.template';
  let template: unknown = spec(o).template;
  if (kind === 'Pod') {
    at = '';
    template = o;
  } else if (kind === 'CronJob') {
    const jobTemplate = spec(o).jobTemplate;
    if (jobTemplate !== undefined && jobTemplate !== null && !rec(jobTemplate)) return ['spec.jobTemplate is not an object'];
    const jobSpec = rec(jobTemplate)?.spec;
    if (jobSpec !== undefined && jobSpec !== null && !rec(jobSpec)) return ['spec.jobTemplate.spec is not an object'];
    at = 'spec.jobTemplate.spec.template';
    template = rec(jobSpec)?.template;
  }
  if (template === undefined || template === null) return [];
  if (!rec(template)) return [`${at} is not an object`];
  const podSpec = rec(template)?.spec;
  const specAt = at ? `${at}.spec` : 'spec';
  if (podSpec === undefined || podSpec === null) return [];
  if (!rec(podSpec)) return [`${specAt} is not an object`];
  for (const list of ['containers', 'initContainers', 'ephemeralContainers']) {
    const items = rec(podSpec)?.[list];
    if (items === undefined || items === null) continue;
    if (!Array.isArray(items)) {
      problems.push(`${specAt}.${list} is not a list`);
      continue;
    }
    items.forEach((c, i) => {
      const r = rec(c);
      if (!r) problems.push(`${specAt}.${list}[${i}] is not an object`);
      else if (r.image !== undefined && r.image !== null && typeof r.image !== 'string')
        problems.push(`${specAt}.${list}[${i}].image is ${preview(r.image)}, not a string (an image reference)`);
    });
  }
  return problems;
}

export type PodCount = { pods: number; reason?: undefined } | { pods: null; reason: string };

export interface PodCountOptions {
  /** Nodes a DaemonSet runs on (from the inventory). */
  nodeCount?: number;
  /** Configured fallback (settings.daemonSetNodes). */
  daemonSetNodes?: number;
}

/**
 * A pod count as written: absent (or null) is the API default; anything but
 * a whole non-negative number (a string, a fraction, a negative, an
 * unrendered `{{ template }}` read as a map) is unknown, never the default:
 * the API server would refuse it, so there is no honest reading of it, and
 * reading it as 1 or 0 would let a licensed workload through as small.
 */
function countField(s: Obj, field: string, fallback: number | undefined): { n: number | undefined } | { reason: string } {
  const v = s[field];
  if (v === undefined || v === null) return { n: fallback };
  const n = count(v);
  if (n === undefined) return { reason: `spec.${field} ${preview(v)} is not a whole non-negative number` };
  return { n };
}

/** Pods the workload runs at once, in steady state. */
export function podsOf(o: unknown, opts: PodCountOptions = {}): PodCount {
  const s = spec(o);
  switch (kindOf(o)) {
    case 'Deployment':
    case 'StatefulSet':
    case 'ReplicaSet':
    case 'ReplicationController': {
      const r = countField(s, 'replicas', 1);
      return 'reason' in r ? { pods: null, reason: r.reason } : { pods: r.n ?? 1 };
    }
    case 'Pod':
      return { pods: 1 };
    case 'Job':
      return jobPods(s, 'spec');
    case 'CronJob':
      // One run at a time. concurrencyPolicy Allow (the default) can overlap
      // runs when one outlasts the schedule; charging every CronJob double for
      // that would overstate the steady state, so the overlap is reported as
      // the claim's peak instead (see peak.ts).
      return jobPods(spec(rec(s.jobTemplate)), 'spec.jobTemplate.spec');
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
function jobPods(s: Obj, at: string): PodCount {
  const parallelism = countField(s, 'parallelism', 1);
  const completions = countField(s, 'completions', undefined);
  for (const r of [parallelism, completions]) if ('reason' in r) return { pods: null, reason: r.reason.replace(/^spec\./, `${at}.`) };
  const p = 'n' in parallelism ? (parallelism.n ?? 1) : 1;
  const c = 'n' in completions ? completions.n : undefined;
  return { pods: c === undefined ? p : Math.min(p, c) };
}

/**
 * The object's controller is a workload entitlegate counts and of a kind that
 * really controls objects of this kind (a Deployment its ReplicaSets, a
 * CronJob its Jobs, a ReplicaSet, StatefulSet, DaemonSet, Job or
 * ReplicationController its Pods), so counting the object too would charge
 * the same pods twice. Any other controller is counted in its place: an
 * operator's custom resource, a Node for static pods, an Argo Rollout owning
 * ReplicaSets, and a reference no controller could hold (a Deployment
 * "owned" by a ReplicaSet, a Pod "owned" by a CronJob) that would otherwise
 * hide a workload.
 */
export function ownedByCountedController(o: unknown): boolean {
  if (!isWorkload(o)) return false;
  const kind = kindOf(o);
  for (const ref of arr(metadata(o).ownerReferences)) {
    const r = rec(ref);
    if (r?.controller !== true) continue;
    const owner = WORKLOADS[str(r.kind) ?? ''];
    if (owner?.groups.includes(groupOf(r)) && owner.controls.includes(kind)) return true;
  }
  return false;
}
