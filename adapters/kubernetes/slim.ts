// What the inventory keeps of each live object: the fields the quantity and
// scope rules read, and nothing else. Pods a controller owns (most of a big
// cluster) shrink to their name, version and owner.
import { READ_ANNOTATIONS } from './annotations.ts';
import { arr, metadata, rec, spec, str, stringMap, type Obj } from './objects.ts';
import { ownedByCountedController } from './workload.ts';

const KEPT_ANNOTATIONS = READ_ANNOTATIONS;

/**
 * The defined fields of `o`, in a new object. Built up rather than `delete`d
 * from: deleting turns a V8 object into a dictionary, about three times the
 * memory, and the inventory holds tens of thousands of these.
 */
function pick<T extends Obj>(o: T): T {
  const out: Obj = {};
  for (const k in o) if (o[k] !== undefined) out[k] = o[k];
  return out as T;
}

function slimMeta(m: Obj, full: boolean): Obj {
  const owner = arr(m.ownerReferences)
    .map(rec)
    .find((r) => r?.controller === true);
  const out: Obj = pick({
    name: str(m.name),
    namespace: str(m.namespace),
    uid: str(m.uid),
    resourceVersion: str(m.resourceVersion),
    // The webhook tells a spec change (generation moves) from a status-only one.
    generation: typeof m.generation === 'number' ? m.generation : undefined,
    ownerReferences: owner
      ? [{ apiVersion: str(owner.apiVersion), kind: str(owner.kind), name: str(owner.name), controller: true }]
      : undefined,
  });
  if (full) {
    const labels = stringMap(m.labels);
    const all = stringMap(m.annotations);
    const annotations: Record<string, string> = {};
    for (const k of KEPT_ANNOTATIONS) if (all[k] !== undefined) annotations[k] = all[k];
    if (Object.keys(labels).length) out.labels = labels;
    if (Object.keys(annotations).length) out.annotations = annotations;
  }
  return out;
}

function slimResources(r: unknown): Obj | undefined {
  const res = rec(r);
  if (!res) return undefined;
  const limit = rec(res.limits)?.cpu;
  const request = rec(res.requests)?.cpu;
  const out: Obj = {};
  if (limit !== undefined) out.limits = { cpu: limit };
  if (request !== undefined) out.requests = { cpu: request };
  return Object.keys(out).length ? out : undefined;
}

function slimContainers(list: unknown, imageVolumes: ReadonlySet<string>): Obj[] | undefined {
  if (!Array.isArray(list)) return undefined;
  return list.map((c) => {
    const r = rec(c) ?? {};
    // Mounts of image volumes only: which images (match.ts) the container can
    // run. Every pod mounts its service account token; keeping those would
    // grow each of tens of thousands of pods for nothing.
    const mounts = imageVolumes.size
      ? arr(r.volumeMounts)
          .map((m) => str(rec(m)?.name))
          .filter((n) => n !== undefined && imageVolumes.has(n))
          .map((name) => ({ name }))
      : [];
    return pick({
      name: str(r.name),
      image: str(r.image),
      restartPolicy: str(r.restartPolicy),
      resources: slimResources(r.resources),
      volumeMounts: mounts.length ? mounts : undefined,
    });
  });
}

/** Only image volumes: the others hold no software a product is recognised by. */
function slimVolumes(list: unknown): Obj[] | undefined {
  const images = arr(list).flatMap((v) => {
    const r = rec(v);
    const reference = str(rec(r?.image)?.reference);
    return reference === undefined ? [] : [{ name: str(r?.name), image: { reference } }];
  });
  return images.length ? images : undefined;
}

function slimPodSpec(s: Obj): Obj {
  const volumes = slimVolumes(s.volumes);
  const names = new Set((volumes ?? []).map((v) => str(v.name) ?? ''));
  return pick({
    volumes,
    containers: slimContainers(s.containers, names),
    initContainers: slimContainers(s.initContainers, names),
    ephemeralContainers: slimContainers(s.ephemeralContainers, names),
    resources: slimResources(s.resources),
  });
}

function slimTemplate(t: unknown): Obj | undefined {
  const r = rec(t);
  return r ? { metadata: slimMeta(metadata(r), true), spec: slimPodSpec(spec(r)) } : undefined;
}

/** A Job that completed or failed runs no pods any more. */
export function jobFinished(status: Obj | undefined): boolean {
  return arr(status?.conditions).some((c) => {
    const r = rec(c);
    return (r?.type === 'Complete' || r?.type === 'Failed') && r.status === 'True';
  });
}

/** The projection of one object of `kind` (list items carry no kind of their own). */
export function slimObject(kind: string, apiVersion: string, raw: unknown): Obj {
  const m = metadata(raw);
  if (kind === 'Node') return { apiVersion, kind, metadata: slimMeta(m, false) };
  if (kind === 'Namespace') return { apiVersion, kind, metadata: { ...slimMeta(m, false), labels: stringMap(m.labels) } };
  // List items carry no kind of their own: the ownership rule needs it.
  if (ownedByCountedController({ apiVersion, kind, metadata: m })) return { apiVersion, kind, metadata: slimMeta(m, false) };
  const s = spec(raw);
  const status = rec(rec(raw)?.status);
  const out: Obj = { apiVersion, kind, metadata: slimMeta(m, true) };
  switch (kind) {
    case 'Pod':
      out.spec = slimPodSpec(s);
      if (status?.phase === 'Succeeded' || status?.phase === 'Failed') out.status = { phase: status.phase };
      break;
    case 'CronJob': {
      const jt = rec(s.jobTemplate);
      const js = spec(jt);
      out.spec = pick({
        concurrencyPolicy: str(s.concurrencyPolicy),
        jobTemplate: {
          metadata: slimMeta(metadata(jt), true),
          spec: pick({ parallelism: js.parallelism, completions: js.completions, template: slimTemplate(js.template) }),
        },
      });
      break;
    }
    default:
      out.spec = pick({
        replicas: s.replicas,
        parallelism: s.parallelism,
        completions: s.completions,
        strategy: s.strategy,
        updateStrategy: s.updateStrategy,
        template: slimTemplate(s.template),
      });
      if (kind === 'DaemonSet' && typeof status?.desiredNumberScheduled === 'number')
        out.status = { desiredNumberScheduled: status.desiredNumberScheduled };
      if (kind === 'Job' && jobFinished(status)) out.status = { conditions: [{ type: 'Complete', status: 'True' }] };
  }
  return out;
}
