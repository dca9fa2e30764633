// Usage in a live cluster: the same quantity rules as claims, applied to what
// runs now. Only top-level owners count (see ownedByCountedController): a
// Deployment's ReplicaSets and Pods, a CronJob's Jobs, a StatefulSet's Pods
// are the same licence use seen again.
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  ListWatch,
  Watch,
  type Informer,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { UsageRecord } from '../../engine/types.ts';
import { kindOf, type Obj } from './objects.ts';
import { slimObject } from './slim.ts';
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

interface Apis {
  apps: AppsV1Api;
  batch: BatchV1Api;
  core: CoreV1Api;
}

interface Page {
  items: unknown[];
  metadata?: { resourceVersion?: string; _continue?: string };
}

interface Resource {
  kind: string;
  apiVersion: string;
  path: string;
  list: (apis: Apis, page: { limit: number; _continue?: string }) => Promise<Page>;
}

const RESOURCES: Resource[] = [
  { kind: 'Namespace', apiVersion: 'v1', path: '/api/v1/namespaces', list: (a, p) => a.core.listNamespace(p) },
  { kind: 'Node', apiVersion: 'v1', path: '/api/v1/nodes', list: (a, p) => a.core.listNode(p) },
  { kind: 'Deployment', apiVersion: 'apps/v1', path: '/apis/apps/v1/deployments', list: (a, p) => a.apps.listDeploymentForAllNamespaces(p) },
  { kind: 'StatefulSet', apiVersion: 'apps/v1', path: '/apis/apps/v1/statefulsets', list: (a, p) => a.apps.listStatefulSetForAllNamespaces(p) },
  { kind: 'ReplicaSet', apiVersion: 'apps/v1', path: '/apis/apps/v1/replicasets', list: (a, p) => a.apps.listReplicaSetForAllNamespaces(p) },
  { kind: 'DaemonSet', apiVersion: 'apps/v1', path: '/apis/apps/v1/daemonsets', list: (a, p) => a.apps.listDaemonSetForAllNamespaces(p) },
  { kind: 'ReplicationController', apiVersion: 'v1', path: '/api/v1/replicationcontrollers', list: (a, p) => a.core.listReplicationControllerForAllNamespaces(p) },
  { kind: 'Pod', apiVersion: 'v1', path: '/api/v1/pods', list: (a, p) => a.core.listPodForAllNamespaces(p) },
  { kind: 'Job', apiVersion: 'batch/v1', path: '/apis/batch/v1/jobs', list: (a, p) => a.batch.listJobForAllNamespaces(p) },
  { kind: 'CronJob', apiVersion: 'batch/v1', path: '/apis/batch/v1/cronjobs', list: (a, p) => a.batch.listCronJobForAllNamespaces(p) },
];

type Callback = (phase: string, apiObj: unknown, watchObj?: unknown) => void;

/**
 * A Watch that slims each event's object before the informer caches it, so
 * the cache holds the few fields usage needs instead of whole objects.
 */
class SlimWatch extends Watch {
  readonly #resource: Resource;
  constructor(config: KubeConfig, resource: Resource) {
    super(config);
    this.#resource = resource;
  }
  override watch(path: string, queryParams: Record<string, string | number | boolean | undefined>, callback: Callback, done: (err: unknown) => void): Promise<AbortController> {
    const { kind, apiVersion } = this.#resource;
    return super.watch(path, queryParams, (phase, obj) => callback(phase, phase === 'ERROR' || phase === 'BOOKMARK' ? obj : slimObject(kind, apiVersion, obj)), done);
  }
}

export interface InventoryOptions extends UsageOptions {
  kubeConfig: KubeConfig;
  /** Items per list request (the list is paged so memory stays flat). */
  pageSize?: number;
  /** Wait before restarting an informer whose list or watch failed. */
  retryDelayMs?: number;
  onError?: (kind: string, error: unknown) => void;
}

/** Live usage from informers over the workload kinds, Namespaces and Nodes. */
export class Inventory {
  readonly synced: Promise<void>;
  readonly #index: UsageIndex;
  readonly #opts: InventoryOptions;
  readonly #informers: { resource: Resource; informer: Informer<KubernetesObject> & ListWatch<KubernetesObject> }[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  #resolveSynced!: () => void;
  #pending = new Set<string>();
  #stopped = false;
  #started = false;

  constructor(opts: InventoryOptions) {
    this.#opts = opts;
    this.#index = new UsageIndex(opts);
    this.synced = new Promise((resolve) => (this.#resolveSynced = resolve));
  }

  /** Starts every informer; `synced` resolves once each kind has been listed. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const kc = this.#opts.kubeConfig;
    const apis: Apis = { apps: kc.makeApiClient(AppsV1Api), batch: kc.makeApiClient(BatchV1Api), core: kc.makeApiClient(CoreV1Api) };
    for (const resource of RESOURCES) {
      this.#pending.add(resource.kind);
      const informer = new ListWatch<KubernetesObject>(resource.path, new SlimWatch(kc, resource), () => this.#list(apis, resource), false);
      informer.on('add', (o) => this.#index.upsert(o));
      informer.on('update', (o) => this.#index.upsert(o));
      informer.on('delete', (o) => this.#index.remove(o));
      informer.on('error', (err) => {
        if (this.#stopped) return; // stop() aborts the watches; that is no failure
        this.#opts.onError?.(resource.kind, err);
        this.#retry(informer);
      });
      this.#informers.push({ resource, informer });
    }
    await Promise.all(this.#informers.map(({ informer }) => informer.start()));
  }

  /** Lists every page, slimming as it goes, and applies the items before the informer does (so `synced` means applied). */
  async #list(apis: Apis, resource: Resource): Promise<KubernetesListObject<KubernetesObject>> {
    const items: KubernetesObject[] = [];
    let resourceVersion: string | undefined;
    let next: string | undefined;
    do {
      const page = await resource.list(apis, { limit: this.#opts.pageSize ?? 500, ...(next ? { _continue: next } : {}) });
      for (const item of page.items) items.push(slimObject(resource.kind, resource.apiVersion, item) as KubernetesObject);
      resourceVersion = page.metadata?.resourceVersion;
      next = page.metadata?._continue || undefined;
    } while (next);
    for (const item of items) this.#index.upsert(item);
    if (resource.kind === 'Node') this.#index.markNodesKnown();
    if (this.#pending.delete(resource.kind) && this.#pending.size === 0) this.#resolveSynced();
    return { apiVersion: resource.apiVersion, kind: `${resource.kind}List`, metadata: { resourceVersion: resourceVersion ?? '' }, items };
  }

  #retry(informer: Informer<KubernetesObject>): void {
    if (this.#stopped) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#stopped) void informer.start();
    }, this.#opts.retryDelayMs ?? 5000);
    timer.unref();
    this.#timers.add(timer);
  }

  usage(): UsageRecord[] {
    return this.#index.usage();
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
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await Promise.all(this.#informers.map(({ informer }) => informer.stop()));
  }
}
