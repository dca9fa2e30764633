// Admitted changes that live usage does not show yet. Between an admission
// and the informer seeing the object there is a window in which usage still
// says "free"; without reservations every admission in that window would be
// judged against the same free capacity and together they could exceed it.
//
// Why concurrent admissions are safe: Node runs one JavaScript thread, and the
// admission handler calls `engine.decide(claims, { reservations: active() })`
// and then `hold()` with no `await` (no I/O, no promise) in between. So no
// other admission can run between one admission's decision and the recording
// of its reservation: decisions for a product are serialised, and each sees
// every reservation made before it. Keep it that way — an `await` between
// decide and hold would reopen the race (see the 200-concurrent-CREATEs test).
import { usageKey } from '../engine/scope.ts';
import type { Claim, UsageRecord } from '../engine/types.ts';

interface Held {
  records: Map<string, UsageRecord>;
  expiresAt: number;
  /** Sequence number of the latest hold, see mark(). */
  seq: number;
}

function recordKey(r: UsageRecord): string {
  return usageKey(r.product, r.scope);
}

export interface ReservationsOptions {
  /** How long a reservation lives if the informer never reports its object. */
  ttlMs: number;
  /**
   * Milliseconds on a monotonic clock (default performance.now). Not the
   * decision clock: under `--now` that one stands still, and a wall clock
   * stepped back (NTP) would keep reservations alive, stepped forward would
   * drop them early; expiry must run in real elapsed time.
   */
  elapsed?: () => number;
}

/**
 * Reservations by resource key (`Kind/namespace/name`, as the inventory's
 * change events name objects). Several admissions of one object add up (a
 * CREATE then an UPDATE before the informer saw either) and extend its
 * expiry: holding a little longer is safe, releasing early is not. Memory is
 * bounded by the objects admitted within one TTL; `active()` returns one
 * record per product and scope, so a decision's cost does not grow with the
 * number of reservations.
 */
export class Reservations {
  #held = new Map<string, Held>();
  #totals: UsageRecord[] | undefined = [];
  #ttlMs: number;
  #seq = 0;
  readonly #elapsed: () => number;

  constructor(opts: ReservationsOptions) {
    this.#ttlMs = opts.ttlMs;
    this.#elapsed = opts.elapsed ?? (() => performance.now());
  }

  set ttlMs(ms: number) {
    this.#ttlMs = ms;
  }

  /** Holds the positive quantities of an allowed admission's claims; frees (negative) wait for the informer. */
  hold(key: string, claims: readonly Claim[]): void {
    const positive = claims.filter((c) => c.quantity !== null && c.quantity > 0);
    if (!positive.length) return;
    const now = this.#elapsed();
    let held = this.#held.get(key);
    if (held)
      this.#held.delete(key); // re-inserted last: the map stays in expiry order
    else held = { records: new Map(), expiresAt: 0, seq: 0 };
    held.expiresAt = now + this.#ttlMs;
    held.seq = ++this.#seq;
    for (const c of positive) {
      const r: UsageRecord = { product: c.product, quantity: c.quantity!, scope: c.scope };
      const k = recordKey(r);
      const prev = held.records.get(k);
      held.records.set(k, prev ? { ...prev, quantity: prev.quantity + r.quantity } : r);
    }
    this.#held.set(key, held);
    this.#totals = undefined;
  }

  /** The sequence number of the latest hold; pass it to release() for an event seen now. */
  mark(): number {
    return this.#seq;
  }

  /**
   * The informer has seen the object, so live usage counts it. With `upTo`
   * (mark() when the event arrived) a reservation held after the event — an
   * UPDATE admitted after the informer saw the CREATE — stays.
   */
  release(key: string, upTo = Infinity): boolean {
    const held = this.#held.get(key);
    if (!held || held.seq > upTo) return false;
    this.#held.delete(key);
    this.#totals = undefined;
    return true;
  }

  /** Reservations alive now, summed per product and scope. */
  active(): readonly UsageRecord[] {
    this.#expire(this.#elapsed());
    if (this.#totals) return this.#totals;
    const sums = new Map<string, UsageRecord>();
    for (const held of this.#held.values()) {
      for (const [k, r] of held.records) {
        const prev = sums.get(k);
        sums.set(k, prev ? { ...prev, quantity: prev.quantity + r.quantity } : { ...r });
      }
    }
    this.#totals = [...sums.values()];
    return this.#totals;
  }

  /** Objects with a live reservation. */
  get size(): number {
    this.#expire(this.#elapsed());
    return this.#held.size;
  }

  #expire(now: number): void {
    // Insertion order is expiry order while the TTL stays the same; after a
    // TTL change an entry may outlive its time by at most the old TTL.
    for (const [key, held] of this.#held) {
      if (held.expiresAt > now) break;
      this.#held.delete(key);
      this.#totals = undefined;
    }
  }

  clear(): void {
    this.#held.clear();
    this.#totals = [];
  }
}
