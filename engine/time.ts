// Contract dates: a date-only value means the whole UTC day, so validUntil
// 2026-12-31 is valid through 23:59:59.999Z that day.
export const DAY_MS = 86_400_000;

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * A date (the whole UTC day) or an ISO-8601 instant with its offset (Z or
 * ±hh:mm): the one spelling of a moment in configs, usage snapshots and --now.
 * A time without an offset, which Date.parse would read in the machine's time
 * zone, is not one.
 */
export const DATE_OR_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** Whether the value's calendar day exists: Date.parse accepts 2026-02-30 (as March 2). */
export function isCalendarDate(value: string): boolean {
  const [y, m, d] = value.slice(0, 10).split('-').map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  return !Number.isNaN(Date.parse(value)) && day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

/** The first instant a date or instant stands for. */
export function startOf(value: string): number {
  return Date.parse(DATE_ONLY.test(value) ? `${value}T00:00:00Z` : value);
}

/** The first instant after a date (a whole day) or the instant itself. */
export function endOf(value: string): number {
  const start = startOf(value);
  return DATE_ONLY.test(value) ? start + DAY_MS : start;
}

/** Whole days from `now` until `at`, rounded down (0 on the last day). */
export function daysUntil(at: number, now: number): number {
  return Math.floor((at - now) / DAY_MS);
}

/**
 * `--now`: an ISO-8601 instant with its offset (Z or ±hh:mm), or a date (that
 * day's start, UTC). Anything else, including a time without an offset (which
 * Date.parse would read in the machine's time zone) and a day that does not
 * exist (which Date.parse would roll into the next month), is refused, as in
 * a config.
 */
export function parseNow(value: string): Date | null {
  if (!DATE_OR_INSTANT.test(value) || !isCalendarDate(value)) return null;
  const ms = startOf(value);
  return Number.isNaN(ms) ? null : new Date(ms);
}

/** ISO-8601 without milliseconds when they are zero: 2026-11-28T10:00:00Z. */
export function isoInstant(d: Date): string {
  return d.toISOString().replace('.000Z', 'Z');
}
