// The decision log's search for the audit view (GET /v1/audit/search): records
// newest first, filtered exactly by product, resource, actor and action and by
// time, a page at a time (`before` the last seq shown). Read through the
// store's index of what each record names (eg_log_refs, migration 80) or the
// actor's or action's index: never the whole log.
import { EntitlegateError } from '../../engine/errors.ts';
import { DATE_OR_INSTANT, isCalendarDate, startOf } from '../../engine/time.ts';
import { type Identity, isLimited } from '../identity.ts';
import type { LogSearch } from '../store/log-search.ts';
import { parsed } from '../store/log-rows.ts';
import type { Store } from '../store/types.ts';
import type { LogRecord } from './chain.ts';
import { RecordFilter } from './filtered.ts';

export const SEARCH_LIMIT = { default: 50, max: 500 };
/** Records a limited auditor's page reads at most before answering with what it found (and where to go on). */
export const SEARCH_SCAN = 5000;

export interface SearchQuery {
  product?: string;
  resource?: string;
  actor?: string;
  action?: string;
  /** Epoch ms: records at or after it. */
  from?: number;
  /** Epoch ms: records before it. */
  to?: number;
  /** Records with seq below it (the previous page's `next`). */
  before?: number;
  limit: number;
}

export interface SearchPage {
  records: LogRecord[];
  /** `before` for the next (older) page; null when there is none. */
  next: number | null;
  /** Present (true) for a limited auditor: records it may not see are left out. */
  filtered?: true;
}

const PARAMS = new Set(['product', 'resource', 'actor', 'action', 'from', 'to', 'before', 'limit']);
const TEXT_MAX = 512;

function bad(message: string): EntitlegateError {
  return new EntitlegateError('EG_ERR_INPUT_INVALID', message);
}

function instant(name: string, value: string): number {
  if (!DATE_OR_INSTANT.test(value) || !isCalendarDate(value))
    throw bad(`${name} must be a date (2026-11-01) or an ISO-8601 instant (2026-11-01T09:30:00Z), not "${value}"`);
  return startOf(value);
}

export function parseSearchQuery(q: Record<string, string | undefined>): SearchQuery {
  const unknown = Object.keys(q).filter((k) => !PARAMS.has(k));
  if (unknown.length > 0) throw bad(`unknown parameter ${unknown.join(', ')}: the search takes ${[...PARAMS].join(', ')}`);
  const out: SearchQuery = { limit: SEARCH_LIMIT.default };
  for (const name of ['product', 'resource', 'actor', 'action'] as const) {
    const v = q[name];
    if (v === undefined || v === '') continue;
    if (v.length > TEXT_MAX) throw bad(`${name} must be at most ${TEXT_MAX} characters`);
    out[name] = v;
  }
  if (q.from) out.from = instant('from', q.from);
  if (q.to) out.to = instant('to', q.to);
  if (out.from !== undefined && out.to !== undefined && out.from >= out.to) throw bad(`from (${q.from}) must be before to (${q.to})`);
  if (q.before !== undefined && q.before !== '') {
    if (!/^[1-9]\d{0,15}$/.test(q.before)) throw bad(`before must be a record's seq (a whole number from 1), not "${q.before}"`);
    out.before = Number(q.before);
  }
  if (q.limit !== undefined && q.limit !== '') {
    const n = Number(q.limit);
    if (!/^\d+$/.test(q.limit) || n < 1 || n > SEARCH_LIMIT.max)
      throw bad(`limit must be a whole number from 1 to ${SEARCH_LIMIT.max}, not "${q.limit}"`);
    out.limit = n;
  }
  return out;
}

/**
 * One page of the search as `who` may read it. Time becomes a seq range (from
 * the first record, in time, at or after `from`, to the first at or after
 * `to`), in the store's query. A limited auditor's page reads on past the
 * records it may not see, up to SEARCH_SCAN of them, then answers with what it
 * found and a `next` to go on from.
 */
export async function searchLog(store: Store, who: Identity, q: SearchQuery, now: number): Promise<SearchPage> {
  let beforeSeq = q.before ?? Number.MAX_SAFE_INTEGER;
  const base: LogSearch = { fromSeq: 1, beforeSeq, limit: q.limit };
  for (const k of ['product', 'resource', 'actor', 'action'] as const) if (q[k] !== undefined) base[k] = q[k];
  if (q.from !== undefined) base.fromAt = q.from;
  if (q.to !== undefined) base.toAt = q.to;
  if (!isLimited(who)) {
    const records = (await store.searchLog(base)).map(parsed);
    return { records, next: records.length === q.limit ? records.at(-1)!.seq : null };
  }
  const filter = new RecordFilter(store, who, now);
  const records: LogRecord[] = [];
  let scanned = 0;
  for (;;) {
    const page = (await store.searchLog({ ...base, beforeSeq, limit: q.limit })).map(parsed);
    for (const r of page) {
      scanned++;
      if (await filter.sees(r)) records.push(r);
      if (records.length === q.limit || scanned >= SEARCH_SCAN) return { records, next: r.seq, filtered: true };
    }
    if (page.length < q.limit) return { records, next: null, filtered: true };
    beforeSeq = page.at(-1)!.seq;
  }
}
