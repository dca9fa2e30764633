// The SQL of the decision log's search (Store.searchLog) and of its side table
// eg_log_refs (migration 80), the same in both stores but for placeholders and
// join syntax. A page is read newest first down one index (a product's or a
// resource's refs, an actor's or an action's records, or the log's own order),
// so its cost follows the page, not the log's length.
import type { LogRefs } from '../audit/refs.ts';
import { exceptionRowId } from './rows.ts';
import { LOG_COLUMNS } from './log-rows.ts';
import type { Dialect } from './migrations.ts';

export interface LogSearch {
  /** Exact product id. */
  product?: string;
  /** Exact resource id (as the record names it: a Kubernetes kind/namespace/name, a Terraform address). */
  resource?: string;
  /** Exact actor (`token:NAME`, `oidc:…`, `cli`, `ttl`, `ledger`, `retention`). */
  actor?: string;
  /** Exact action (`decision`, `reservation.confirm`, `exception.approve`…). */
  action?: string;
  /** Records with fromSeq ≤ seq < beforeSeq. */
  fromSeq: number;
  beforeSeq: number;
  /** Epoch ms: records from the first (in time) at or after it on, in the log's order. */
  fromAt?: number;
  /** Epoch ms: records before the first (in time) at or after it. */
  toAt?: number;
  limit: number;
}

const placeholder = (dialect: Dialect) => (i: number) => (dialect === 'sqlite' ? `?${i}` : `$${i}`);

/** One ref (seq, kind, value); a record naming a value twice keeps one. */
export function insertRefSql(dialect: Dialect): string {
  const p = placeholder(dialect);
  const insert = `INSERT INTO eg_log_refs (seq, kind, value) VALUES (${p(1)}, ${p(2)}, ${p(3)})`;
  return dialect === 'sqlite' ? insert.replace('INSERT', 'INSERT OR IGNORE') : `${insert} ON CONFLICT DO NOTHING`;
}

/**
 * The refs a record about a reservation or an exception takes from that row (its
 * lines' products and resources, the exception's product): those do not change
 * once written, so the refs read at append are the refs for good. Parameters: seq, id.
 */
export function aboutRefsSql(dialect: Dialect, about: 'reservation' | 'exception'): string {
  const p = placeholder(dialect);
  const conflict = dialect === 'sqlite' ? '' : ' ON CONFLICT DO NOTHING';
  const insert =
    dialect === 'sqlite' ? 'INSERT OR IGNORE INTO eg_log_refs (seq, kind, value)' : 'INSERT INTO eg_log_refs (seq, kind, value)';
  if (about === 'exception') return `${insert} SELECT ${p(1)}, 'product', product FROM eg_exceptions WHERE id = ${p(2)}${conflict}`;
  return `${insert} SELECT DISTINCT ${p(1)}, 'product', product FROM eg_reservation_lines WHERE reservation_id = ${p(2)}
    UNION SELECT DISTINCT ${p(1)}, 'resource', resource FROM eg_reservation_lines WHERE reservation_id = ${p(2)} AND resource IS NOT NULL${conflict}`;
}

/** The `about` lookup's id parameter (an exception's row id), or null when the subject names no such row. */
export function aboutId(refs: LogRefs, subject: string): string | number | null {
  if (refs.about === 'exception') return exceptionRowId(subject);
  return refs.about === 'reservation' ? subject : null;
}

/** The search's SQL and parameters: driven by the most selective index among the filters given. */
export function searchSql(dialect: Dialect, q: LogSearch): { sql: string; params: (string | number)[] } {
  const p = placeholder(dialect);
  const params: (string | number)[] = [q.fromSeq, q.beforeSeq];
  const arg = (v: string | number) => p(params.push(v));
  const cols = LOG_COLUMNS.split(', ')
    .map((c) => `l.${c}`)
    .join(', ');
  const where: string[] = [];
  const ref = (kind: string, value: string) =>
    `EXISTS (SELECT 1 FROM eg_log_refs r WHERE r.kind = '${kind}' AND r.value = ${arg(value)} AND r.seq = l.seq)`;
  let from: string;
  let order = 'l.seq';
  const driver =
    q.product !== undefined ? (['product', q.product] as const) : q.resource !== undefined ? (['resource', q.resource] as const) : null;
  // A time becomes the seq of the first record at or after it, read down eg_log_at once (a subquery the
  // database runs before the walk): min(seq) over every record after it would read the index to its end.
  // The bounds go on the walked index's own seq, so they narrow its range.
  const seqAt = (at: number) => `(SELECT t.seq FROM eg_log t WHERE t.at >= ${arg(new Date(at).toISOString())} ORDER BY t.at LIMIT 1)`;
  const seq = driver ? 'd.seq' : 'l.seq';
  if (q.fromAt !== undefined) where.push(`${seq} >= ${seqAt(q.fromAt)}`);
  if (q.toAt !== undefined) where.push(`${seq} < coalesce(${seqAt(q.toAt)}, ${p(2)})`);
  if (driver) {
    // Down the refs' (kind, value, seq) key from beforeSeq; SQLite's CROSS JOIN keeps that order of the join.
    from = `eg_log_refs d ${dialect === 'sqlite' ? 'CROSS JOIN' : 'JOIN'} eg_log l ON l.seq = d.seq`;
    where.push(`d.kind = '${driver[0]}'`, `d.value = ${arg(driver[1])}`, `d.seq >= ${p(1)}`, `d.seq < ${p(2)}`);
    order = 'd.seq';
    if (q.product !== undefined && q.resource !== undefined) where.push(ref('resource', q.resource));
  } else {
    const index =
      dialect !== 'sqlite'
        ? ''
        : q.actor !== undefined
          ? ' INDEXED BY eg_log_actor'
          : q.action !== undefined
            ? ' INDEXED BY eg_log_action'
            : '';
    from = `eg_log l${index}`;
    where.push(`l.seq >= ${p(1)}`, `l.seq < ${p(2)}`);
  }
  if (q.actor !== undefined) where.push(`l.actor = ${arg(q.actor)}`);
  if (q.action !== undefined) where.push(`l.action = ${arg(q.action)}`);
  return { sql: `SELECT ${cols} FROM ${from} WHERE ${where.join(' AND ')} ORDER BY ${order} DESC LIMIT ${arg(q.limit)}`, params };
}
