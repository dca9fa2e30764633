// The ledger's logic over a store: decide (and reserve) in one serialised step
// per product, confirm, release, usage reports. Surfaces reach it over HTTP
// (server.ts); nothing here knows HTTP.
import * as crypto from 'node:crypto';
import type { LoadedConfig } from '../config/load.ts';
import type { Engine, UsageSource } from '../engine/engine.ts';
import { EntitlegateError } from '../engine/errors.ts';
import { type Decision, type Mode, resourceId, type Scope, type UsageRecord } from '../engine/types.ts';
import { VERSION } from '../engine/version.ts';
import { decisionEntry, reservationEntry } from './audit/entries.ts';
import { sampleHistory } from './history.ts';
import type { DecisionRequest, UsageBody } from './requests.ts';
import { scopeKey } from './store/rows.ts';
import {
  type Actor,
  effectiveState,
  type Reservation,
  type ReservationLine,
  type Store,
  type StoreTx,
  type SourceUsageRecord,
  type UsageReport,
} from './store/types.ts';
import { LedgerExceptions } from './exception-pools.ts';
import type { Decide } from './thread-decider.ts';
import { recordFindings } from './findings.ts';
import { effectiveUsage, type Overlap, overlaps, reportedQuantities, reportedResources, staleWarnings } from './usage.ts';

export interface LedgerDecision extends Decision {
  /** `reused`: the request's reservationKey names a reservation that still holds; this is it (null expiry: confirmed). */
  reservation?: { id: string; expiresAt: string | null; reused?: true };
}

export interface ReservationView {
  id: string;
  state: Reservation['state'];
  createdAt: string;
  expiresAt: string | null;
  actor: string;
  lines: ReservationLine[];
  key?: string;
}

export function viewOf(r: Reservation): ReservationView {
  const view: ReservationView = {
    id: r.id,
    state: r.state,
    createdAt: new Date(r.createdAt).toISOString(),
    expiresAt: r.expiresAt === null ? null : new Date(r.expiresAt).toISOString(),
    actor: r.actor,
    lines: r.lines,
  };
  if (r.key !== undefined) view.key = r.key;
  return view;
}

interface Waiting {
  req: DecisionRequest;
  actor: Actor;
  /** The client's User-Agent, for the decision log. */
  client: string | undefined;
  resolve: (d: LedgerDecision) => void;
  reject: (err: unknown) => void;
}

/**
 * A new reservation's id: a UUID that starts with the time (version 7) where
 * Node has one (24 and later), so each insert lands at the right edge of the
 * id indexes instead of on a random page of them; version 4 before.
 */
const reservationId: () => string = (crypto as { randomUUIDv7?: () => string }).randomUUIDv7 ?? crypto.randomUUID;

// Enough to share one lock and one commit among every gate that waits; small enough to keep one step short.
const MAX_BATCH = 256;

export class Ledger {
  readonly store: Store;
  readonly engine: Engine;
  readonly config: LoadedConfig;
  readonly clock: () => Date;
  readonly products: ReadonlySet<string>;
  private usageVersion = -1;
  /** Requests waiting for their products' next step, by product set. */
  private readonly batches = new Map<string, { waiting: Waiting[]; running: boolean }>();
  private reports: UsageReport[] = [];
  /** reportedQuantities(this.reports), made when a reservation first needs it after a sync. */
  private reported: { of: UsageReport[]; quantities: Map<string, number> } | undefined;
  /** Active ledger exceptions, fed to the engine as exception pools beside the config's. */
  readonly exceptions: LedgerExceptions;
  /** Where decisions are made when not here: the embedded store's thread (decideIn). */
  private decider: Decide | undefined;

  constructor(opts: { store: Store; engine: Engine; config: LoadedConfig; clock: () => Date }) {
    this.store = opts.store;
    this.engine = opts.engine;
    this.config = opts.config;
    this.clock = opts.clock;
    this.products = new Set(opts.config.config.products.map((p) => p.id));
    this.exceptions = new LedgerExceptions(opts.engine, opts.config);
  }

  async start(): Promise<void> {
    await this.store.ensureProducts([...this.products]);
    await this.store.withProducts('all', async (tx) => {
      await this.syncUsage(tx);
      const c = this.config.config;
      await tx.appendLog({
        at: this.clock().getTime(),
        actor: 'ledger',
        action: 'config.load',
        subject: this.config.digest,
        details: { version: VERSION, products: c.products.length, entitlements: c.entitlements.length, store: this.store.kind },
      });
    });
  }

  /**
   * Usage and active ledger exceptions as of the store, re-read only when a
   * report or an exception step changed them. Called while holding the step's
   * product locks: a report or an exception step needs every lock, so what this
   * reads cannot change under the step for its products.
   */
  async syncUsage(tx: StoreTx): Promise<void> {
    const v = await tx.usageVersion();
    if (v === this.usageVersion) return;
    const reports = await tx.currentUsage();
    const exceptions = await tx.activeExceptions(this.clock().getTime());
    if (v <= this.usageVersion) return;
    this.exceptions.apply(exceptions);
    this.engine.setUsage(effectiveUsage(reports, this.products));
    this.reports = reports;
    this.usageVersion = v;
  }

  /**
   * Hands every decision to `decide` from now on (the embedded store's thread,
   * ledger/thread-decider.ts); reports, confirms, releases and exceptions stay
   * here. Both sides are Ledgers over the one store and its serialised steps.
   */
  decideIn(decide: Decide): void {
    this.decider = decide;
  }

  /** Re-reads usage if a report (to this or another replica) changed it. */
  async refresh(): Promise<void> {
    await this.store.withProducts([], (tx) => this.syncUsage(tx));
  }

  async decide(req: DecisionRequest, actor: Actor, client?: string): Promise<LedgerDecision> {
    if (req.configDigest && req.configDigest !== this.config.digest) {
      throw new EntitlegateError(
        'EG_ERR_LEDGER_CONFLICT',
        `the claims were made with config ${req.configDigest}, but the ledger decides with ${this.config.digest}; fetch the ledger's config (GET /v1/config) and make the claims again`,
      );
    }
    if (this.decider) return this.decider({ req, actor, client, at: this.clock().getTime() });
    const products = [...new Set(req.claims.map((c) => c.product))].sort();
    const key = products.join('\u0000');
    return new Promise<LedgerDecision>((resolve, reject) => {
      let queue = this.batches.get(key);
      if (!queue) this.batches.set(key, (queue = { waiting: [], running: false }));
      queue.waiting.push({ req, actor, client, resolve, reject });
      // One runner per product set: it starts after this turn of the event
      // loop, so every request that arrived with the first joins its step, and
      // the requests that arrive during a step wait for the next one.
      if (!queue.running) {
        queue.running = true;
        setImmediate(() => void this.runBatches(key, products));
      }
    });
  }

  /**
   * Decides the waiting requests for one set of products in one serialised
   * step: one lock, one read of what counts, then each request in arrival
   * order against what the ones before it reserved, then one commit. The lock
   * is held once for the lot instead of once (with its round trips and fsync)
   * per request; nothing is answered before the commit.
   */
  private async runBatches(key: string, products: string[]): Promise<void> {
    for (;;) {
      const queue = this.batches.get(key)!;
      if (queue.waiting.length === 0) {
        this.batches.delete(key);
        return;
      }
      const batch = queue.waiting.splice(0, MAX_BATCH);
      // Taken before the locks, so the store can read what counts with them: a
      // reservation expiring while the step waits still counts (the safe side).
      const now = this.clock();
      let outcomes: ({ ok: true; value: LedgerDecision } | { ok: false; err: unknown })[];
      try {
        outcomes = await this.store.withProducts(
          products,
          async (tx) => {
            await this.syncUsage(tx);
            const held = new Map<string, UsageRecord>();
            const hold = (l: { product: string; quantity: number; scope: Scope }) => {
              const k = `${l.product}\u0000${scopeKey(l.scope)}`;
              const h = held.get(k);
              if (h) h.quantity += l.quantity;
              else held.set(k, { product: l.product, quantity: l.quantity, scope: l.scope });
            };
            for (const l of await tx.countingLines(products, now.getTime())) hold(l);
            const out: typeof outcomes = [];
            // Reservations this step made under a key: PostgreSQL writes them only at commit.
            const keyed = new Map<string, Reservation>();
            for (const w of batch) {
              let one: { decision: LedgerDecision; reservation?: Reservation };
              const key = w.req.reserve ? w.req.reservationKey : undefined;
              try {
                const existing = key ? (keyed.get(key) ?? (await tx.reservationByKey(key, now.getTime()))) : null;
                one = this.decideOne(w.req, w.actor, now, [...held.values()], existing);
              } catch (err) {
                out.push({ ok: false, err });
                continue;
              }
              if (one.reservation) {
                // A write that fails fails the step: nothing of the batch is kept.
                await tx.insertReservation(one.reservation);
                for (const l of one.reservation.lines) hold(l);
                if (key) keyed.set(key, one.reservation);
              }
              const entry = decisionEntry(w.req, one.decision, one.reservation, w.actor, now.getTime(), w.client);
              if (key) entry.details = { ...entry.details, reservationKey: key };
              const reused = one.decision.reservation?.reused ? one.decision.reservation.id : undefined;
              if (reused) {
                entry.subject = reused;
                entry.details = { ...entry.details, reusedReservation: reused };
              }
              await tx.appendLog(entry);
              out.push({ ok: true, value: one.decision });
            }
            return out;
          },
          { now: now.getTime() },
        );
      } catch (err) {
        for (const w of batch) w.reject(err);
        continue;
      }
      batch.forEach((w, i) => {
        const o = outcomes[i]!;
        if (o.ok) w.resolve(o.value);
        else w.reject(o.err);
      });
    }
  }

  /**
   * The mode a request is decided in. A look changes nothing, so it takes the
   * mode it asks for; a reservation is decided in the stricter of that and the
   * ledger's config, since capacity is shared: a gate that could ask for `warn`
   * could hold what every other gate is then refused.
   */
  private modeFor(req: DecisionRequest): Mode {
    const configured = this.config.config.defaults.mode;
    if (!req.mode) return configured;
    return req.reserve && configured === 'enforce' ? 'enforce' : req.mode;
  }

  /**
   * One request's decision against what is held, and the reservation to write
   * when it reserves. `existing`: the newest reservation under the request's
   * key; while it holds, the request gets it back instead of a second one
   * (decided without it, as it is the request's own), and a key reused for
   * other claims is refused.
   */
  private decideOne(
    req: DecisionRequest,
    actor: Actor,
    now: Date,
    reservations: UsageRecord[],
    existing: Reservation | null = null,
  ): { decision: LedgerDecision; reservation?: Reservation } {
    const lines = req.reserve ? this.linesOf(req) : [];
    if (
      existing &&
      req.reservationKey &&
      ['held', 'confirmed'].includes(effectiveState(existing.state, existing.expiresAt, now.getTime()))
    ) {
      if (linesKey(existing.lines) !== linesKey(lines))
        throw new EntitlegateError(
          'EG_ERR_LEDGER_CONFLICT',
          `reservation key "${req.reservationKey}" belongs to reservation ${existing.id}, which holds other claims; release it (entitlegate ledger release ${existing.id}) or use another key`,
        );
      const own = new Map<string, number>();
      for (const l of existing.lines)
        own.set(`${l.product}\u0000${scopeKey(l.scope)}`, (own.get(`${l.product}\u0000${scopeKey(l.scope)}`) ?? 0) + l.quantity);
      const without = reservations.map((r) => ({ ...r, quantity: r.quantity - (own.get(`${r.product}\u0000${scopeKey(r.scope)}`) ?? 0) }));
      const decision: LedgerDecision = this.engine.decide(req.claims, { now, mode: this.modeFor(req), reservations: without });
      decision.warnings.push(...staleWarnings(this.reports, now.getTime()));
      decision.reservation = {
        id: existing.id,
        expiresAt: existing.expiresAt === null ? null : new Date(existing.expiresAt).toISOString(),
        reused: true,
      };
      return { decision };
    }
    const decision: LedgerDecision = this.engine.decide(req.claims, { now, mode: this.modeFor(req), reservations });
    decision.warnings.push(...staleWarnings(this.reports, now.getTime()));
    if (req.reserve && decision.allowed) {
      // The TTL runs from the decision, not from before the locks were had.
      const decidedAt = Math.max(this.clock().getTime(), now.getTime());
      const r: Reservation = {
        id: reservationId(),
        state: 'held',
        createdAt: decidedAt,
        expiresAt: decidedAt + req.ttlMs,
        actor,
        lines,
      };
      if (req.reservationKey) r.key = req.reservationKey;
      decision.reservation = { id: r.id, expiresAt: new Date(r.expiresAt!).toISOString() };
      return { decision, reservation: r };
    }
    return { decision };
  }

  /**
   * The lines a reservation of the request holds. Only what the change adds is
   * held: what it frees counts once a source reports it gone (never sooner).
   * A line's target is what the reports say its resource is at now plus what
   * it adds, so that a report still showing the old quantity does not settle it.
   */
  private linesOf(req: DecisionRequest): ReservationLine[] {
    if (this.reported?.of !== this.reports) this.reported = { of: this.reports, quantities: reportedQuantities(this.reports) };
    const reported = this.reported.quantities;
    return req.claims
      .filter((c) => c.quantity !== null && c.quantity > 0)
      .map((c) => {
        const resource = c.resource ? resourceId(c.resource) : null;
        const line: ReservationLine = { product: c.product, quantity: c.quantity!, scope: c.scope, resource };
        if (resource !== null) line.target = (reported.get(`${c.product}\u0000${resource}`) ?? 0) + c.quantity!;
        return line;
      });
  }

  /** Runs `fn` on the reservation under its products' locks (the same locks a decision holds). */
  private async withReservation<T>(id: string, fn: (r: Reservation, tx: StoreTx, now: number) => Promise<T>): Promise<T> {
    const first = await this.store.withProducts([], (tx) => tx.getReservation(id, this.clock().getTime()));
    if (!first) throw new EntitlegateError('EG_ERR_LEDGER_NOT_FOUND', `no reservation ${id}`);
    return this.store.withProducts([...new Set(first.lines.map((l) => l.product))], async (tx) => {
      const now = this.clock().getTime();
      const r = await tx.getReservation(id, now);
      if (!r) throw new EntitlegateError('EG_ERR_LEDGER_NOT_FOUND', `no reservation ${id}`);
      return fn(r, tx, now);
    });
  }

  /** Confirms a held reservation: it stops expiring and counts until a source reports its resources, or it is released. */
  async confirm(id: string, actor: Actor): Promise<ReservationView> {
    return this.withReservation(id, async (r, tx, now) => {
      if (r.state === 'held') {
        await tx.setReservationState(id, 'confirmed', now, actor);
        await tx.appendLog(reservationEntry('confirm', id, r.state, actor, now));
        await sampleHistory(tx, this.reports, this.products, now);
        return viewOf({ ...r, state: 'confirmed', expiresAt: null });
      }
      if (r.state === 'confirmed' || r.state === 'settled') return viewOf(r);
      throw new EntitlegateError(
        'EG_ERR_LEDGER_CONFLICT',
        `reservation ${id} is ${r.state}${r.state === 'expired' ? ` (at ${new Date(r.expiresAt!).toISOString()})` : ''}: it no longer holds capacity; decide and reserve again`,
      );
    });
  }

  /** Releases a reservation (the deployment was not made, or was removed); releasing one that ended already changes nothing. */
  async release(id: string, actor: Actor): Promise<ReservationView> {
    return this.withReservation(id, async (r, tx, now) => {
      if (r.state !== 'held' && r.state !== 'confirmed') return viewOf(r);
      await tx.setReservationState(id, 'released', now, actor);
      await tx.appendLog(reservationEntry('release', id, r.state, actor, now));
      if (r.state === 'confirmed') await sampleHistory(tx, this.reports, this.products, now);
      return viewOf({ ...r, state: 'released' });
    });
  }

  async reservation(id: string): Promise<ReservationView> {
    const r = await this.store.withProducts([], (tx) => tx.getReservation(id, this.clock().getTime()));
    if (!r) throw new EntitlegateError('EG_ERR_LEDGER_NOT_FOUND', `no reservation ${id}`);
    return viewOf(r);
  }

  /**
   * Replaces the source's usage (history kept) and settles reservations whose
   * resources it now reports. `mayReplace` sees the source's current records
   * under every product's lock, so nothing can change them between its check
   * and the write; it throws to refuse.
   */
  async putUsage(
    source: string,
    body: UsageBody,
    staleAfterMs: number | null,
    actor: Actor,
    mayReplace?: (current: readonly SourceUsageRecord[]) => void,
  ): Promise<{ source: string; records: number; settled: string[] }> {
    // A report rolled back after it was read into the engine must not stay there: re-read on the next step.
    return this.store
      .withProducts('all', async (tx) => {
        // Every source's report as it stands, under every product's lock: what the check and the settling read.
        await this.syncUsage(tx);
        mayReplace?.(this.reports.find((r) => r.source === source)?.usage ?? []);
        const now = this.clock().getTime();
        const report: UsageReport = { source, observedAt: body.observedAt, reportedAt: now, staleAfterMs, usage: body.usage };
        if (body.origin && body.origin !== source) report.origin = body.origin;
        await tx.putUsage(report, actor);
        // A line settles by what will count for its resource (the largest any source gives it), not by this report alone.
        const counts = reportedQuantities([...this.reports.filter((r) => r.source !== source), report]);
        const settled = await tx.settle(
          reportedResources(body.usage).map((p) => ({ ...p, quantity: counts.get(`${p.product}\u0000${p.resource}`) ?? p.quantity })),
          now,
        );
        await tx.appendLog({
          at: now,
          actor,
          action: 'usage.report',
          subject: source,
          details: {
            observedAt: body.observedAt,
            ...(report.origin ? { origin: report.origin } : {}),
            staleAfterMs,
            usage: body.usage,
            settled,
          },
        });
        await this.syncUsage(tx);
        await recordFindings(this, tx, now);
        await sampleHistory(tx, this.reports, this.products, now);
        return { source, records: body.usage.length, settled };
      })
      .catch((err: unknown) => {
        this.usageVersion = -1;
        throw err;
      });
  }

  /** Every source's usage as the engine counts it (a resource two sources report, once). */
  get effectiveUsage(): UsageSource[] {
    return effectiveUsage(this.reports, this.products);
  }

  /** Resources reported by more than one source, after a refresh(). */
  get overlaps(): Overlap[] {
    return overlaps(this.reports);
  }

  get sources(): { source: string; observedAt: string; reportedAt: string; staleAfterMs: number | null; records: number }[] {
    return this.reports.map((r) => ({
      source: r.source,
      observedAt: r.observedAt,
      reportedAt: new Date(r.reportedAt).toISOString(),
      staleAfterMs: r.staleAfterMs,
      records: r.usage.length,
    }));
  }
}

/** The claims of a reservation's lines, whatever their order and targets: a key reused for these is the same request. */
function linesKey(lines: readonly ReservationLine[]): string {
  return lines
    .map((l) => JSON.stringify([l.product, l.quantity, scopeKey(l.scope), l.resource]))
    .sort()
    .join('\n');
}
