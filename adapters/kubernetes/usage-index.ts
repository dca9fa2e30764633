// Live usage, maintained incrementally: each counted object's contribution is
// kept by uid and added to or taken from per product+scope sums, so an event
// costs the work of one object and usage() costs the number of sums — not the
// number of pods in the cluster.
import { usageKey } from '../../engine/scope.ts';
import type { Scope, UsageRecord } from '../../engine/types.ts';
import { DEFAULT_ENVIRONMENT_LABEL } from './annotations.ts';
import { measure, resourceOf, type ClaimOptions } from './claims.ts';
import { count, kindOf, metadata, rec, str, stringMap, type Obj } from './objects.ts';
import { scopeOf } from './scope.ts';
import { jobFinished } from './slim.ts';
import { isWorkload, ownedByCountedController } from './workload.ts';

export type UsageOptions = Omit<ClaimOptions, 'namespaceLabels' | 'namespace'>;

export interface InventoryChange {
  type: 'added' | 'modified' | 'deleted';
  kind: string;
  uid: string;
  namespace?: string;
  name: string;
  /** `Kind/namespace/name`, as engine/types.ts resourceId() writes it. */
  key: string;
  /**
   * `metadata.generation` of the object (the stored one for a deletion), when
   * the API server sets it: unchanged on a status-only update.
   */
  generation?: number;
}

export interface UnknownUsage {
  product: string;
  resource: string;
  reason: string;
}

interface Contribution {
  key: string;
  product: string;
  scope: Scope;
  quantity: number;
}

interface Entry {
  object: Obj;
  contributions: Contribution[];
  unknown: { product: string; reason: string }[];
}

function nameKey(o: unknown): string {
  const m = metadata(o);
  return `${kindOf(o)}/${str(m.namespace) ?? ''}/${str(m.name) ?? ''}`;
}

/** Objects that run no pods right now: finished bare pods and Jobs. */
function finished(o: unknown): boolean {
  const kind = kindOf(o);
  const status = rec(rec(o)?.status);
  if (kind === 'Pod') return status?.phase === 'Succeeded' || status?.phase === 'Failed';
  if (kind === 'Job') return jobFinished(status);
  return false;
}

export class UsageIndex {
  #opts: UsageOptions;
  #entries = new Map<string, Entry>();
  #uidByName = new Map<string, string>();
  #byNamespace = new Map<string, Set<string>>();
  #daemonSets = new Set<string>();
  #sums = new Map<string, { product: string; scope: Scope; quantity: number }>();
  #cache: UsageRecord[] | undefined;
  #namespaceLabels = new Map<string, Record<string, string>>();
  #nodes = new Set<string>();
  #nodesKnown = false;
  #listeners = new Set<(change: InventoryChange) => void>();
  #measured = 0;

  constructor(opts: UsageOptions) {
    this.#opts = opts;
  }

  /** Replaces products and settings (config reload) and recomputes every object. */
  reconfigure(opts: UsageOptions): void {
    this.#opts = opts;
    this.#recompute(this.#entries.keys());
  }

  onChange(cb: (change: InventoryChange) => void): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }

  /**
   * Objects measured (claims worked out from a pod template) since the index
   * was made: the work the index does, one per changed object, none for
   * usage(). Lets tests check that a change is not a recount.
   */
  get measured(): number {
    return this.#measured;
  }

  /** Nodes known to the cluster; undefined until the node list has been seen. */
  get nodeCount(): number | undefined {
    return this.#nodesKnown || this.#nodes.size ? this.#nodes.size : undefined;
  }

  markNodesKnown(): void {
    if (this.#nodesKnown) return;
    this.#nodesKnown = true;
    this.#recompute(this.#daemonSets);
  }

  namespaceLabels(namespace: string): Record<string, string> | undefined {
    return this.#namespaceLabels.get(namespace);
  }

  /** Add or update a Namespace, a Node or a workload. */
  upsert(object: unknown): void {
    const o = rec(object);
    if (!o) return;
    const kind = kindOf(o);
    const name = str(metadata(o).name) ?? '';
    if (kind === 'Namespace') {
      this.#setNamespace(name, stringMap(metadata(o).labels));
      return;
    }
    if (kind === 'Node') {
      if (this.#nodes.has(name)) return;
      this.#nodes.add(name);
      this.#recompute(this.#daemonSets);
      return;
    }
    if (!isWorkload(o)) return;
    const uid = str(metadata(o).uid) ?? nameKey(o);
    if (ownedByCountedController(o)) {
      // Adopted by a counted controller since we stored it: its owner counts now.
      if (this.#entries.has(uid)) this.remove(this.#entries.get(uid)!.object);
      return;
    }
    const previous = this.#entries.get(uid);
    if (previous && metadata(previous.object).resourceVersion === metadata(o).resourceVersion && metadata(o).resourceVersion !== undefined)
      return;
    // The same name with another uid: deleted and recreated while we were not watching.
    const sameName = this.#uidByName.get(nameKey(o));
    if (sameName !== undefined && sameName !== uid) this.remove(this.#entries.get(sameName)?.object);
    this.#put(uid, o);
    this.#emit(previous ? 'modified' : 'added', uid, o);
  }

  remove(object: unknown): void {
    const o = rec(object);
    if (!o) return;
    const kind = kindOf(o);
    const name = str(metadata(o).name) ?? '';
    if (kind === 'Namespace') {
      this.#setNamespace(name, undefined);
      return;
    }
    if (kind === 'Node') {
      if (this.#nodes.delete(name)) this.#recompute(this.#daemonSets);
      return;
    }
    const uid = str(metadata(o).uid) ?? this.#uidByName.get(nameKey(o));
    const entry = uid === undefined ? undefined : this.#entries.get(uid);
    if (!uid || !entry) return;
    this.#apply(entry.contributions, -1);
    this.#entries.delete(uid);
    this.#uidByName.delete(nameKey(entry.object));
    this.#byNamespace.get(str(metadata(entry.object).namespace) ?? '')?.delete(uid);
    this.#daemonSets.delete(uid);
    this.#emit('deleted', uid, entry.object);
  }

  /**
   * After a relist of `kind`: drops what is held of that kind and was not in
   * the list (`seen`: uids of workloads, names of Namespaces and Nodes).
   */
  sweep(kind: string, seen: ReadonlySet<string>): void {
    if (kind === 'Namespace') {
      for (const name of [...this.#namespaceLabels.keys()]) if (!seen.has(name)) this.#setNamespace(name, undefined);
      return;
    }
    if (kind === 'Node') {
      const before = this.#nodes.size;
      for (const name of [...this.#nodes]) if (!seen.has(name)) this.#nodes.delete(name);
      if (this.#nodes.size !== before) this.#recompute(this.#daemonSets);
      return;
    }
    for (const [uid, e] of [...this.#entries]) if (kindOf(e.object) === kind && !seen.has(uid)) this.remove(e.object);
  }

  usage(): UsageRecord[] {
    this.#cache ??= [...this.#sums.values()]
      .map((s) => ({ product: s.product, quantity: s.quantity, scope: { ...s.scope } }))
      .sort((a, b) => (usageKey(a.product, a.scope) < usageKey(b.product, b.scope) ? -1 : 1));
    return this.#cache.slice();
  }

  /**
   * The same usage, one record per counted object (`Kind/namespace/name`, as
   * resourceId writes it), for a ledger that settles reservations by resource.
   */
  usageByResource(): (UsageRecord & { resource: string })[] {
    const out: (UsageRecord & { resource: string })[] = [];
    for (const e of this.#entries.values()) {
      const m = metadata(e.object);
      const ns = str(m.namespace);
      const resource = ns ? `${kindOf(e.object)}/${ns}/${str(m.name) ?? ''}` : `${kindOf(e.object)}/${str(m.name) ?? ''}`;
      for (const c of e.contributions)
        if (c.quantity !== 0) out.push({ product: c.product, quantity: c.quantity, scope: { ...c.scope }, resource });
    }
    return out.sort((a, b) => (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : a.product < b.product ? -1 : 1));
  }

  /** Counted objects whose quantity could not be determined (left out of usage()). */
  unknowns(): UnknownUsage[] {
    const out: UnknownUsage[] = [];
    for (const e of this.#entries.values()) {
      const resource = resourceOf(e.object, {});
      for (const u of e.unknown)
        out.push({ product: u.product, resource: `${resource.kind}/${resource.namespace ?? ''}/${resource.name}`, reason: u.reason });
    }
    return out;
  }

  /** A stored workload (slim), e.g. the parent of a Scale. */
  get(kind: string, namespace: string | undefined, name: string): Obj | undefined {
    const uid = this.#uidByName.get(`${kind}/${namespace ?? ''}/${name}`);
    return uid === undefined ? undefined : this.#entries.get(uid)?.object;
  }

  #setNamespace(name: string, labels: Record<string, string> | undefined): void {
    const label = this.#opts.settings?.environmentLabel ?? DEFAULT_ENVIRONMENT_LABEL;
    const before = this.#namespaceLabels.get(name)?.[label];
    if (labels) this.#namespaceLabels.set(name, labels);
    else this.#namespaceLabels.delete(name);
    if (labels?.[label] !== before) this.#recompute(this.#byNamespace.get(name) ?? []);
  }

  #put(uid: string, o: Obj): void {
    const old = this.#entries.get(uid);
    if (old) this.#apply(old.contributions, -1);
    const entry = this.#measure(o);
    this.#entries.set(uid, entry);
    this.#uidByName.set(nameKey(o), uid);
    const ns = str(metadata(o).namespace) ?? '';
    let set = this.#byNamespace.get(ns);
    if (!set) this.#byNamespace.set(ns, (set = new Set()));
    set.add(uid);
    if (kindOf(o) === 'DaemonSet') this.#daemonSets.add(uid);
    this.#apply(entry.contributions, 1);
  }

  #recompute(uids: Iterable<string>): void {
    for (const uid of [...uids]) {
      const e = this.#entries.get(uid);
      if (e) this.#put(uid, e.object);
    }
  }

  #measure(o: Obj): Entry {
    this.#measured++;
    const entry: Entry = { object: o, contributions: [], unknown: [] };
    if (finished(o)) return entry;
    // A live DaemonSet knows how many nodes it runs on (nodeSelector, taints);
    // the node count is only the fallback before its controller has said.
    const desired = kindOf(o) === 'DaemonSet' ? rec(o.status)?.desiredNumberScheduled : undefined;
    const opts: ClaimOptions = {
      ...this.#opts,
      nodeCount: count(desired) ?? this.#opts.nodeCount ?? this.nodeCount,
      namespaceLabels: (ns) => this.#namespaceLabels.get(ns),
    };
    const measured = measure(o, opts);
    if (!measured.size) return entry;
    const scope = scopeOf(o, opts);
    for (const [product, { amount }] of measured) {
      if (amount.quantity === null) entry.unknown.push({ product, reason: amount.unknownReason ?? 'unknown quantity' });
      else if (amount.quantity !== 0)
        entry.contributions.push({ key: usageKey(product, scope), product, scope, quantity: amount.quantity });
    }
    return entry;
  }

  #apply(contributions: Contribution[], sign: 1 | -1): void {
    for (const c of contributions) {
      const sum = this.#sums.get(c.key);
      const quantity = (sum?.quantity ?? 0) + sign * c.quantity;
      // Integers in practice; the tolerance absorbs decimal quantity annotations.
      if (Math.abs(quantity) < 1e-9) this.#sums.delete(c.key);
      else if (sum) sum.quantity = quantity;
      else this.#sums.set(c.key, { product: c.product, scope: c.scope, quantity });
    }
    if (contributions.length) this.#cache = undefined;
  }

  #emit(type: InventoryChange['type'], uid: string, o: Obj): void {
    if (!this.#listeners.size) return;
    const m = metadata(o);
    const namespace = str(m.namespace);
    const name = str(m.name) ?? '';
    const kind = kindOf(o);
    const change: InventoryChange = { type, kind, uid, name, key: namespace ? `${kind}/${namespace}/${name}` : `${kind}/${name}` };
    if (namespace) change.namespace = namespace;
    if (typeof m.generation === 'number') change.generation = m.generation;
    for (const cb of this.#listeners) cb(change);
  }
}
