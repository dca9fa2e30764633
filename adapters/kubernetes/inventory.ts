// Usage in a live cluster: the same quantity rules as claims, applied to what
// runs now. Only top-level owners count (see ownedByCountedController): a
// Deployment's ReplicaSets and Pods, a CronJob's Jobs, a StatefulSet's Pods
// are the same licence use seen again.
//
// Lists and watches go through list-watch.ts (plain JSON, each item slimmed
// as it is read); nothing here loads @kubernetes/client-node at run time —
// the KubeConfig is only a type.
import type { KubeConfig } from '@kubernetes/client-node';
import type { UsageRecord } from '../../engine/types.ts';
import { kindOf, metadata, str, type Obj } from './objects.ts';
import { KubeClient, type KubeConnection } from './kube-http.ts';
import { ListWatch } from './list-watch.ts';
import { slimObject } from './slim.ts';
import { listedApiVersion, WORKLOADS } from './workload.ts';
import { UsageIndex, type InventoryChange, type UnknownUsage, type UsageOptions } from './usage-index.ts';

export type { InventoryChange, UnknownUsage, UsageOptions } from './usage-index.ts';

/**
 * Usage records of a set of live objects (e.g. `kubectl get -A -o yaml` of
 * the workload kinds). Namespace and Node objects among them provide the
 * environment labels and the DaemonSet node count. Records with the same
 * product and scope are added up.
 */
export function usageFromObjects(objects: readonly unknown[], opts: UsageOptions): UsageRecord[] {
  const index = new UsageIndex(opts);
  const rank = (o: unknown) => (kindOf(o) === 'Namespace' || kindOf(o) === 'Node' ? 0 : 1);
  if (objects.some((o) => kindOf(o) === 'Node')) index.markNodesKnown();
  for (const o of [...objects].sort((a, b) => rank(a) - rank(b))) index.upsert(o);
  return index.usage();
}

/** One collection the inventory lists and watches. */
export interface InventoryResource {
  kind: string;
  apiVersion: string;
  path: string;
}

/** Namespaces and Nodes (environment labels, DaemonSet node count), then every kind of the workload table. */
export const INVENTORY_RESOURCES: readonly InventoryResource[] = [
  { kind: 'Namespace', apiVersion: 'v1', path: '/api/v1/namespaces' },
  { kind: 'Node', apiVersion: 'v1', path: '/api/v1/nodes' },
  ...Object.entries(WORKLOADS).map(([kind, w]) => {
    const apiVersion = listedApiVersion(w);
    return { kind, apiVersion, path: `${apiVersion === 'v1' ? '/api' : '/apis'}/${apiVersion}/${w.resource}` };
  }),
];

export interface InventoryOptions extends UsageOptions {
  /**
   * Where the API server is and how to authenticate: a loaded
   * @kubernetes/client-node KubeConfig (file, KUBECONFIG or in-cluster), or
   * anything with its getCurrentCluster() and applyToHTTPSOptions().
   */
  kubeConfig: KubeConfig | KubeConnection;
  /** Items per list request (the list is paged so memory stays flat). */
  pageSize?: number;
  /** First wait before retrying a failed list or watch; doubles per consecutive failure (to at most a minute, or this if larger). */
  retryDelayMs?: number;
  /** Server-side timeout of each watch request (randomised ±50 %); the watch is resumed from its resourceVersion. Default 300. */
  watchTimeoutSeconds?: number;
  onError?: (kind: string, error: unknown) => void;
}

/** The key UsageIndex.sweep() knows an object by: uid of a workload, name of a Namespace or Node. */
function sweepKey(kind: string, o: Obj): string {
  const m = metadata(o);
  if (kind === 'Namespace' || kind === 'Node') return str(m.name) ?? '';
  return str(m.uid) ?? `${kind}/${str(m.namespace) ?? ''}/${str(m.name) ?? ''}`;
}

/** Live usage from a list/watch of each workload kind, Namespaces and Nodes. */
export class Inventory {
  readonly synced: Promise<void>;
  readonly #index: UsageIndex;
  readonly #opts: InventoryOptions;
  readonly #watches: ListWatch[] = [];
  #client: KubeClient | undefined;
  #resolveSynced!: () => void;
  #pending = new Set<string>();
  #started = false;

  constructor(opts: InventoryOptions) {
    this.#opts = opts;
    this.#index = new UsageIndex(opts);
    this.synced = new Promise((resolve) => (this.#resolveSynced = resolve));
  }

  /** Starts a list/watch per kind; `synced` resolves once each kind has been listed and applied. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const client = (this.#client = new KubeClient(this.#opts.kubeConfig));
    for (const resource of INVENTORY_RESOURCES) {
      this.#pending.add(resource.kind);
      const { kind, apiVersion } = resource;
      let seen: Set<string> | undefined;
      const watch = new ListWatch(
        client,
        resource.path,
        {
          onListStart: (relist) => {
            // A relist (410 Gone, or a list that failed half-way) must also drop what is gone.
            seen = relist ? new Set() : undefined;
          },
          onListItem: (item) => {
            const o = slimObject(kind, apiVersion, item);
            seen?.add(sweepKey(kind, o));
            this.#index.upsert(o);
          },
          onListEnd: () => {
            if (seen) this.#index.sweep(kind, seen);
            seen = undefined;
            if (kind === 'Node') this.#index.markNodesKnown();
            if (this.#pending.delete(kind) && this.#pending.size === 0) this.#resolveSynced();
          },
          onEvent: (type, object) => {
            const o = slimObject(kind, apiVersion, object);
            if (type === 'DELETED') this.#index.remove(o);
            else this.#index.upsert(o);
          },
          onError: (error) => this.#opts.onError?.(kind, error),
        },
        {
          ...(this.#opts.pageSize !== undefined ? { pageSize: this.#opts.pageSize } : {}),
          retryDelayMs: this.#opts.retryDelayMs ?? 5000,
          ...(this.#opts.watchTimeoutSeconds !== undefined ? { watchTimeoutSeconds: this.#opts.watchTimeoutSeconds } : {}),
        },
      );
      this.#watches.push(watch);
    }
    for (const w of this.#watches) w.start();
  }

  usage(): UsageRecord[] {
    return this.#index.usage();
  }

  /** The usage one record per counted object, named by its resource id. */
  usageByResource(): (UsageRecord & { resource: string })[] {
    return this.#index.usageByResource();
  }

  unknowns(): UnknownUsage[] {
    return this.#index.unknowns();
  }

  /** Called after each counted workload is added, modified or deleted; returns an unsubscribe function. */
  onChange(cb: (change: InventoryChange) => void): () => void {
    return this.#index.onChange(cb);
  }

  get nodeCount(): number | undefined {
    return this.#index.nodeCount;
  }

  namespaceLabels(namespace: string): Record<string, string> | undefined {
    return this.#index.namespaceLabels(namespace);
  }

  /** A stored top-level workload (slim), e.g. the parent of a Scale under admission. */
  workload(kind: string, namespace: string | undefined, name: string): Obj | undefined {
    return this.#index.get(kind, namespace, name);
  }

  /** New products or settings (config reload): every object is measured again. */
  reconfigure(opts: UsageOptions): void {
    this.#index.reconfigure(opts);
  }

  async stop(): Promise<void> {
    await Promise.all(this.#watches.map((w) => w.stop()));
    this.#client?.close();
  }
}
