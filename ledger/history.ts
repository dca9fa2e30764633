// Daily usage per product and scope: sampled whenever what counts changes (a
// usage report, a confirmation), kept one row per series and day in the store,
// and read back as a series with days carried forward (usage that did not
// change on a day is still in use that day).
import type { Entitlement } from '../engine/config/schema.ts';
import { EntitlegateError } from '../engine/errors.ts';
import { entitlementUsableAt } from '../engine/pools.ts';
import { DAY_MS } from '../engine/time.ts';
import { scopeKey } from './store/rows.ts';
import type { HistoryDay, HistorySample, ReservationLine, StoreTx, UsageReport } from './store/types.ts';
import { effectiveUsage } from './usage.ts';

/** The series key of a product's total over every scope. */
export const TOTAL = '*';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function dayMs(day: string): number {
  return Date.parse(`${day}T00:00:00Z`);
}

/** What counts now per product and scope (a resource two sources report counted once), plus each product's total. */
export function usageSamples(
  reports: readonly UsageReport[],
  confirmed: readonly ReservationLine[],
  products: ReadonlySet<string>,
): HistorySample[] {
  const sums = new Map<string, HistorySample>();
  const add = (product: string, scope: string, quantity: number) => {
    const k = `${product}\u0000${scope}`;
    const s = sums.get(k);
    if (s) s.quantity += quantity;
    else sums.set(k, { product, scope, quantity });
  };
  const records = [...effectiveUsage(reports, products).flatMap((s) => s.usage), ...confirmed.filter((l) => products.has(l.product))];
  for (const r of records) {
    add(r.product, scopeKey(r.scope), r.quantity);
    add(r.product, TOTAL, r.quantity);
  }
  return [...sums.values()];
}

/**
 * Records, inside the step that changed usage, a sample of every series whose
 * value changed: a report from one cluster changes its own series and the
 * totals, not the thousand others (writing those too doubled the time a report
 * holds every product's lock). A series sampled before and absent now fell to
 * zero: recorded as such, or its last value would be carried forward for ever.
 * A day's average is so the mean of the value carried into it and each change.
 */
export async function sampleHistory(
  tx: StoreTx,
  reports: readonly UsageReport[],
  products: ReadonlySet<string>,
  now: number,
): Promise<void> {
  const current = usageSamples(reports, await tx.confirmedLines(), products);
  const before = new Map((await tx.historyLast()).map((p) => [`${p.product}\u0000${p.scope}`, p]));
  const changed = current.filter((s) => before.get(`${s.product}\u0000${s.scope}`)?.quantity !== s.quantity);
  const seen = new Set(current.map((s) => `${s.product}\u0000${s.scope}`));
  for (const [k, p] of before) if (p.quantity !== 0 && !seen.has(k)) changed.push({ ...p, quantity: 0 });
  if (changed.length) await tx.recordHistory(dayOf(now), changed);
}

export interface HistoryQuery {
  product: string;
  from: string;
  to: string;
  stepDays: number;
}

// 25 months and a little: the longest range the history keeps and serves in one answer.
export const MAX_RANGE_DAYS = 800;

function bad(message: string): EntitlegateError {
  return new EntitlegateError('EG_ERR_INPUT_INVALID', message);
}

function calendarDay(name: string, value: string): string {
  if (!DAY.test(value) || dayOf(dayMs(value)) !== value) throw bad(`${name} must be a date such as 2026-01-31, not "${value}"`);
  return value;
}

/** `?product=&from=&to=&step=`: `to` defaults to today, `from` to 90 days before `to`, `step` to 1d (also 7d, 30d: any Nd). */
export function parseHistoryQuery(q: Record<string, string | undefined>, products: ReadonlySet<string>, now: number): HistoryQuery {
  const product = q.product;
  if (!product) throw bad('product is required: GET /v1/history?product=ID');
  if (!products.has(product)) throw bad(`no product "${product}" in the ledger's config`);
  const to = q.to === undefined ? dayOf(now) : calendarDay('to', q.to);
  const from = q.from === undefined ? dayOf(dayMs(to) - 89 * DAY_MS) : calendarDay('from', q.from);
  if (from > to) throw bad(`from (${from}) is after to (${to})`);
  if ((dayMs(to) - dayMs(from)) / DAY_MS >= MAX_RANGE_DAYS)
    throw bad(`from ${from} to ${to} is longer than ${MAX_RANGE_DAYS} days; ask in parts`);
  const step = /^([1-9]\d{0,2})d$/.exec(q.step ?? '1d');
  if (!step) throw bad(`step must be a number of days such as 1d, 7d or 30d, not "${q.step}"`);
  return { product, from, to, stepDays: Number(step[1]) };
}

export interface HistoryPoint {
  /** The first day of the step. */
  day: string;
  /** Highest daily peak in the step. */
  peak: number;
  /** Mean of the daily averages in the step. */
  average: number;
}

export interface HistorySeries {
  /** null for the product's total over every scope. */
  scope: Record<string, string> | null;
  points: HistoryPoint[];
}

let lastNames: { start: number; names: readonly string[] } | null = null;

/** The names of `days` days from `start` (epoch ms of a midnight), kept for the next call: a table of every product asks for one window a thousand times. */
export function dayNames(start: number, days: number): readonly string[] {
  if (lastNames?.start !== start || lastNames.names.length !== days)
    lastNames = { start, names: Array.from({ length: days }, (_, d) => dayOf(start + d * DAY_MS)) };
  return lastNames.names;
}

/**
 * Rows (as the store returns them: each series' days in range plus the last row
 * before) made into one point per step. A day without a row carries the last
 * value before it; a day with one starts from that carried value too, since
 * that was the usage at its midnight. Days before a series' first row are absent.
 */
export function historySeries(rows: readonly HistoryDay[], q: HistoryQuery): HistorySeries[] {
  const byScope = new Map<string, HistoryDay[]>();
  for (const r of rows) {
    const list = byScope.get(r.scope);
    if (list) list.push(r);
    else byScope.set(r.scope, [r]);
  }
  const start = dayMs(q.from);
  const days = Math.round((dayMs(q.to) - start) / DAY_MS) + 1;
  // Each day's name once per answer, not once per series and day (toISOString is most of the cost).
  const names = dayNames(start, days);
  const out: HistorySeries[] = [];
  for (const [scope, list] of byScope) {
    list.sort((a, b) => (a.day < b.day ? -1 : 1));
    let i = 0;
    let carried: number | null = null;
    while (i < list.length && list[i]!.day < q.from) carried = list[i++]!.last;
    const points: HistoryPoint[] = [];
    let bucket: { day: string; peak: number; sum: number; n: number } | null = null;
    for (let d = 0; d < days; d++) {
      const day = names[d]!;
      let peak: number;
      let average: number;
      const row = list[i]?.day === day ? list[i++]! : null;
      if (row) {
        peak = carried === null ? row.peak : Math.max(row.peak, carried);
        average = carried === null ? row.total / row.samples : (row.total + carried) / (row.samples + 1);
        carried = row.last;
      } else if (carried !== null) {
        peak = carried;
        average = carried;
      } else continue;
      if (d % q.stepDays === 0 || !bucket) {
        if (bucket) points.push({ day: bucket.day, peak: bucket.peak, average: bucket.sum / bucket.n });
        bucket = { day: names[d - (d % q.stepDays)]!, peak, sum: average, n: 1 };
      } else {
        bucket.peak = Math.max(bucket.peak, peak);
        bucket.sum += average;
        bucket.n++;
      }
    }
    if (bucket) points.push({ day: bucket.day, peak: bucket.peak, average: bucket.sum / bucket.n });
    out.push({ scope: scope === TOTAL ? null : (JSON.parse(scope) as Record<string, string>), points });
  }
  // The total first, then scopes in their key order.
  return out.sort((a, b) => (a.scope === null ? -1 : b.scope === null ? 1 : JSON.stringify(a.scope) < JSON.stringify(b.scope) ? -1 : 1));
}

/** Whether the entitlement gives capacity at `at` (its term, grace included): the engine's test, used by every figure here. */
export const validAt: (e: Entitlement, at: number) => boolean = entitlementUsableAt;

/** Capacity of the product's entitlements valid on the day (grace included), whatever their scope. */
export function capacityOn(entitlements: readonly Entitlement[], product: string, day: string): number {
  const at = dayMs(day);
  let sum = 0;
  for (const e of entitlements) if (e.product === product && validAt(e, at)) sum += e.quantity;
  return sum;
}
