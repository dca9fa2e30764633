// Reservations shared by every webhook replica, kept in the Kubernetes API
// itself: one coordination.k8s.io/v1 Lease per product in the webhook's
// namespace, its annotation `entitlegate.io/reservations` holding the ledger
// (JSON) of admitted changes that live usage may not show yet.
//
// One admission, for the products it asks more of (sorted, so two
// admissions never wait on each other crosswise):
//   1. take this replica's lock of each product (the replica never races itself);
//   2. read each product's Lease (its resourceVersion), drop the entries that
//      expired or whose object this replica's engine already counts;
//   3. decide with local usage plus the remaining entries;
//   4. if allowed (and not a dry run), write each Lease back with our entry,
//      conditional on the resourceVersion read (PUT, or POST when it did not
//      exist). Another replica wrote in between → 409 Conflict → back to 2,
//      after a short random pause, at most `maxAttempts` times; then the
//      admission fails safe (denied, unless the namespace is fail-open).
// The same optimistic-concurrency loop the ResourceQuota admission plugin
// runs on quota status. Entries expire after reservationTTLSeconds (wall
// clock of the replica that wrote them), so a change admitted but never
// stored holds capacity at most that long.
import { hostname } from 'node:os';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { PRODUCT_ANNOTATION } from '../adapters/kubernetes/annotations.ts';
import { EntitlegateError } from '../engine/errors.ts';
import type { Claim, Decision, Scope, UsageRecord } from '../engine/types.ts';

export const LEDGER_ANNOTATION = 'entitlegate.io/reservations';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'entitlegate', 'app.kubernetes.io/component': 'reservations' };
/** Annotations may hold 256 KiB in all; refuse to grow a ledger past this (fail safe). */
export const LEDGER_MAX_CHARS = 200_000;

/** One admitted change (one product and scope of it) not yet counted by live usage. */
export interface LedgerEntry {
  /** `Kind/namespace/name`, as the inventory names objects. */
  key: string;
  /** The object's uid as admitted (set for CREATE and UPDATE), so another incarnation of the name is not mistaken for it. */
  uid?: string;
  /** UPDATE/scale: the resourceVersion of the object before the change; the entry is released once a later version is counted. */
  after?: string;
  /** The AdmissionReview uid (a retried write replaces its own entries). */
  admission: string;
  product: string;
  scope: Scope;
  quantity: number;
  expiresAt: string;
  replica: string;
}

/** What this replica's engine counts of an object, as of the last usage refresh. */
export interface CountedVersion {
  uid?: string;
  resourceVersion?: string;
  deleted: boolean;
  /** Date.now() when it was recorded (housekeeping). */
  at: number;
}

/** The admission being decided, as far as the ledger needs it. */
export interface SharedAdmission {
  key: string;
  admission: string;
  uid?: string;
  after?: string;
  dryRun: boolean;
}

export interface SharedReservationsOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  /** Written into entries and the Lease's holderIdentity (default: $POD_NAME, else host-pid). */
  replica?: string;
  /** How long an entry lives (reservationTTLSeconds; read on every admission so reloads apply). */
  ttlMs: () => number;
  maxAttempts?: number;
  /** Give up (fail safe) when an admission has waited this long in all, below the webhook timeout. Default 4 s (the example registers timeoutSeconds: 5). */
  deadlineMs?: number;
  /** What the engine counts of an object (see Gate.counted). */
  counted: (key: string) => CountedVersion | undefined;
  now?: () => number;
  /** Pause before retry `attempt` (1-based). Default: random 5–(20·2^attempt) ms, at most 250 ms. */
  backoff?: (attempt: number) => number;
  /** An API client to use instead of one made from kubeConfig (tests). */
  api?: Pick<CoordinationV1Api, 'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'>;
}

/** Lease name of a product: `entitlegate-<id>` when that is a DNS-1123 name, else sanitised plus a hash of the id. */
export function leaseName(product: string): string {
  const plain = `entitlegate-${product}`;
  if (/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(plain) && plain.length <= 253 && !plain.includes('..')) return plain;
  const hash = createHash('sha256').update(product).digest('hex').slice(0, 10);
  const body = product
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 200);
  return body ? `entitlegate-${body}-${hash}` : `entitlegate-${hash}`;
}

export function defaultReplicaId(env: NodeJS.ProcessEnv = process.env): string {
  return env.POD_NAME || `${hostname()}-${process.pid}`;
}

/** Admissions per key run one after another; several keys are taken in the order given (callers sort). */
export class KeyedMutex {
  #tails = new Map<string, Promise<void>>();

  async acquire(keys: readonly string[]): Promise<() => void> {
    const releases: (() => void)[] = [];
    for (const k of keys) releases.push(await this.#one(k));
    return () => {
      for (const r of releases.reverse()) r();
    };
  }

  #one(key: string): Promise<() => void> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.#tails.set(key, tail);
    return prev.then(() => () => {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
  }

  get held(): number {
    return this.#tails.size;
  }
}

interface ReadLease {
  product: string;
  name: string;
  lease: V1Lease | undefined;
  /** Entries still alive and not counted by this replica. */
  entries: LedgerEntry[];
}

export interface SharedStats {
  writes: number;
  conflicts: number;
  failures: number;
  /** Entries alive in the Leases this replica read last (per product). */
  entries: Map<string, number>;
  /** Their quantities (per product). */
  reserved: Map<string, number>;
}

function httpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

function parseLedger(lease: V1Lease | undefined): LedgerEntry[] {
  const raw = lease?.metadata?.annotations?.[LEDGER_ANNOTATION];
  if (!raw) return [];
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(
      (e): e is LedgerEntry =>
        typeof e === 'object' &&
        e !== null &&
        typeof e.key === 'string' &&
        typeof e.product === 'string' &&
        typeof e.quantity === 'number' &&
        typeof e.expiresAt === 'string',
    );
  } catch {
    // A ledger someone broke by hand: start it afresh rather than deny forever (entries are at most one TTL old).
    return [];
  }
}

export class SharedReservations {
  readonly namespace: string;
  readonly replica: string;
  readonly maxAttempts: number;
  readonly stats: SharedStats = { writes: 0, conflicts: 0, failures: 0, entries: new Map(), reserved: new Map() };
  readonly #api: NonNullable<SharedReservationsOptions['api']>;
  readonly #opts: SharedReservationsOptions;
  readonly #locks = new KeyedMutex();
  readonly #now: () => number;

  constructor(opts: SharedReservationsOptions) {
    this.#opts = opts;
    this.namespace = opts.namespace;
    this.replica = opts.replica ?? defaultReplicaId();
    this.maxAttempts = opts.maxAttempts ?? 8;
    this.#now = opts.now ?? Date.now;
    this.#api = opts.api ?? opts.kubeConfig.makeApiClient(CoordinationV1Api);
  }

  /** Entries alive in the last-read Leases, all products. */
  get size(): number {
    let n = 0;
    for (const v of this.stats.entries.values()) n += v;
    return n;
  }

  /**
   * Decides with the shared reservations and, when allowed (not a dry run),
   * records this admission's positive claims in the Leases. `decide` is
   * called once per attempt with the reservations to count; it must be
   * synchronous. Throws EntitlegateError when the Leases cannot be read or
   * written in time (the caller's failure policy applies).
   */
  async admit(adm: SharedAdmission, claims: readonly Claim[], decide: (reservations: UsageRecord[]) => Decision): Promise<Decision> {
    const positive = claims.filter((c) => c.quantity !== null && c.quantity > 0);
    const products = [...new Set(positive.map((c) => c.product))].sort();
    if (!products.length) return decide([]);
    const started = this.#now();
    const deadline = started + (this.#opts.deadlineMs ?? 4000);
    const release = await this.#locks.acquire(products);
    try {
      for (let attempt = 1; ; attempt++) {
        this.#checkDeadline(deadline, products);
        const leases: ReadLease[] = [];
        for (const p of products) leases.push(await this.#read(p));
        const reserved: UsageRecord[] = leases.flatMap((l) =>
          l.entries.filter((e) => e.admission !== adm.admission).map((e) => ({ product: e.product, quantity: e.quantity, scope: e.scope })),
        );
        const decision = decide(reserved);
        if (!decision.allowed || adm.dryRun) return decision;
        try {
          for (const l of leases)
            await this.#write(
              l,
              adm,
              positive.filter((c) => c.product === l.product),
            );
          this.stats.writes++;
          return decision;
        } catch (err) {
          if (httpCode(err) !== 409) throw this.#apiError(err, 'write');
          this.stats.conflicts++;
          if (attempt >= this.maxAttempts) {
            this.stats.failures++;
            throw new EntitlegateError(
              'EG_ERR_POLICY_EVAL',
              `shared reservations: the Lease of ${products.join(', ')} in namespace ${this.namespace} kept changing under us (${attempt} conflicting writes); try again`,
            );
          }
          const pause = this.#opts.backoff?.(attempt) ?? 5 + Math.random() * Math.min(250, 20 * 2 ** attempt);
          await sleep(pause);
        }
      }
    } finally {
      release();
    }
  }

  #checkDeadline(deadline: number, products: string[]): void {
    if (this.#now() <= deadline) return;
    this.stats.failures++;
    throw new EntitlegateError(
      'EG_ERR_POLICY_EVAL',
      `shared reservations: no decision on ${products.join(', ')} within ${this.#opts.deadlineMs ?? 4000} ms (Lease contention or a slow API server)`,
    );
  }

  #apiError(err: unknown, what: 'read' | 'write'): EntitlegateError {
    this.stats.failures++;
    const code = httpCode(err);
    const detail = code ? `HTTP ${code}` : String((err as Error)?.message ?? err);
    return new EntitlegateError(
      'EG_ERR_POLICY_EVAL',
      `shared reservations: cannot ${what} the Leases in namespace ${this.namespace} (${detail}); check the webhook's RBAC for coordination.k8s.io leases`,
    );
  }

  /** The product's Lease and its live entries (what `admit` would count now), for tests and metrics. */
  async pending(product: string): Promise<LedgerEntry[]> {
    return (await this.#read(product)).entries;
  }

  async #read(product: string): Promise<ReadLease> {
    const name = leaseName(product);
    let lease: V1Lease | undefined;
    try {
      lease = await this.#api.readNamespacedLease({ name, namespace: this.namespace });
    } catch (err) {
      if (httpCode(err) !== 404) throw this.#apiError(err, 'read');
    }
    const now = this.#now();
    const entries = parseLedger(lease).filter((e) => e.product === product && Date.parse(e.expiresAt) > now && !this.#counted(e));
    this.#count(product, entries);
    return { product, name, lease, entries };
  }

  /** Does this replica's engine already count the entry's object (in the version admitted or later)? */
  #counted(e: LedgerEntry): boolean {
    const c = this.#opts.counted(e.key);
    if (!c) return false;
    if (e.uid && c.uid && e.uid !== c.uid) return false; // another incarnation of the name
    if (c.deleted) return true;
    if (e.after === undefined) return true;
    return c.resourceVersion !== undefined && c.resourceVersion !== e.after;
  }

  async #write(l: ReadLease, adm: SharedAdmission, claims: readonly Claim[]): Promise<void> {
    const expiresAt = new Date(this.#now() + this.#opts.ttlMs()).toISOString();
    const mine: LedgerEntry[] = claims.map((c) => ({
      key: adm.key,
      ...(adm.uid ? { uid: adm.uid } : {}),
      ...(adm.after ? { after: adm.after } : {}),
      admission: adm.admission,
      product: c.product,
      scope: c.scope,
      quantity: c.quantity!,
      expiresAt,
      replica: this.replica,
    }));
    const entries = [...l.entries.filter((e) => e.admission !== adm.admission), ...mine];
    const ledger = JSON.stringify(entries);
    if (ledger.length > LEDGER_MAX_CHARS) {
      throw new EntitlegateError(
        'EG_ERR_POLICY_EVAL',
        `shared reservations: the Lease ${l.name} would hold ${entries.length} pending reservations (${ledger.length} bytes), more than an annotation can; lower reservationTTLSeconds or check that the inventory follows the cluster`,
      );
    }
    const metadata = {
      ...(l.lease?.metadata ?? {}),
      name: l.name,
      namespace: this.namespace,
      labels: { ...(l.lease?.metadata?.labels ?? {}), ...MANAGED_BY },
      annotations: { ...(l.lease?.metadata?.annotations ?? {}), [PRODUCT_ANNOTATION]: l.product, [LEDGER_ANNOTATION]: ledger },
    };
    const body: V1Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec: { holderIdentity: this.replica } };
    if (l.lease) {
      // metadata.resourceVersion is the one read: the API server refuses (409) if anyone wrote since.
      try {
        await this.#api.replaceNamespacedLease({ name: l.name, namespace: this.namespace, body });
      } catch (err) {
        // Deleted since we read it (someone cleaning up): read again, like a conflict.
        if (httpCode(err) === 404) throw Object.assign(new Error(`Lease ${l.name} deleted while in use`), { code: 409 });
        throw err;
      }
    } else {
      await this.#api.createNamespacedLease({ namespace: this.namespace, body }); // 409 AlreadyExists if another replica created it first
    }
    this.#count(l.product, entries);
  }

  #count(product: string, entries: readonly LedgerEntry[]): void {
    this.stats.entries.set(product, entries.length);
    this.stats.reserved.set(
      product,
      entries.reduce((sum, e) => sum + e.quantity, 0),
    );
  }
}
