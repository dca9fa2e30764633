// Where live usage comes from. With a cluster connection (KUBECONFIG,
// ~/.kube/config, or the pod's service account) the Kubernetes adapter's
// Inventory watches the workload kinds and its usage joins the snapshots;
// without one the server decides from the usage snapshots alone.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { Inventory, type InventoryChange } from '../adapters/kubernetes/inventory.ts';
import type { Gate } from './gate.ts';
import type { Readiness } from './health.ts';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface ClusterConnection {
  kubeConfig: KubeConfig;
  /** Where it came from, for the start-up log (never credentials). */
  from: string;
}

/** The cluster to watch, or null when there is none (no kubeconfig, not in a pod). */
export function detectCluster(env: NodeJS.ProcessEnv = process.env, home = homedir()): ClusterConnection | null {
  const kc = new KubeConfig();
  if (env.KUBECONFIG) {
    kc.loadFromDefault();
    return kc.getCurrentCluster() ? { kubeConfig: kc, from: `KUBECONFIG (context ${kc.getCurrentContext()})` } : null;
  }
  const file = join(home, '.kube', 'config');
  if (existsSync(file)) {
    kc.loadFromFile(file);
    return kc.getCurrentCluster() ? { kubeConfig: kc, from: `${file} (context ${kc.getCurrentContext()})` } : null;
  }
  if (env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) {
    kc.loadFromCluster();
    return { kubeConfig: kc, from: 'in-cluster service account' };
  }
  return null;
}

interface Log {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface UsageSourceOptions {
  /** Wait after an inventory change before usage is recomputed, so a burst of events costs one refresh. */
  debounceMs?: number;
  retryDelayMs?: number;
  pageSize?: number;
}

/** Snapshot mode: ready at once, usage is what the snapshot files say. */
export class SnapshotUsage implements Readiness {
  readonly mode = 'snapshots' as const;
  ready(): boolean {
    return true;
  }
  reason(): string {
    return '';
  }
  async stop(): Promise<void> {}
}

/** Cluster mode: the inventory's usage is fed into the engine on change. */
export class ClusterUsage implements Readiness {
  readonly mode = 'cluster' as const;
  readonly inventory: Inventory;
  readonly #gate: Gate;
  readonly #log: Log;
  readonly #debounceMs: number;
  #synced = false;
  #seen = new Map<string, number>();
  #changes = new Map<string, InventoryChange>();
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: () => void = () => {};

  constructor(gate: Gate, connection: ClusterConnection, log: Log, opts: UsageSourceOptions = {}) {
    this.#gate = gate;
    this.#log = log;
    this.#debounceMs = opts.debounceMs ?? 100;
    this.inventory = new Inventory({
      ...gate.usageOptions(),
      kubeConfig: connection.kubeConfig,
      ...(opts.pageSize ? { pageSize: opts.pageSize } : {}),
      ...(opts.retryDelayMs ? { retryDelayMs: opts.retryDelayMs } : {}),
      onError: (kind, err) =>
        this.#log.warn({ kind, err: String((err as Error)?.message ?? err) }, 'cluster inventory: list or watch failed; retrying'),
    });
  }

  /** Starts the informers; resolves at once, readiness follows the first full list. */
  start(): void {
    this.#gate.attachInventory(this.inventory);
    this.#unsubscribe = this.inventory.onChange((change) => {
      this.#seen.set(change.key, this.#gate.reservations.mark());
      this.#changes.delete(change.key);
      this.#changes.set(change.key, change);
      if (this.#synced && !this.#timer) {
        this.#timer = setTimeout(() => this.flush(), this.#debounceMs);
        this.#timer.unref();
      }
    });
    this.inventory
      .start()
      .catch((err) => this.#log.error({ err: String((err as Error)?.message ?? err) }, 'cluster inventory failed to start'));
    void this.inventory.synced.then(() => {
      this.flush();
      this.#synced = true;
      this.#log.info({ usage: this.inventory.usage().length, nodes: this.inventory.nodeCount }, 'cluster inventory synced; ready');
    });
  }

  /** Usage into the engine and the seen objects' reservations released, in one synchronous step. */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const seen = this.#seen;
    const changes = this.#changes;
    this.#seen = new Map();
    this.#changes = new Map();
    this.#gate.refreshClusterUsage(seen, changes.values());
  }

  ready(): boolean {
    return this.#synced;
  }

  reason(): string {
    return this.#synced ? '' : 'cluster inventory not yet synced (first list of every workload kind pending)';
  }

  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#unsubscribe();
    await this.inventory.stop();
  }
}
