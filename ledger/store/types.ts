// The store contract: what the ledger keeps, the same for the embedded store
// (node:sqlite) and PostgreSQL. The conformance suite (conformance.ts) runs
// against both. Times are epoch milliseconds from the ledger's clock, so tests
// can move it and replicas compare like with like.
import type { Scope } from '../../engine/types.ts';

export const ROLES = ['gate', 'reporter', 'viewer', 'finance', 'procurement', 'auditor', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who made a write: a token's name (`token:NAME`), or `cli` for local admin commands. Kept on every write for the decision log to come. */
export type Actor = string;

export interface TokenRecord {
  id: string;
  name: string;
  roles: Role[];
  createdAt: number;
}

/** One usage record as a source reports it; `resource` identifies the deployed thing so two sources reporting it count it once. */
export interface SourceUsageRecord {
  product: string;
  quantity: number;
  scope: Scope;
  resource?: string;
}

export interface UsageReport {
  source: string;
  observedAt: string;
  /** When the ledger received it. */
  reportedAt: number;
  /** The snapshot's own `source` field, when it differs from the source it was put to. */
  origin?: string;
  staleAfterMs: number | null;
  usage: SourceUsageRecord[];
}

export interface ReservationLine {
  product: string;
  quantity: number;
  scope: Scope;
  /** resourceId of the claim, to confirm it when a source reports the resource. */
  resource: string | null;
}

export type ReservationState = 'held' | 'confirmed' | 'released' | 'expired' | 'settled';

export interface Reservation {
  id: string;
  state: ReservationState;
  createdAt: number;
  /** null once confirmed: a confirmed reservation counts until a source reports its resources, or it is released. */
  expiresAt: number | null;
  actor: Actor;
  lines: ReservationLine[];
}

/** One day of one series (a product in one scope; scope `*` is the product's total): samples of its usage that day. */
export interface HistoryDay {
  product: string;
  /** scopeKey() of the scope, or `*`. */
  scope: string;
  /** YYYY-MM-DD, UTC. */
  day: string;
  peak: number;
  /** Sum of the samples, for the day's average. */
  total: number;
  samples: number;
  /** The last sample: the usage carried into the days that follow without one. */
  last: number;
}

export interface HistorySample {
  product: string;
  scope: string;
  quantity: number;
}

/** Statements inside one serialised step; only valid until the step's callback returns. */
export interface StoreTx {
  /** Bumped by every usage report, so a replica knows when its cached usage is stale. */
  usageVersion(): Promise<number>;
  /** Every source's current report. */
  currentUsage(): Promise<UsageReport[]>;
  /**
   * What reservations hold at `now` (held and unexpired, or confirmed, and not yet
   * settled by a report), summed per product and scope (`resource` null). Lines
   * past their expiry stop counting here, under the step's lock.
   */
  countingLines(products: readonly string[], now: number): Promise<ReservationLine[]>;
  insertReservation(r: Reservation): Promise<void>;
  getReservation(id: string, now: number): Promise<Reservation | null>;
  /** Sets the state; `expiresAt` null stops expiry. Lines stop counting for released/expired/settled. */
  setReservationState(id: string, state: ReservationState, at: number, actor: Actor): Promise<void>;
  /** Replaces the source's current report, keeping the old one as history. */
  putUsage(report: UsageReport, actor: Actor): Promise<void>;
  /**
   * Marks counting lines of these (product, resource) pairs settled: their usage now
   * comes from a report. Returns the ids of reservations whose every line is settled.
   */
  settle(pairs: readonly { product: string; resource: string }[], at: number): Promise<string[]>;
  /** Lines of confirmed reservations that still count: deployed, not yet in a report. */
  confirmedLines(): Promise<ReservationLine[]>;
  /** Each series' latest sampled value. */
  historyLast(): Promise<HistorySample[]>;
  /** Adds one sample per series to the day's row (peak, sum, count, last). */
  recordHistory(day: string, samples: readonly HistorySample[]): Promise<void>;
}

export interface Store {
  readonly kind: 'embedded' | 'postgres';
  /** Runs versioned migrations under a lock; refuses a store migrated by a newer version. */
  migrate(): Promise<void>;
  /** Makes the per-product lock rows exist (idempotent). */
  ensureProducts(ids: readonly string[]): Promise<void>;
  /**
   * One serialised step: holds the lock of each product (in a fixed order) for the
   * whole callback, in one transaction; commits when the callback resolves.
   * With `all`, every product's lock (usage reports). With `prefetch`, the store
   * may read usageVersion() and countingLines(products, now) together with taking
   * the locks (PostgreSQL: one round trip less each).
   */
  withProducts<T>(products: readonly string[] | 'all', fn: (tx: StoreTx) => Promise<T>, prefetch?: { now: number }): Promise<T>;
  createToken(t: TokenRecord & { hash: string }, actor: Actor): Promise<void>;
  findToken(hash: string): Promise<TokenRecord | null>;
  usageHistory(source: string, limit: number): Promise<UsageReport[]>;
  listReservations(now: number, states: readonly ReservationState[], limit: number): Promise<Reservation[]>;
  /** A product's history rows with `from` ≤ day ≤ `to`, plus each series' last row before `from` (what it carries in). */
  history(product: string, from: string, to: string): Promise<HistoryDay[]>;
  /** Each product's highest daily peak in scope `scope` from `from` on (products without a row absent). */
  historyPeaks(scope: string, from: string): Promise<{ product: string; peak: number }[]>;
  /** Writes rows as they are (replacing any with the same key), in bulk: seeding and imports. */
  importHistory(rows: readonly HistoryDay[]): Promise<void>;
  /** Marks held reservations past their expiry as expired (their lines already do not count). */
  expire(now: number): Promise<number>;
  schemaVersion(): Promise<number>;
  /** A cheap round trip: is the store answering? */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The state a reader sees: a held reservation past its expiry is expired, whether or not the sweep has run. */
export function effectiveState(state: ReservationState, expiresAt: number | null, now: number): ReservationState {
  return state === 'held' && expiresAt !== null && expiresAt <= now ? 'expired' : state;
}
