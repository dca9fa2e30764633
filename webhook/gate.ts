// What the webhook serves from: the engine with its config and usage, the
// live inventory when there is a cluster, and the reservations. Every change
// (reload, inventory flush) is applied synchronously as a whole, so a request
// sees either the old state or the new one, never a mix.
import type { Inventory, InventoryChange } from '../adapters/kubernetes/inventory.ts';
import type { ChangeOptions } from '../adapters/kubernetes/claims.ts';
import type { LoadedConfig } from '../config/load.ts';
import { loadFiles } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { Engine, type UsageSource } from '../engine/engine.ts';
import { CompiledPolicy } from '../engine/policy/wasm.ts';
import { isoInstant } from '../engine/time.ts';
import type { UsageSnapshot } from '../engine/types.ts';
import type { LedgerGate } from './ledger-gate.ts';
import { Reservations } from './reservations.ts';
import type { CountedVersion, SharedReservations } from './shared-reservations.ts';

export const CLUSTER_SOURCE = 'cluster-inventory';

export interface GateFiles {
  config: string;
  usage: readonly string[];
}

export interface GateOptions {
  files: GateFiles;
  /** The clock of decisions (tests and --now fix it). */
  clock: () => Date;
  /** Monotonic milliseconds that reservations expire on (default performance.now; tests inject it). */
  elapsed?: () => number;
}

export class Gate {
  readonly files: GateFiles;
  readonly clock: () => Date;
  readonly reservations: Reservations;
  /** Reservations shared across replicas (Leases); when set, admissions use it instead of `reservations`. */
  shared: SharedReservations | undefined;
  /** The ledger that decides and reserves admissions (ledger-gate.ts); when set, it wins over `shared` and `reservations`. */
  ledger: LedgerGate | undefined;
  /** What the engine counts of each object that changed lately (the shared ledger's release rule). */
  readonly #counted = new Map<string, CountedVersion>();
  #countedSwept = 0;
  #engine: Engine;
  #loaded: LoadedConfig;
  #snapshots: UsageSnapshot[];
  #cluster: UsageSource | undefined;
  #inventory: Inventory | undefined;

  private constructor(opts: GateOptions, engine: Engine, loaded: LoadedConfig, snapshots: UsageSnapshot[]) {
    this.files = opts.files;
    this.clock = opts.clock;
    this.#engine = engine;
    this.#loaded = loaded;
    this.#snapshots = snapshots;
    this.reservations = new Reservations({
      ttlMs: loaded.config.kubernetes.reservationTTLSeconds * 1000,
      ...(opts.elapsed ? { elapsed: opts.elapsed } : {}),
    });
  }

  /** Loads config, usage and policy; throws (EntitlegateError with every problem) rather than serve half a config. */
  static async create(opts: GateOptions): Promise<Gate> {
    const { config, usage: snapshots } = loadFiles(opts.files.config, opts.files.usage);
    const engine = await Engine.create(config, snapshots);
    warm(engine, config.config, opts.clock());
    return new Gate(opts, engine, config, snapshots);
  }

  get engine(): Engine {
    return this.#engine;
  }

  get config(): Config {
    return this.#loaded.config;
  }

  get loaded(): LoadedConfig {
    return this.#loaded;
  }

  get inventory(): Inventory | undefined {
    return this.#inventory;
  }

  /** Usage in the engine: the snapshots, plus the cluster's when there is one. */
  #sources(cluster = this.#cluster): (UsageSource | UsageSnapshot)[] {
    return cluster ? [...this.#snapshots, cluster] : [...this.#snapshots];
  }

  /**
   * Replaces config and snapshots. A policy the config names anew, or whose
   * file changed (`policyFile`: the reloader saw it change), is loaded first
   * (the old engine serves meanwhile); it replaces the engine's only when its
   * content differs. The swap itself is synchronous, and a failure puts the
   * old state back before rethrowing.
   */
  async apply(loaded: LoadedConfig, snapshots: UsageSnapshot[], opts: { policyFile?: boolean } = {}): Promise<void> {
    const pathChanged = loaded.policyPath !== this.#loaded.policyPath;
    const candidate = pathChanged || opts.policyFile ? await CompiledPolicy.load(loaded.policyPath) : undefined;
    const policy = candidate && (pathChanged || candidate.digest !== this.#engine.policy.digest) ? candidate : undefined;
    const old = { loaded: this.#loaded, snapshots: this.#snapshots, engine: this.#engine };
    try {
      this.#inventory?.reconfigure(this.#usageOptions(loaded.config));
      const cluster = this.#clusterSource();
      const sources = cluster ? [...snapshots, cluster] : snapshots;
      if (policy) {
        this.#engine = new Engine(policy, loaded, sources);
        warm(this.#engine, loaded.config, this.clock());
      } else {
        this.#engine.setConfig(loaded);
        this.#engine.setUsage(sources);
      }
      this.#loaded = loaded;
      this.#snapshots = snapshots;
      this.#cluster = cluster;
      this.reservations.ttlMs = loaded.config.kubernetes.reservationTTLSeconds * 1000;
    } catch (err) {
      this.#engine = old.engine;
      this.#inventory?.reconfigure(this.#usageOptions(old.loaded.config));
      this.#engine.setConfig(old.loaded);
      this.#engine.setUsage(this.#sources());
      throw err;
    }
  }

  /** Starts feeding usage from a cluster inventory (see usage-source.ts). */
  attachInventory(inventory: Inventory): void {
    this.#inventory = inventory;
  }

  /**
   * Takes the inventory's usage into the engine and, in the same synchronous
   * step, releases the reservations of the objects it now counts — so an
   * admitted object is never counted twice nor, for a moment, not at all.
   */
  refreshClusterUsage(seen: ReadonlyMap<string, number> = new Map(), changes: Iterable<InventoryChange> = []): void {
    const cluster = this.#clusterSource();
    this.#engine.setUsage(this.#sources(cluster));
    this.#cluster = cluster;
    for (const [key, upTo] of seen) this.reservations.release(key, upTo);
    this.#recordCounted(changes);
  }

  /** What the engine counts of an object, as of the last usage refresh that saw it change. */
  counted(key: string): CountedVersion | undefined {
    return this.#counted.get(key);
  }

  #recordCounted(changes: Iterable<InventoryChange>): void {
    const now = Date.now();
    for (const c of changes) {
      const obj = c.type === 'deleted' ? undefined : this.#inventory?.workload(c.kind, c.namespace, c.name);
      const meta = (obj?.metadata ?? {}) as { resourceVersion?: unknown };
      const rv = typeof meta.resourceVersion === 'string' ? meta.resourceVersion : undefined;
      this.#counted.delete(c.key); // re-inserted last: the map stays in time order
      this.#counted.set(c.key, {
        uid: c.uid,
        deleted: c.type === 'deleted',
        at: now,
        ...(rv !== undefined ? { resourceVersion: rv } : {}),
      });
    }
    // A ledger entry lives one TTL at most; what was counted before that no longer matters.
    if (now - this.#countedSwept < 10_000) return;
    this.#countedSwept = now;
    const horizon = now - this.config.kubernetes.reservationTTLSeconds * 1000 - 60_000;
    for (const [key, v] of this.#counted) {
      if (v.at > horizon) break;
      this.#counted.delete(key);
    }
  }

  #clusterSource(): UsageSource | undefined {
    if (!this.#inventory) return undefined;
    return { source: CLUSTER_SOURCE, observedAt: isoInstant(this.clock()), usage: this.#inventory.usage() };
  }

  #usageOptions(config: Config) {
    return {
      products: config.products,
      settings: config.kubernetes,
      ...(config.kubernetes.cluster ? { cluster: config.kubernetes.cluster } : {}),
    };
  }

  /** What the Kubernetes adapter needs to turn an admission into claims. */
  claimOptions(): ChangeOptions {
    const inv = this.#inventory;
    const opts: ChangeOptions = this.#usageOptions(this.config);
    if (inv) {
      opts.namespaceLabels = (ns) => inv.namespaceLabels(ns);
      const nodes = inv.nodeCount;
      if (nodes !== undefined) opts.nodeCount = nodes;
    }
    return opts;
  }

  usageOptions() {
    return this.#usageOptions(this.config);
  }
}

/**
 * One throw-away decision before the policy serves: `serve` compiles the
 * policy's functions with the optimising compiler when they first run
 * (--no-liftoff, serve.ts), about 0.1 s in all, and that should not land on
 * the first admission after a start or a policy change. Nothing is recorded.
 */
function warm(engine: Engine, config: Config, now: Date): void {
  const product = config.products[0];
  if (product) engine.decide([{ product: product.id, quantity: 1, peak: 1, scope: {} }], { now });
}
