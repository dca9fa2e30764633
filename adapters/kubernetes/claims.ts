// Kubernetes objects into claims: manifests in CI (everything is new) and
// admission changes (new minus old).
import type { Product } from './settings.ts';
import type { Claim, ResourceRef } from '../../engine/types.ts';
import { admissionRequestOf, isAdmissionReview, type AdmissionRequest } from './admission-review.ts';
import { matchProducts, type ProductMatch } from './match.ts';
import { arr, count, groupOf, kindOf, metadata, rec, spec, stringMap, str } from './objects.ts';
import type { SourcedObject } from './parse.ts';
import { peakOf } from './peak.ts';
import { amountFor, withScale, type Amount, type QuantityOptions } from './quantity.ts';
import { namespaceOf, scopeOf, type ScopeOptions } from './scope.ts';
import { isScale, isWorkload, ownedByCountedController, podTemplate, podTemplateProblems, WORKLOADS } from './workload.ts';
import { EntitlegateError, formatProblem } from '../../engine/errors.ts';

export interface ClaimOptions extends ScopeOptions {
  products: readonly Product[];
  /** Nodes in the cluster, for DaemonSets; else settings.daemonSetNodes. */
  nodeCount?: number;
  /**
   * Told what a person should know about the input although it is read
   * (the same object twice: the last one is counted). Without it the
   * warning is dropped.
   */
  onWarning?: (warning: InputWarning) => void;
  /**
   * Manifests applied in the same run from other files (`kubectl apply -f
   * DIR`): their HorizontalPodAutoscalers size these objects' workloads.
   * Nothing else of them is read here: the same name in two files may be two
   * clusters' renderings, each counted.
   */
  alongside?: readonly SourcedObject[];
}

/** Something about an input that is read, not refused, but may not be what its author meant. */
export interface InputWarning {
  file?: string;
  line?: number;
  message: string;
}

export interface ChangeOptions extends ClaimOptions {
  /** For a Scale (scale subresource): the workload it scales, as currently stored. */
  parent?: unknown;
}

export interface Measured {
  match: ProductMatch;
  amount: Amount;
}

/** Each product a workload runs, with its amount. Empty for other kinds and for objects a counted controller owns. */
export function measure(object: unknown, opts: ClaimOptions, owned = ownedByCountedController(object)): Map<string, Measured> {
  const out = new Map<string, Measured>();
  if (!isWorkload(object) || owned) return out;
  const t = podTemplate(object);
  if (!t) return out;
  const namespace = namespaceOf(object, opts);
  const podOpts: QuantityOptions = {
    nodeCount: opts.nodeCount,
    daemonSetNodes: opts.settings?.daemonSetNodes,
    annotationMayLower: namespace !== undefined && (opts.settings?.quantityTrustedNamespaces ?? []).includes(namespace),
  };
  for (const match of matchProducts(t, opts.products)) {
    out.set(match.productId, { match, amount: amountFor(object, match, match.product?.metric, podOpts, t) });
  }
  return out;
}

export function resourceOf(object: unknown, opts: ScopeOptions, file?: string, line?: number): ResourceRef {
  const meta = metadata(object);
  const generateName = str(meta.generateName);
  const ref: ResourceRef = { kind: kindOf(object), name: str(meta.name) ?? (generateName ? `${generateName}*` : '(unnamed)') };
  const namespace = namespaceOf(object, opts);
  if (namespace) ref.namespace = namespace;
  if (file !== undefined) ref.file = file;
  if (line !== undefined) ref.line = line;
  return ref;
}

/** What makes a workload's unknown quantity known, quoted by the UNKNOWN_QUANTITY finding. */
const REMEDY = 'set it explicitly (for example the entitlegate.io/quantity annotation, or CPU limits)';

function claim(
  product: string,
  quantity: number | null,
  peak: number | undefined,
  unknownReason: string | undefined,
  scope: Claim['scope'],
  resource: ResourceRef,
): Claim {
  const c: Claim = { product, quantity, scope, resource };
  if (quantity !== null && peak !== undefined) c.peak = peak;
  if (quantity === null && unknownReason) c.unknownReason = unknownReason;
  if (quantity === null) c.remedy = REMEDY;
  return c;
}

/**
 * The identity `kubectl apply` keys an object by: API group (extensions is
 * apps for the workload kinds), kind, namespace and name. Undefined for an
 * object without a name (generateName creates a new one each time).
 */
function identity(object: unknown, opts: ScopeOptions): string | undefined {
  const name = str(metadata(object).name);
  if (!name) return undefined;
  const group = groupOf(object) === 'extensions' ? 'apps' : groupOf(object);
  return `${group}/${kindOf(object)}/${namespaceOf(object, opts) ?? ''}/${name}`;
}

/**
 * The objects of one input as `kubectl apply` leaves them: the same object
 * (group, kind, namespace, name) written twice is one object, the last one.
 * Without this a tenant could write a licensed workload and, further down,
 * the same name unlicensed, and be charged for both or (by order) the wrong one.
 */
export function lastOfEach(items: readonly SourcedObject[], opts: ClaimOptions): SourcedObject[] {
  const last = new Map<string, number>();
  items.forEach(({ object }, i) => {
    const id = identity(object, opts);
    if (id !== undefined) last.set(id, i);
  });
  return items.filter((item, i) => {
    const id = identity(item.object, opts);
    if (id === undefined || last.get(id) === i) return true;
    const kept = items[last.get(id)!]!;
    const where = kept.line !== undefined ? `line ${kept.line}` : 'later';
    opts.onWarning?.({
      file: item.file,
      line: item.line,
      message: `${resourceLabel(item.object, opts)} is written again at ${where}; only the last one is read, as kubectl apply leaves it`,
    });
    return false;
  });
}

function resourceLabel(object: unknown, opts: ScopeOptions): string {
  const r = resourceOf(object, opts);
  return r.namespace ? `${r.kind}/${r.namespace}/${r.name}` : `${r.kind}/${r.name}`;
}

/**
 * Claims for manifests about to be applied: every workload is new. Namespace
 * objects among the items lend their labels to the environment lookup. An
 * AdmissionReview among them (a saved review in YAML) is read as the change
 * it asks for, as claimsFromAdmission reads one in JSON.
 */
export function claimsFromObjects(all: readonly SourcedObject[], opts: ClaimOptions): Claim[] {
  const unreadable = all.flatMap(({ object, file, line }) =>
    podTemplateProblems(object).map((message) => ({
      file,
      line,
      message: `${resourceLabel(object, opts)}: ${message}; the API server refuses this object`,
    })),
  );
  if (unreadable.length) {
    throw new EntitlegateError(
      'EG_ERR_INPUT_INVALID',
      unreadable.length === 1 ? formatProblem(unreadable[0]!) : `${unreadable.length} workloads the API server would refuse:`,
      unreadable,
    );
  }
  const items = lastOfEach(all, opts);
  const localLabels = new Map<string, Record<string, string>>();
  for (const { object } of items) {
    if (kindOf(object) === 'Namespace' && str(metadata(object).name))
      localLabels.set(str(metadata(object).name)!, stringMap(metadata(object).labels));
  }
  const floors = autoscalerFloors(opts.alongside ? [...items, ...opts.alongside] : items, opts);
  const present = new Set(items.map(({ object }) => identity(object, opts)));
  const claims: Claim[] = [];
  for (const { object: written, file, line } of items) {
    const object = withAutoscalerFloor(written, floors, opts);
    if (isAdmissionReview(object)) {
      const req = admissionRequestOf(object, file);
      for (const c of claimsFromAdmission(req, opts)) claims.push({ ...c, resource: { ...c.resource!, file, line } });
      continue;
    }
    const measured = measure(object, opts, ownedByCountedController(object) && controllerAmong(object, present, opts));
    if (!measured.size) continue;
    const scope = scopeOf(object, opts, localLabels);
    const resource = resourceOf(object, opts, file, line);
    for (const [product, { amount }] of measured) {
      const peak = amount.quantity === null ? undefined : peakOf(object, null, amount, undefined, amount.quantity);
      claims.push(claim(product, amount.quantity, peak, amount.unknownReason, scope, resource));
    }
  }
  return claims;
}

/**
 * Whether the controller an object's owner reference names is among the
 * manifests checked with it. In manifests, an object is left to its
 * controller only then: a ReplicaSet written with `ownerReferences` naming a
 * Deployment the input does not hold (a ghost, or a tenant's small unlicensed
 * Deployment, whose uid anyone in the namespace can read) was charged to
 * nothing, while `kubectl apply` creates it and its pods. Manifests a person
 * writes carry no controller references, so an honest input loses nothing.
 */
function controllerAmong(object: unknown, present: ReadonlySet<string | undefined>, opts: ScopeOptions): boolean {
  const ref = arr(metadata(object).ownerReferences)
    .map(rec)
    .find((r) => r?.controller === true);
  const name = str(ref?.name);
  const kind = str(ref?.kind);
  if (!ref || !name || !kind) return false;
  const group = groupOf(ref) === 'extensions' ? 'apps' : groupOf(ref);
  return present.has(`${group}/${kind}/${namespaceOf(object, opts) ?? ''}/${name}`);
}

/**
 * The fewest replicas a HorizontalPodAutoscaler of the run keeps its target
 * at (`minReplicas`, default 1; a KEDA ScaledObject's `minReplicaCount`,
 * default 0, through the HPA it makes), by target identity. In a manifest the
 * autoscaler, not `spec.replicas`, decides: `replicas: 1` beside an HPA with
 * `minReplicas: 30` runs 30 pods as soon as it is applied. (In a cluster the
 * autoscaler resizes through the scale subresource, which the webhook sees.)
 */
function autoscalerFloors(items: readonly SourcedObject[], opts: ScopeOptions): Map<string, number> {
  const floors = new Map<string, number>();
  for (const { object } of items) {
    const hpa = kindOf(object) === 'HorizontalPodAutoscaler' && groupOf(object) === 'autoscaling';
    // A KEDA ScaledObject makes an HPA of its own with minReplicaCount
    // (default 0) as its floor; its target defaults to a Deployment.
    const keda = kindOf(object) === 'ScaledObject' && groupOf(object) === 'keda.sh';
    if (!hpa && !keda) continue;
    const s = spec(object);
    const target = rec(s.scaleTargetRef);
    const name = str(target?.name);
    const kind = str(target?.kind) ?? (keda ? 'Deployment' : undefined);
    if (!target || !name || !kind || !WORKLOADS[kind]?.scalable) continue;
    const group = keda && target.apiVersion === undefined ? 'apps' : groupOf(target) === 'extensions' ? 'apps' : groupOf(target);
    const field = hpa ? s.minReplicas : s.minReplicaCount;
    const min = field === undefined || field === null ? (hpa ? 1 : 0) : count(field);
    if (min === undefined) continue; // the API server refuses such an autoscaler; the target counts its own replicas
    const key = `${group}/${kind}/${namespaceOf(object, opts) ?? ''}/${name}`;
    floors.set(key, Math.max(floors.get(key) ?? 0, min));
  }
  return floors;
}

function withAutoscalerFloor(object: unknown, floors: ReadonlyMap<string, number>, opts: ScopeOptions): unknown {
  if (!floors.size) return object;
  const id = identity(object, opts);
  const floor = id === undefined ? undefined : floors.get(id);
  if (floor === undefined) return object;
  const s = spec(object);
  const replicas = s.replicas === undefined || s.replicas === null ? 1 : count(s.replicas);
  if (replicas === undefined || replicas >= floor) return object; // an unreadable count stays unknown
  return { ...rec(object), spec: { ...s, replicas: floor } };
}

/** The claims of one admission: CREATE adds, DELETE frees, UPDATE and scale are deltas. */
export function claimsFromAdmission(req: AdmissionRequest, opts: ChangeOptions): Claim[] {
  if (req.operation === 'CONNECT') return [];
  const scoped: ChangeOptions = req.namespace && !opts.namespace ? { ...opts, namespace: req.namespace } : opts;
  const after = req.operation === 'DELETE' ? null : (req.object ?? null);
  const before = req.operation === 'CREATE' ? null : (req.oldObject ?? null);
  // `kubectl debug` (ephemeralcontainers) and an in-place resize change one
  // Pod, not its controller's template: a Deployment's pod given a licensed
  // debug container, or resized from 4 to 64 cores, is a change no counted
  // controller claimed, so it is measured as the Pod it is.
  if (POD_SUBRESOURCES.has(req.subResource ?? '')) return diff(after, before, scoped, false);
  return claimsFromChange(after, before, scoped);
}

/** Pod subresources that change one running Pod rather than what its controller creates. */
const POD_SUBRESOURCES: ReadonlySet<string> = new Set(['ephemeralcontainers', 'resize']);

/**
 * Claims for one admission: CREATE (old null), DELETE (new null) or UPDATE
 * (new minus old, per product, so an update that changes nothing the licence
 * sees is a zero delta). A Scale is applied to `opts.parent`.
 */
export function claimsFromChange(newObj: unknown, oldObj: unknown, opts: ChangeOptions): Claim[] {
  if (isScale(newObj) || isScale(oldObj)) {
    // Without the parent there is no pod template, hence no product to charge;
    // callers (the webhook) look the parent up in the inventory.
    if (!opts.parent) return [];
    const before = withScale(opts.parent, oldObj ?? opts.parent);
    const after = newObj ? withScale(opts.parent, newObj) : null;
    return diff(after ?? null, before ?? null, opts);
  }
  return diff(newObj ?? null, oldObj ?? null, opts);
}

function diff(newObj: unknown, oldObj: unknown, opts: ClaimOptions, owned?: boolean): Claim[] {
  // A Pod (or ReplicaSet, Job) that a counted controller owns gives nothing:
  // its controller's admission already claimed these pods, and charging the
  // pods the controller creates would charge them twice. measure() skips them.
  //
  // An UPDATE is measured with the old object's ownership on both sides:
  // writing an owner reference onto a running Pod stops none of its
  // containers, so adoption must not free what it uses (nor hide what the
  // same update adds), and a controller releasing a Pod starts nothing new.
  const before = oldObj ? measure(oldObj, opts, owned) : new Map<string, Measured>();
  const after = newObj
    ? measure(newObj, opts, owned ?? (oldObj ? ownedByCountedController(oldObj) : undefined))
    : new Map<string, Measured>();
  if (!after.size && !before.size) return [];
  const subject = newObj ?? oldObj;
  const scope = scopeOf(subject, opts);
  const resource = resourceOf(subject, opts);
  const claims: Claim[] = [];
  for (const product of new Set([...after.keys(), ...before.keys()])) {
    const n = after.get(product)?.amount;
    const o = before.get(product)?.amount;
    let net: number | null;
    let reason = n?.unknownReason ?? o?.unknownReason;
    if (o?.quantity === null && (!newObj || n?.quantity === 0)) {
      // A delete (or a scale to zero pods) we cannot size frees nothing we can
      // prove; charging it as unknown would block removing the workload.
      net = 0;
      reason = undefined;
    } else if (n && o && n.basis === o.basis) net = 0;
    else if ((n && n.quantity === null) || (o && o.quantity === null)) net = null;
    else net = (n?.quantity ?? 0) - (o?.quantity ?? 0);
    const peak = net === null ? undefined : peakOf(newObj, oldObj, n, o, net);
    claims.push(claim(product, net, peak, reason, scope, resource));
  }
  return claims;
}
