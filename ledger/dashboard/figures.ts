// The dashboard's figures from the ledger: forecasts per product and scope from
// the daily history. Reads only; HTTP is routes.ts's.
import { EntitlegateError } from '../../engine/errors.ts';
import { scopeMatcher } from '../../engine/scope.ts';
import { DAY_MS, endOf, startOf } from '../../engine/time.ts';
import { FORECAST_DEFAULTS, type Forecast, forecast } from '../forecast.ts';
import type { Entitlement } from '../../engine/config/schema.ts';
import { capacityOn, dayNames, dayOf, historySeries, TOTAL, validAt } from '../history.ts';
import type { Ledger } from '../ledger.ts';
import type { HistoryDay } from '../store/types.ts';

export interface ForecastQuery {
  windowDays: number;
  horizonDays: number;
  buffer: number;
}

function bad(message: string): EntitlegateError {
  return new EntitlegateError('EG_ERR_INPUT_INVALID', message);
}

function intParam(name: string, value: string | undefined, dflt: number, min: number, max: number): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw bad(`${name} must be a whole number of days from ${min} to ${max}, not "${value}"`);
  return n;
}

/** `?window=90&horizon=365&buffer=0.1` */
export function parseForecastQuery(q: Record<string, string | undefined>): ForecastQuery {
  const buffer = q.buffer === undefined ? FORECAST_DEFAULTS.buffer : Number(q.buffer);
  if (!Number.isFinite(buffer) || buffer < 0 || buffer > 10 || q.buffer === '')
    throw bad(`buffer must be a fraction such as 0.1 (10%), from 0 to 10, not "${q.buffer}"`);
  return {
    windowDays: intParam('window', q.window, FORECAST_DEFAULTS.windowDays, 7, 730),
    horizonDays: intParam('horizon', q.horizon, FORECAST_DEFAULTS.horizonDays, 1, 1095),
    buffer,
  };
}

export interface ScopeForecast {
  scope: Record<string, string> | null;
  capacity: number;
  /** The renewal the suggestion is for: the earliest end of a current entitlement covering the scope. */
  renewal: string | null;
  forecast: Forecast | (Omit<Extract<Forecast, { status: 'ok' }>, 'band'> & { exhaustion: string | null; exhaustionUpper: string | null });
  band?: { day: string; mean: number; lower: number; upper: number }[];
}

/** Current entitlements of the product covering the scope (all of them for the total): their capacity and earliest end. */
function coverage(entitlements: readonly Entitlement[], product: string, scope: Record<string, string> | null, now: number) {
  let capacity = 0;
  let renewal: number | null = null;
  for (const e of entitlements) {
    if (e.product !== product || !validAt(e, now)) continue;
    if (scope !== null && !scopeMatcher(e.scope).covers(scope)) continue;
    capacity += e.quantity;
    if (e.validUntil) renewal = Math.min(renewal ?? Infinity, startOf(e.validUntil));
  }
  return { capacity, renewal };
}

/** What a table of every product reads once for all: the window's rows and each product's entitlements. */
interface Preloaded {
  rows: readonly HistoryDay[];
  own: readonly Entitlement[];
}

let lastIndex: { from: string; index: Map<string, number> } | null = null;

/** Day name → its index in the window from `from` (kept: a table of every product asks for one window each time). */
function windowIndex(from: string, days: number): Map<string, number> {
  if (lastIndex?.from !== from || lastIndex.index.size !== days)
    lastIndex = { from, index: new Map(dayNames(Date.parse(`${from}T00:00:00Z`), days).map((d, i) => [d, i])) };
  return lastIndex.index;
}

/** Forecasts of the product's total and each scope, with the band (dated) when `band`. */
export async function productForecast(
  ledger: Ledger,
  product: string,
  q: ForecastQuery,
  band: boolean,
  totalOnly = false,
  pre?: Preloaded,
): Promise<ScopeForecast[]> {
  const now = ledger.clock().getTime();
  const to = dayOf(now);
  const from = dayOf(now - (q.windowDays - 1) * DAY_MS);
  const all = pre?.rows ?? (await ledger.store.history(product, from, to));
  const rows = totalOnly ? all.filter((r) => r.scope === TOTAL) : all;
  // The product's own entitlements: a 1,000-product table must not walk every product's for each.
  const own = pre?.own ?? ledger.config.config.entitlements.filter((e) => e.product === product);
  const hq = { product, from, to, stepDays: 1 };
  const index = windowIndex(from, q.windowDays);
  const dayIndex = (day: string) => index.get(day)!;
  const series = historySeries(rows, hq).filter((s) => !totalOnly || s.scope === null);
  return series.map((s) => {
    const peaks: (number | null)[] = Array.from({ length: q.windowDays }, () => null);
    for (const p of s.points) peaks[dayIndex(p.day)] = p.peak;
    const { capacity, renewal } =
      s.scope === null
        ? { capacity: capacityOn(own, product, to), renewal: coverage(own, product, null, now).renewal }
        : coverage(own, product, s.scope, now);
    const renewalInDays = renewal === null ? null : Math.max(0, Math.round((renewal - Date.parse(`${to}T00:00:00Z`)) / DAY_MS));
    const f = forecast(peaks, { windowDays: q.windowDays, horizonDays: q.horizonDays, buffer: q.buffer, capacity, renewalInDays, band });
    const date = (d: number | null) => (d === null ? null : dayOf(Date.parse(`${to}T00:00:00Z`) + d * DAY_MS));
    const out: ScopeForecast = {
      scope: s.scope,
      capacity,
      renewal: renewal === null ? null : dayOf(renewal),
      forecast:
        f.status === 'ok'
          ? {
              status: 'ok',
              points: f.points,
              slope: f.slope,
              level: f.level,
              sigma: f.sigma,
              exhaustionInDays: f.exhaustionInDays,
              exhaustionUpperInDays: f.exhaustionUpperInDays,
              suggested: f.suggested,
              exhaustion: date(f.exhaustionInDays),
              exhaustionUpper: date(f.exhaustionUpperInDays),
            }
          : f,
    };
    if (band && f.status === 'ok') out.band = f.band.map((p) => ({ day: date(p.day)!, mean: p.mean, lower: p.lower, upper: p.upper }));
    return out;
  });
}

export type ProductTotalForecast = { product: string } & ScopeForecast;

/** The first instant after `now` at which an entitlement starts or stops giving capacity (its term may end mid-day). */
function nextChange(entitlements: readonly Entitlement[], now: number): number {
  let next = Infinity;
  for (const e of entitlements)
    for (const at of [e.validFrom ? startOf(e.validFrom) : -Infinity, e.validUntil ? endOf(e.validUntil) + e.graceDays * DAY_MS : Infinity])
      if (at > now && at < next) next = at;
  return next;
}

interface TotalsKept {
  /** The day, the config and the parameters: another is another table. */
  base: string;
  /** When an entitlement next starts or ends. */
  until: number;
  /** The history's version the table was made at (lastHistoryStep). */
  version: number;
  own: Map<string, Entitlement[]>;
  /** Each product's rows before yesterday: what no step writes any more. */
  past: Map<string, HistoryDay[]>;
  /** Each product's rows of yesterday and today, as text, to tell which changed. */
  recent: Map<string, string>;
  results: Map<string, ProductTotalForecast | null>;
  products: ProductTotalForecast[];
}

const kept = new WeakMap<Ledger, TotalsKept>();
const queue = new WeakMap<Ledger, Promise<unknown>>();

function grouped<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = out.get(k);
    if (list) list.push(it);
    else out.set(k, [it]);
  }
  return out;
}

const rowsText = (rows: readonly HistoryDay[] | undefined) =>
  (rows ?? []).map((r) => `${r.day} ${r.peak} ${r.total} ${r.samples} ${r.last}`).join('|');

/**
 * Every product's total forecast, for the procurement table. The first ask of
 * a day reads the window once for all products; the table is then kept while
 * the history's version stays: the newest log record of a step that writes
 * history (a usage report, a confirmation, a release), each appended in the
 * transaction that writes it, on any replica; decisions, most of the log, do
 * not move it. When it moves, only yesterday's and today's rows are read again
 * (a step writes the ledger's day; yesterday for a replica whose clock is
 * behind), and only the products whose rows changed are fitted again. A new
 * day, another config or other parameters make a new table, and so does an
 * entitlement starting or ending. (A bulk importHistory is not logged: it is
 * for seeding a store, before the ledger serves it.)
 */
export function forecastTotals(ledger: Ledger, q: ForecastQuery): Promise<ProductTotalForecast[]> {
  // One at a time per ledger: each ask updates the kept table in place.
  const run = (queue.get(ledger) ?? Promise.resolve()).catch(() => undefined).then(() => totalsNow(ledger, q));
  queue.set(ledger, run);
  return run;
}

async function totalsNow(ledger: Ledger, q: ForecastQuery): Promise<ProductTotalForecast[]> {
  const now = ledger.clock().getTime();
  const today = dayOf(now);
  const yesterday = dayOf(now - DAY_MS);
  const version = await ledger.store.lastHistoryStep();
  const base = `${today}|${ledger.config.digest}|${q.windowDays}|${q.horizonDays}|${q.buffer}`;
  let k = kept.get(ledger);
  if (k && k.base === base && now < k.until && k.version === version) return k.products;
  const fitted = async (product: string, rows: readonly HistoryDay[]) => {
    const total = (await productForecast(ledger, product, q, false, true, { rows, own: k!.own.get(product) ?? [] }))[0];
    return total ? { product, ...total } : null;
  };
  const products = ledger.config.config.products.map((p) => p.id);
  if (!k || k.base !== base || now >= k.until) {
    const rows = await ledger.store.historyWindow(TOTAL, dayOf(now - (q.windowDays - 1) * DAY_MS), today);
    const recent = grouped(
      rows.filter((r) => r.day >= yesterday),
      (r) => r.product,
    );
    k = {
      base,
      until: nextChange(ledger.config.config.entitlements, now),
      version,
      own: grouped(ledger.config.config.entitlements, (e) => e.product),
      past: grouped(
        rows.filter((r) => r.day < yesterday),
        (r) => r.product,
      ),
      recent: new Map(products.map((p) => [p, rowsText(recent.get(p))])),
      results: new Map(),
      products: [],
    };
    for (const p of products) k.results.set(p, await fitted(p, [...(k.past.get(p) ?? []), ...(recent.get(p) ?? [])]));
  } else {
    // Rows before yesterday come back too (each series' last one): those are kept already.
    const fresh = grouped(
      (await ledger.store.historyWindow(TOTAL, yesterday, today)).filter((r) => r.day >= yesterday),
      (r) => r.product,
    );
    for (const p of products) {
      const text = rowsText(fresh.get(p));
      if (text === k.recent.get(p)) continue;
      k.recent.set(p, text);
      k.results.set(p, await fitted(p, [...(k.past.get(p) ?? []), ...(fresh.get(p) ?? [])]));
    }
  }
  k.version = version;
  k.products = products.flatMap((p) => k!.results.get(p) ?? []);
  kept.set(ledger, k);
  return k.products;
}
