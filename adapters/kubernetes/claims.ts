// Kubernetes objects into claims: manifests in CI (everything is new) and
// admission changes (new minus old).
import type { Product } from '../../engine/config/schema.ts';
import type { Claim, ResourceRef } from '../../engine/types.ts';
import { matchProducts, type ProductMatch } from './match.ts';
import { kindOf, metadata, stringMap, str } from './objects.ts';
import type { SourcedObject } from './parse.ts';
import { peakOf } from './peak.ts';
import { amountFor, withScale, type Amount } from './quantity.ts';
import { namespaceOf, scopeOf, type ScopeOptions } from './scope.ts';
import { isScale, isWorkload, ownedByCountedController, podTemplate } from './workload.ts';

export interface ClaimOptions extends ScopeOptions {
  products: readonly Product[];
  /** Nodes in the cluster, for DaemonSets; else settings.daemonSetNodes. */
  nodeCount?: number;
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
export function measure(object: unknown, opts: ClaimOptions): Map<string, Measured> {
  const out = new Map<string, Measured>();
  if (!isWorkload(object) || ownedByCountedController(object)) return out;
  const t = podTemplate(object);
  if (!t) return out;
  const podOpts = { nodeCount: opts.nodeCount, daemonSetNodes: opts.settings?.daemonSetNodes };
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
 * Claims for manifests about to be applied: every workload is new. Namespace
 * objects among the items lend their labels to the environment lookup.
 */
export function claimsFromObjects(items: readonly SourcedObject[], opts: ClaimOptions): Claim[] {
  const localLabels = new Map<string, Record<string, string>>();
  for (const { object } of items) {
    if (kindOf(object) === 'Namespace' && str(metadata(object).name))
      localLabels.set(str(metadata(object).name)!, stringMap(metadata(object).labels));
  }
  const claims: Claim[] = [];
  for (const { object, file, line } of items) {
    const measured = measure(object, opts);
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

function diff(newObj: unknown, oldObj: unknown, opts: ClaimOptions): Claim[] {
  // A Pod (or ReplicaSet, Job) that a counted controller owns gives nothing:
  // its controller's admission already claimed these pods, and charging the
  // pods the controller creates would charge them twice. measure() skips them.
  const after = newObj ? measure(newObj, opts) : new Map<string, Measured>();
  const before = oldObj ? measure(oldObj, opts) : new Map<string, Measured>();
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
