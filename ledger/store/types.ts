// The store contract: what the ledger keeps, the same for the embedded store
// (node:sqlite) and PostgreSQL. The conformance suite (conformance.ts) runs
// against both. Times are epoch milliseconds from the ledger's clock, so tests
// can move it and replicas compare like with like.
import type { Scope } from '../../engine/types.ts';
import type { LogEntry, LogRecord, StoredLogRecord } from '../audit/chain.ts';
import type { Checkpoint } from '../audit/checkpoint.ts';
import type { LogLines } from './log-rows.ts';
import type { LogSearch } from './log-search.ts';
import { ROLES } from '../governance-settings.ts';

export { ROLES };
export type Role = (typeof ROLES)[number];

/** Who made a write: a token's name (`token:NAME`), or `cli` for local admin commands. Kept on every write for the decision log to come. */
export type Actor = string;

export interface TokenRecord {
  id: string;
  name: string;
  roles: Role[];
  createdAt: number;
  /** Limits the token to these products (decide, reserve, report, request and approve exceptions). */
  products?: string[];
  /** Limits the token to claims, usage and exceptions within this scope. */
  scope?: Scope;
  /** Limits the token to reporting usage as these sources (names or globs such as `cluster:prod-*`). */
  sources?: string[];
  /** Set once revoked: the token is refused from then on. */
  revokedAt?: number;
}

/** What a token may be limited to, beside its roles. */
export type TokenLimits = Pick<TokenRecord, 'products' | 'scope' | 'sources'>;

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

/** A resource a usage report names, and the quantity it reports for it (summed over its records). */
export interface ReportedResource {
  product: string;
  resource: string;
  quantity: number;
}

export interface ReservationLine {
  product: string;
  quantity: number;
  scope: Scope;
  /** resourceId of the claim, to confirm it when a source reports the resource. */
  resource: string | null;
  /**
   * The quantity the resource is at once the change has landed (what the
   * reports said before, plus this line). A report that still shows the
   * quantity from before does not settle the line. Absent: any report naming
   * the resource settles it (lines without a resource, and older rows).
   */
  target?: number;
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
  /** The client's key (POST /v1/decisions `reservationKey`): a second reserve under it while this holds returns this one. */
  key?: string;
}

/** As stored: `expired` is only ever a reader's view of an active exception past its `until` (effectiveExceptionState). */
export type ExceptionState = 'pending' | 'active' | 'denied' | 'revoked' | 'expired';

export interface ExceptionApproval {
  actor: Actor;
  at: number;
  reason: string | null;
}

/** A ledger exception: requested by one identity, approved by others, active until `until` or revoked. */
export interface ExceptionRecord {
  /** `exc-N`, given by the store. */
  id: string;
  product: string;
  quantity: number;
  scope: Scope;
  /** As requested: a date (the whole UTC day) or an instant. */
  until: string;
  /** First instant after `until`. */
  untilMs: number;
  reason: string;
  ticket: string;
  requestedBy: Actor;
  requestedAt: number;
  state: ExceptionState;
  approvals: ExceptionApproval[];
  /** When it became active (its last approval). */
  activeFrom: number | null;
  /** Who denied or revoked it, when, and why. */
  endedBy: Actor | null;
  endedAt: number | null;
  endReason: string | null;
}

export function effectiveExceptionState(x: Pick<ExceptionRecord, 'state' | 'untilMs'>, now: number): ExceptionState {
  return x.state === 'active' && x.untilMs <= now ? 'expired' : x.state;
}

/** A product over capacity in a scope: open from when the ledger first saw it, closed when it saw it back under. */
export interface OverCapacity {
  product: string;
  scope: Scope;
  /** How far over, when last seen (open) or when closed. */
  over: number;
  openedAt: number;
  closedAt: number | null;
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
  /** The newest reservation made under this key, in any state (null: none). */
  reservationByKey(key: string, now: number): Promise<Reservation | null>;
  /** Sets the state; `expiresAt` null stops expiry. Lines stop counting for released/expired/settled. */
  setReservationState(id: string, state: ReservationState, at: number, actor: Actor): Promise<void>;
  /** Replaces the source's current report, keeping the old one as history. */
  putUsage(report: UsageReport, actor: Actor): Promise<void>;
  /**
   * Marks counting lines of these (product, resource) pairs settled: their usage now
   * comes from a report. A line with a target settles only when the reported
   * quantity is no longer the one from before its change (target − quantity):
   * the old version still running leaves it holding. Returns the ids of
   * reservations whose every line is settled.
   */
  settle(pairs: readonly ReportedResource[], at: number): Promise<string[]>;
  /** Stores a new exception and returns it with its id. Bumps usageVersion, as every exception write does: decisions read exceptions with usage. */
  insertException(x: Omit<ExceptionRecord, 'id'>): Promise<ExceptionRecord>;
  getException(id: string): Promise<ExceptionRecord | null>;
  /** Writes the exception's state, approvals and end. */
  updateException(x: ExceptionRecord): Promise<void>;
  /** Exceptions in state `active` whose `until` is after `since` (older ones give nothing any more). */
  activeExceptions(since: number): Promise<ExceptionRecord[]>;
  openFindings(): Promise<OverCapacity[]>;
  /** Opens a finding unless one is open for the product and scope (another replica may have opened it); updates `over` if so. */
  openFinding(f: { product: string; scope: Scope; over: number; at: number }): Promise<void>;
  closeFinding(product: string, scope: Scope, at: number): Promise<void>;
  /** Lines of confirmed reservations that still count: deployed, not yet in a report. */
  confirmedLines(): Promise<ReservationLine[]>;
  /** Each series' latest sampled value. */
  historyLast(): Promise<HistorySample[]>;
  /** Adds one sample per series to the day's row (peak, sum, count, last). */
  recordHistory(day: string, samples: readonly HistorySample[]): Promise<void>;
  /**
   * Appends one record to the decision log, in this step's transaction: it is
   * kept exactly when the step commits. Its seq and hash are given at commit,
   * under the chain head's lock (see appendLog in ../audit/log.ts).
   */
  appendLog(entry: LogEntry): Promise<void>;
}

/** The decision log's chain head and how far retention has pruned it. */
export interface LogHead {
  seq: number;
  hash: string;
  /** Records up to this seq were deleted by retention (0: none). */
  prunedThrough: number;
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
  /** The token with this hash, revoked or not (revokedAt says). */
  findToken(hash: string): Promise<TokenRecord | null>;
  listTokens(): Promise<TokenRecord[]>;
  /** Revokes the token with this id; false if there is none or it was revoked already. */
  revokeToken(id: string, at: number, actor: Actor): Promise<boolean>;
  /** Newest first; `states` as stored (pending, active, denied, revoked), none for all. */
  listExceptions(states: readonly ExceptionState[], limit: number): Promise<ExceptionRecord[]>;
  /** Every open finding, then up to `limit` closed ones, most recently closed first. */
  listFindings(limit: number): Promise<OverCapacity[]>;
  /** Counts for /metrics: open findings, closed ones, and the sum of their times to remediate. */
  findingTotals(): Promise<{ open: number; closed: number; remediationMs: number }>;
  usageHistory(source: string, limit: number): Promise<UsageReport[]>;
  /** Newest first; `key`: only those made under that reservation key. */
  listReservations(now: number, states: readonly ReservationState[], limit: number, key?: string): Promise<Reservation[]>;
  /** A product's history rows with `from` ≤ day ≤ `to`, plus each series' last row before `from` (what it carries in). */
  history(product: string, from: string, to: string): Promise<HistoryDay[]>;
  /** Each product's highest daily peak in scope `scope` from `from` on (products without a row absent). */
  historyPeaks(scope: string, from: string): Promise<{ product: string; peak: number }[]>;
  /** Writes rows as they are (replacing any with the same key), in bulk: seeding and imports. */
  importHistory(rows: readonly HistoryDay[]): Promise<void>;
  /** Marks held reservations past their expiry as expired (their lines already do not count). */
  expire(now: number): Promise<number>;
  schemaVersion(): Promise<number>;
  /** Log records with seq ≥ fromSeq, in seq order, at most `limit` (callers page with the last seq + 1). */
  logRecords(fromSeq: number, limit: number): Promise<LogRecord[]>;
  /** The same, with each record's details as the text it was hashed over (verify and export: no parsing). */
  logRows(fromSeq: number, limit: number): Promise<StoredLogRecord[]>;
  /** Up to `limit` records from `fromSeq` on as their export lines, joined by the database (export: no row objects). */
  logLines(fromSeq: number, limit: number): Promise<LogLines>;
  /** The seq of the first record at or after `at` (epoch ms); head seq + 1 when none. */
  logSeqAt(at: number): Promise<number>;
  logHead(): Promise<LogHead>;
  /** Every checkpoint, in seq order (one per N records: few). */
  checkpoints(): Promise<Checkpoint[]>;
  /** Keeps a checkpoint; false when one at that seq exists already (another replica made it). */
  addCheckpoint(c: Checkpoint): Promise<boolean>;
  /**
   * Retention: deletes the records up to `through` (a checkpoint at `through` must
   * already be kept) and appends `entry` (the prune, in the chain) in one transaction.
   * Returns how many records went.
   */
  pruneLog(through: number, entry: LogEntry): Promise<number>;
  /**
   * Denied decisions with seq below `beforeSeq` (every one when null), newest
   * first, at most `limit`, through an index of denials only; with `product`,
   * only those whose subject (a denial's products, comma-separated) names it.
   */
  logDenials(beforeSeq: number | null, limit: number, product?: string): Promise<StoredLogRecord[]>;
  /**
   * The decision log's search, newest first: records with fromSeq ≤ seq < beforeSeq
   * matching every filter given (exactly), at most `limit`, read down one index
   * (eg_log_refs for a product or resource, the actor's or action's index, or seq).
   */
  searchLog(q: LogSearch): Promise<StoredLogRecord[]>;
  /** Every product's rows of one scope with `from` ≤ day ≤ `to`, plus each series' last row before `from` (in no order): one read for a table of all products. */
  historyWindow(scope: string, from: string, to: string): Promise<HistoryDay[]>;
  /** The seq of the newest log record of a step that writes history (usage.report, reservation.confirm, reservation.release); 0 when none. */
  lastHistoryStep(): Promise<number>;
  /** A cheap round trip: is the store answering? */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The state a reader sees: a held reservation past its expiry is expired, whether or not the sweep has run. */
export function effectiveState(state: ReservationState, expiresAt: number | null, now: number): ReservationState {
  return state === 'held' && expiresAt !== null && expiresAt <= now ? 'expired' : state;
}
