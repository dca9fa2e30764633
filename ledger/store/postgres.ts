// The PostgreSQL store (the `pg` client): any number of ledger replicas share
// it. A decide-and-reserve step locks its products' rows (SELECT … FOR UPDATE,
// in id order so two steps never wait on each other in a circle) and reads
// what counts only after it holds them, so steps on one product are serial
// across every replica, and steps on different products run side by side.
import pg from 'pg';
import { EntitlegateError } from '../../engine/errors.ts';
import { bodyAroundSeq, type LogEntry, type LogRecord, type StoredLogRecord, recordedEntry } from '../audit/chain.ts';
import type { Checkpoint } from '../audit/checkpoint.ts';
import { logRefs } from '../audit/refs.ts';
import { CHECKPOINT_COLUMNS, type CheckpointRow, LOG_COLUMNS, type LogRow, checkpointFrom, parsed, storedFrom } from './log-rows.ts';
import { type LogLines, linesFrom, logLinesSql } from './log-rows.ts';
import { DENIED_DECISION, HISTORY_STEP, LOG_REFS_VERSION, migrations } from './migrations.ts';
import { aboutId, aboutRefsSql, type LogSearch, searchSql } from './log-search.ts';
import {
  EXCEPTION_COLUMNS,
  FINDING_COLUMNS,
  TOKEN_COLUMNS,
  type FindingRow,
  findingFrom,
  type ExceptionRow,
  exceptionFrom,
  exceptionRowId,
  exceptionValues,
  type LineRow,
  type ReportRow,
  type ReservationRow,
  type TokenRow,
  lineFrom,
  linesCount,
  reportFrom,
  RESERVATION_COLUMNS,
  reservationFrom,
  scopeKey,
  settlesSql,
  stateFilter,
  tokenFrom,
  tokenLogDetails,
} from './rows.ts';
import { newerSchema } from './sqlite.ts';
import type {
  Actor,
  ExceptionRecord,
  ExceptionState,
  LogHead,
  OverCapacity,
  HistoryDay,
  HistorySample,
  Reservation,
  ReservationLine,
  ReservationState,
  Store,
  StoreTx,
  TokenRecord,
  UsageReport,
} from './types.ts';

// Any 64-bit key: the migrations of every replica wait on it, one at a time.
const MIGRATION_LOCK = 4_917_266_530_114_221;

type Client = pg.PoolClient;

export interface PostgresOptions {
  /** Connections per replica (default 10). */
  max?: number;
}

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly where: string;

  constructor(url: string, opts: PostgresOptions = {}) {
    this.where = redact(url);
    this.pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10, connectionTimeoutMillis: 5000 });
    // A connection the server drops (restart, failover) must not crash the process,
    // idle in the pool or checked out between two queries of a step: the step's next
    // query fails (503), the pool discards the connection, and later steps reconnect.
    this.pool.on('error', () => undefined);
    this.pool.on('connect', (client) => client.on('error', () => undefined));
  }

  private async connect(): Promise<Client> {
    try {
      return await this.pool.connect();
    } catch (err) {
      throw storeDown(this.where, err);
    }
  }

  private async q<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    try {
      return (await this.pool.query(sql, params)).rows as T[];
    } catch (err) {
      throw storeDown(this.where, err);
    }
  }

  async migrate(): Promise<void> {
    const c = await this.connect();
    try {
      await c.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        await c.query('CREATE TABLE IF NOT EXISTS eg_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
        const current = Number((await c.query('SELECT coalesce(max(version), 0) AS v FROM eg_migrations')).rows[0].v);
        const all = migrations('postgres');
        if (current > all.length) throw newerSchema(this.where, current, all.length);
        for (let v = current + 1; v <= all.length; v++) {
          if (!all[v - 1]) continue;
          await c.query('BEGIN');
          try {
            for (const stmt of all[v - 1] ?? []) await c.query(stmt);
            if (v === LOG_REFS_VERSION) await backfillLogRefs(c);
            await c.query('INSERT INTO eg_migrations (version, applied_at) VALUES ($1, $2)', [v, Date.now()]);
            await c.query('COMMIT');
          } catch (err) {
            await c.query('ROLLBACK');
            throw err;
          }
        }
      } finally {
        await c.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      }
    } catch (err) {
      if (err instanceof EntitlegateError) throw err;
      throw new EntitlegateError('EG_ERR_LEDGER_STORE', `${this.where}: migrating the schema failed: ${(err as Error).message}`);
    } finally {
      c.release();
    }
  }

  async schemaVersion(): Promise<number> {
    return Number((await this.q<{ v: number }>('SELECT coalesce(max(version), 0) AS v FROM eg_migrations'))[0]!.v);
  }

  async ensureProducts(ids: readonly string[]): Promise<void> {
    await this.q('INSERT INTO eg_products (id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING', [ids]);
  }

  async withProducts<T>(products: readonly string[] | 'all', fn: (tx: StoreTx) => Promise<T>, prefetch?: Prefetch): Promise<T> {
    const c = await this.connect();
    let broken = false;
    const tx = txOn(c);
    try {
      // Two round trips for a decide-and-reserve step: BEGIN, the locks and the
      // reads that follow them in one; the step's writes and COMMIT in the other.
      // Each is a simple-query batch, so values go in as escaped literals.
      const ids = products === 'all' ? null : [...products].sort();
      const lock =
        ids === null
          ? 'SELECT id FROM eg_products ORDER BY id FOR UPDATE'
          : `SELECT id FROM eg_products WHERE id IN (${ids.map((id) => c.escapeLiteral(id)).join(', ') || 'NULL'}) ORDER BY id FOR UPDATE`;
      if (prefetch && ids) {
        const array = `ARRAY[${ids.map((id) => c.escapeLiteral(id)).join(', ')}]::text[]`;
        const results = (await c.query(
          `BEGIN; ${lock}; SELECT v FROM eg_state WHERE k = 'usage_version'; ${countingSql(array, String(int(prefetch.now)))}`,
        )) as unknown as pg.QueryResult[];
        tx.prefetched = {
          usageVersion: Number(results[2]!.rows[0].v),
          now: prefetch.now,
          products: ids.join('\u0000'),
          counting: results[3]!.rows.map((r) => lineFrom(r as LineRow)),
        };
      } else await c.query(`BEGIN; ${lock}`);
      const result = await fn(tx);
      await commit(c, tx.deferred.splice(0), tx.log.splice(0));
      return result;
    } catch (err) {
      try {
        await c.query('ROLLBACK');
      } catch {
        broken = true;
      }
      if (err instanceof EntitlegateError) throw err;
      throw storeDown(this.where, err);
    } finally {
      c.release(broken);
    }
  }

  /** One transaction of store-level writes and the log entries that record them. */
  private async logged<T>(fn: (c: Client) => Promise<{ value: T; log: LogEntry[] }>): Promise<T> {
    const c = await this.connect();
    let broken = false;
    try {
      await c.query('BEGIN');
      const { value, log } = await fn(c);
      await commit(c, [], log);
      return value;
    } catch (err) {
      try {
        await c.query('ROLLBACK');
      } catch {
        broken = true;
      }
      if (err instanceof EntitlegateError) throw err;
      throw storeDown(this.where, err);
    } finally {
      c.release(broken);
    }
  }

  async createToken(t: TokenRecord & { hash: string }, actor: Actor): Promise<void> {
    await this.logged(async (c) => {
      await c.query(
        'INSERT INTO eg_tokens (id, name, hash, roles, created_at, actor, products, scope, sources) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
        [
          t.id,
          t.name,
          t.hash,
          JSON.stringify(t.roles),
          t.createdAt,
          actor,
          t.products ? JSON.stringify(t.products) : null,
          t.scope ? scopeKey(t.scope) : null,
          t.sources ? JSON.stringify(t.sources) : null,
        ],
      );
      return {
        value: undefined,
        log: [{ at: t.createdAt, actor, action: 'token.create', subject: t.name, details: tokenLogDetails(t) }],
      };
    });
  }

  async logRecords(fromSeq: number, limit: number): Promise<LogRecord[]> {
    return (await this.logRows(fromSeq, limit)).map(parsed);
  }

  async logRows(fromSeq: number, limit: number): Promise<StoredLogRecord[]> {
    const rows = await this.q<LogRow>(`SELECT ${LOG_COLUMNS} FROM eg_log WHERE seq >= $1 ORDER BY seq LIMIT $2`, [fromSeq, limit]);
    return rows.map(storedFrom);
  }

  async logLines(fromSeq: number, limit: number): Promise<LogLines> {
    const [row] = await this.q<{ last: string | null; n: string; text: string }>(logLinesSql('postgres'), [fromSeq, limit]);
    return linesFrom(row!);
  }

  async logDenials(beforeSeq: number | null, limit: number, product?: string): Promise<StoredLogRecord[]> {
    const rows = await this.q<LogRow>(
      `SELECT ${LOG_COLUMNS} FROM eg_log WHERE ${DENIED_DECISION} AND seq < $1
         AND ($3::text IS NULL OR strpos(',' || subject || ',', ',' || $3::text || ',') > 0) ORDER BY seq DESC LIMIT $2`,
      [beforeSeq ?? Number.MAX_SAFE_INTEGER, limit, product ?? null],
    );
    return rows.map(storedFrom);
  }

  async searchLog(q: LogSearch): Promise<StoredLogRecord[]> {
    const { sql, params } = searchSql('postgres', q);
    return (await this.q<LogRow>(sql, params)).map(storedFrom);
  }

  async lastHistoryStep(): Promise<number> {
    const [r] = await this.q<{ s: string | null }>(`SELECT max(seq) AS s FROM eg_log WHERE ${HISTORY_STEP}`);
    return r?.s != null ? Number(r.s) : 0;
  }

  async historyWindow(scope: string, from: string, to: string): Promise<HistoryDay[]> {
    const found = await this.q<HistoryDay>(
      `(SELECT h.product, h.scope, h.day, h.peak, h.total, h.samples, h.last FROM eg_history_last l
          JOIN eg_history h ON h.product = l.product AND h.scope = l.scope AND h.day BETWEEN $2 AND $3
         WHERE l.scope = $1)
       UNION ALL
       (SELECT h.product, h.scope, h.day, h.peak, h.total, h.samples, h.last FROM eg_history_last l
          CROSS JOIN LATERAL (SELECT * FROM eg_history m WHERE m.product = l.product AND m.scope = l.scope AND m.day < $2
                               ORDER BY m.day DESC LIMIT 1) h
         WHERE l.scope = $1)
       `,
      [scope, from, to],
    );
    return found.map(historyFrom);
  }

  async logSeqAt(at: number): Promise<number> {
    const [r] = await this.q<{ s: string | null }>('SELECT min(seq) AS s FROM eg_log WHERE at >= $1', [new Date(at).toISOString()]);
    return r?.s != null ? Number(r.s) : (await this.logHead()).seq + 1;
  }

  async logHead(): Promise<LogHead> {
    const [h] = await this.q<{ seq: string; hash: string; pruned_through: string }>(
      'SELECT seq, hash, pruned_through FROM eg_log_head WHERE id = 1',
    );
    return { seq: Number(h!.seq), hash: h!.hash, prunedThrough: Number(h!.pruned_through) };
  }

  async checkpoints(): Promise<Checkpoint[]> {
    return (await this.q<CheckpointRow>(`SELECT ${CHECKPOINT_COLUMNS} FROM eg_checkpoints ORDER BY seq`)).map(checkpointFrom);
  }

  async addCheckpoint(c: Checkpoint): Promise<boolean> {
    const rows = await this.q(
      `INSERT INTO eg_checkpoints (${CHECKPOINT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (seq) DO NOTHING RETURNING seq`,
      [c.seq, c.hash, c.at, c.keyId, c.publicKey, c.signature],
    );
    return rows.length > 0;
  }

  async pruneLog(through: number, entry: LogEntry): Promise<number> {
    return this.logged(async (c) => {
      if ((await c.query('SELECT 1 FROM eg_checkpoints WHERE seq = $1', [through])).rowCount === 0)
        throw new EntitlegateError('EG_ERR_LEDGER_STORE', `pruning the decision log through ${through} needs a checkpoint there`);
      await c.query('UPDATE eg_log_head SET pruned_through = $1 WHERE id = 1 AND pruned_through < $1', [through]);
      const deleted = await c.query('DELETE FROM eg_log WHERE seq <= $1', [through]);
      await c.query('DELETE FROM eg_log_refs WHERE seq <= $1', [through]);
      return { value: deleted.rowCount ?? 0, log: [entry] };
    });
  }

  async findToken(hash: string): Promise<TokenRecord | null> {
    const rows = await this.q<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM eg_tokens WHERE hash = $1`, [hash]);
    return rows[0] ? tokenFrom(rows[0]) : null;
  }

  async listTokens(): Promise<TokenRecord[]> {
    return (await this.q<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM eg_tokens ORDER BY created_at, name`)).map(tokenFrom);
  }

  async revokeToken(id: string, at: number, actor: Actor): Promise<boolean> {
    return this.logged(async (c) => {
      const r = await c.query('UPDATE eg_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING id', [id, at]);
      const revoked = r.rowCount === 1;
      return { value: revoked, log: revoked ? [{ at, actor, action: 'token.revoke', subject: id, details: { id } }] : [] };
    });
  }

  async listExceptions(states: readonly ExceptionState[], limit: number): Promise<ExceptionRecord[]> {
    const rows = states.length
      ? await this.q<ExceptionRow>(
          `SELECT ${EXCEPTION_COLUMNS} FROM eg_exceptions WHERE state = ANY($1::text[]) ORDER BY id DESC LIMIT $2`,
          [states, limit],
        )
      : await this.q<ExceptionRow>(`SELECT ${EXCEPTION_COLUMNS} FROM eg_exceptions ORDER BY id DESC LIMIT $1`, [limit]);
    return rows.map(exceptionFrom);
  }

  async usageHistory(source: string, limit: number): Promise<UsageReport[]> {
    const rows = await this.q<ReportRow>(
      `SELECT source, observed_at, reported_at, origin, stale_after_ms, records FROM eg_usage_reports
        WHERE source = $1 ORDER BY id DESC LIMIT $2`,
      [source, limit],
    );
    return rows.map(reportFrom);
  }

  async listReservations(now: number, states: readonly ReservationState[], limit: number, key?: string): Promise<Reservation[]> {
    let n = 0;
    const { where, params } = stateFilter(states, now, () => `$${++n}`, key);
    const rows = await this.q<ReservationRow>(
      `SELECT ${RESERVATION_COLUMNS} FROM eg_reservations ${where} ORDER BY created_at DESC, id LIMIT $${n + 1}`,
      [...params, limit],
    );
    const lines = await this.q<LineRow & { reservation_id: string }>(
      'SELECT reservation_id, product, quantity, scope, resource, target FROM eg_reservation_lines WHERE reservation_id = ANY($1::text[]) ORDER BY n',
      [rows.map((r) => r.id)],
    );
    return rows.map((r) => reservationFrom(r, lines.filter((l) => l.reservation_id === r.id).map(lineFrom), now));
  }

  async listFindings(limit: number): Promise<OverCapacity[]> {
    const open = await this.q<FindingRow>(`SELECT ${FINDING_COLUMNS} FROM eg_findings WHERE closed_at IS NULL ORDER BY product, scope`);
    const closed = await this.q<FindingRow>(
      `SELECT ${FINDING_COLUMNS} FROM eg_findings WHERE closed_at IS NOT NULL ORDER BY closed_at DESC, id DESC LIMIT $1`,
      [limit],
    );
    return [...open, ...closed].map(findingFrom);
  }

  async findingTotals(): Promise<{ open: number; closed: number; remediationMs: number }> {
    const [r] = await this.q<{ open: string; closed: string; ms: string | null }>(
      'SELECT count(*) FILTER (WHERE closed_at IS NULL) AS open, count(closed_at) AS closed, sum(closed_at - opened_at) AS ms FROM eg_findings',
    );
    return { open: Number(r!.open), closed: Number(r!.closed), remediationMs: Number(r!.ms ?? 0) };
  }

  async history(product: string, from: string, to: string): Promise<HistoryDay[]> {
    const found = await this.q<HistoryDay>(
      `(SELECT product, scope, day, peak, total, samples, last FROM eg_history WHERE product = $1 AND day BETWEEN $2 AND $3)
       UNION ALL
       (SELECT h.product, h.scope, h.day, h.peak, h.total, h.samples, h.last FROM eg_history_last l
          CROSS JOIN LATERAL (SELECT * FROM eg_history m WHERE m.product = l.product AND m.scope = l.scope AND m.day < $2
                               ORDER BY m.day DESC LIMIT 1) h
         WHERE l.product = $1)`,
      [product, from, to],
    );
    return found.map(historyFrom).sort((a, b) => (a.scope < b.scope ? -1 : a.scope > b.scope ? 1 : a.day < b.day ? -1 : 1));
  }

  async historyPeaks(scope: string, from: string): Promise<{ product: string; peak: number }[]> {
    const found = await this.q<{ product: string; peak: number }>(
      'SELECT product, max(peak) AS peak FROM eg_history WHERE scope = $1 AND day >= $2 GROUP BY product',
      [scope, from],
    );
    return found.map((r) => ({ product: r.product, peak: Number(r.peak) }));
  }

  async importHistory(rows: readonly HistoryDay[]): Promise<void> {
    const c = await this.connect();
    try {
      await c.query('BEGIN');
      for (let i = 0; i < rows.length; i += 5000) {
        const part = rows.slice(i, i + 5000);
        const col = <K extends keyof HistoryDay>(k: K) => part.map((r) => r[k]);
        await c.query(
          `INSERT INTO eg_history (product, scope, day, peak, total, samples, last)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::bigint[], $7::float8[])
           ON CONFLICT (product, scope, day) DO UPDATE SET peak = excluded.peak, total = excluded.total,
             samples = excluded.samples, last = excluded.last`,
          [col('product'), col('scope'), col('day'), col('peak'), col('total'), col('samples'), col('last')],
        );
      }
      await c.query(
        `INSERT INTO eg_history_last (product, scope, last)
         SELECT DISTINCT ON (product, scope) product, scope, last FROM eg_history ORDER BY product, scope, day DESC
         ON CONFLICT (product, scope) DO UPDATE SET last = excluded.last`,
      );
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw storeDown(this.where, err);
    } finally {
      c.release();
    }
  }

  async expire(now: number): Promise<number> {
    // Marks the state only, without the products' locks: a line past its expiry
    // already does not count, and leaves eg_held in the next step on its product
    // (countingLines). Taking every product's lock here stalled every gate.
    return this.logged(async (c) => {
      const { rows } = await c.query<{ id: string; expires_at: string }>(
        `UPDATE eg_reservations SET state = 'expired', updated_at = $1, updated_by = 'ttl' WHERE state = 'held' AND expires_at <= $1
         RETURNING id, expires_at`,
        [now],
      );
      rows.sort((a, b) => Number(a.expires_at) - Number(b.expires_at) || (a.id < b.id ? -1 : 1));
      return {
        value: rows.length,
        log: rows.map((r) => ({
          at: now,
          actor: 'ttl',
          action: 'reservation.expire',
          subject: r.id,
          details: { expiresAt: new Date(Number(r.expires_at)).toISOString() },
        })),
      };
    });
  }

  async ping(): Promise<void> {
    await this.q('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Subtracts the lines a CTE `d` returned (product, scope, quantity) from eg_held. */
const SUBTRACT = `, sums AS (SELECT product, scope, sum(quantity) AS q FROM d GROUP BY product, scope)
  UPDATE eg_held h SET quantity = h.quantity - s.q FROM sums s WHERE h.product = s.product AND h.scope = s.scope`;

interface Prefetch {
  now: number;
}

type PgTx = StoreTx & {
  /** Read with the locks, for the step's first countingLines and usageVersion. */
  prefetched: { usageVersion: number; now: number; products: string; counting: ReservationLine[] } | undefined;
  /** Writes sent with COMMIT. */
  deferred: string[];
  /** Decision-log entries, chained at COMMIT under the head's lock. */
  log: LogEntry[];
};

/**
 * Sends the deferred writes, the log entries and COMMIT in one round trip. The
 * entries are chained by eg_log_append (migration 60) under the chain head's
 * row lock, which the transaction holds to its commit: the chain's order is the
 * order of commits across every replica, and the head is held only while the
 * database appends and commits, not across a round trip to this replica.
 */
async function commit(c: Client, deferred: string[], log: LogEntry[]): Promise<void> {
  const now = Date.now();
  const recorded = log.map((e) => recordedEntry(e, now));
  const append = recorded.length
    ? [
        `SELECT eg_log_append(${c.escapeLiteral(
          JSON.stringify(
            recorded.map((r) => ({
              at: r.at,
              actor: r.actor,
              action: r.action,
              subject: r.subject,
              details: r.detailsJson,
              ...bodyAroundSeq(r),
            })),
          ),
        )}::jsonb)`,
        // eg_log_append numbered them after the head it locked, which the last one now is.
        ...refStatements(
          recorded.map((r, i) => ({ ...r, seq: `(SELECT seq FROM eg_log_head WHERE id = 1) - ${recorded.length - 1 - i}` })),
          (v) => c.escapeLiteral(v),
        ),
      ]
    : [];
  await c.query([...deferred, ...append, 'COMMIT'].join(';\n'));
}

/**
 * The records' entries in eg_log_refs (the log's search index), as statements
 * sent with the records; `seq` is SQL (a number, or an expression over the head).
 */
function refStatements(
  records: readonly (Pick<LogRecord, 'action' | 'details' | 'subject'> & { seq: string })[],
  L: (v: string) => string,
): string[] {
  const values: string[] = [];
  const about: string[] = [];
  for (const r of records) {
    const refs = logRefs(r);
    for (const v of refs.products) values.push(`(${r.seq}, 'product', ${L(v)})`);
    for (const v of refs.resources) values.push(`(${r.seq}, 'resource', ${L(v)})`);
    const id = aboutId(refs, r.subject);
    if (refs.about && id !== null)
      about.push(
        aboutRefsSql('postgres', refs.about)
          .replaceAll('$1', r.seq)
          .replaceAll('$2', typeof id === 'number' ? String(int(id)) : L(id)),
      );
  }
  const direct = values.length > 0 ? [`INSERT INTO eg_log_refs (seq, kind, value) VALUES ${values.join(', ')} ON CONFLICT DO NOTHING`] : [];
  return [...direct, ...about];
}

/** Indexes the records appended before migration 80, in its transaction, a page at a time. */
async function backfillLogRefs(c: Client): Promise<void> {
  const L = (v: string) => c.escapeLiteral(v);
  for (let from = 1; ; ) {
    const rows = (await c.query(`SELECT ${LOG_COLUMNS} FROM eg_log WHERE seq >= $1 ORDER BY seq LIMIT 1000`, [from])).rows as LogRow[];
    const statements = refStatements(
      rows.map((row) => {
        const r = parsed(storedFrom(row));
        return { ...r, seq: String(int(r.seq)) };
      }),
      L,
    );
    if (statements.length > 0) await c.query(statements.join(';\n'));
    if (rows.length < 1000) return;
    from = Number(rows.at(-1)!.seq) + 1;
  }
}

function int(n: number): number {
  if (!Number.isSafeInteger(n)) throw new Error(`not an integer: ${n}`);
  return n;
}

function num(n: number): number {
  if (!Number.isFinite(n)) throw new Error(`not a finite number: ${n}`);
  return n;
}

/** What counts (see StoreTx.countingLines); `array` and `now` are SQL (placeholders or literals). */
function countingSql(array: string, now: string): string {
  // Lines past their expiry leave eg_held first; the read sees eg_held as it was
  // when the statement began, so it subtracts them itself.
  return `WITH due AS (
      UPDATE eg_reservation_lines SET counts = 0
       WHERE counts = 1 AND product = ANY(${array}) AND expires_at <= ${now}
       RETURNING product, scope, quantity),
    sums AS (SELECT product, scope, sum(quantity) AS q FROM due GROUP BY product, scope),
    upd AS (UPDATE eg_held h SET quantity = h.quantity - s.q FROM sums s WHERE h.product = s.product AND h.scope = s.scope)
    SELECT h.product, h.quantity - coalesce(s.q, 0) AS quantity, h.scope, NULL AS resource
      FROM eg_held h LEFT JOIN sums s ON s.product = h.product AND s.scope = h.scope
     WHERE h.product = ANY(${array}) AND h.quantity - coalesce(s.q, 0) > 0
     ORDER BY h.product, h.scope`;
}

function txOn(c: Client): PgTx {
  const flush = async () => {
    if (tx.deferred.length) await c.query(tx.deferred.splice(0).join(';\n'));
  };
  const rows = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => {
    await flush();
    return (await c.query(sql, params)).rows as T[];
  };
  const exec = async (sql: string, params: unknown[] = []): Promise<void> => {
    await flush();
    await c.query(sql, params);
  };
  const reservation = async (id: string, now: number): Promise<Reservation | null> => {
    const [row] = await rows<ReservationRow>(`SELECT ${RESERVATION_COLUMNS} FROM eg_reservations WHERE id = $1`, [id]);
    if (!row) return null;
    const lines = await rows<LineRow>(
      'SELECT product, quantity, scope, resource, target FROM eg_reservation_lines WHERE reservation_id = $1 ORDER BY n',
      [id],
    );
    return reservationFrom(row, lines.map(lineFrom), now);
  };
  const tx: PgTx = {
    prefetched: undefined,
    deferred: [],
    log: [],
    appendLog: async (entry) => {
      tx.log.push(entry);
    },
    usageVersion: async () => {
      if (tx.prefetched) return tx.prefetched.usageVersion;
      return Number((await rows<{ v: string }>("SELECT v FROM eg_state WHERE k = 'usage_version'"))[0]!.v);
    },
    currentUsage: async () =>
      (
        await rows<ReportRow>(
          `SELECT r.source, r.observed_at, r.reported_at, r.origin, r.stale_after_ms, r.records
             FROM eg_sources s JOIN eg_usage_reports r ON r.id = s.report_id ORDER BY s.name`,
        )
      ).map(reportFrom),
    countingLines: async (products, now) => {
      const p = tx.prefetched;
      if (p && p.now === now && p.products === [...products].sort().join('\u0000')) {
        tx.prefetched = undefined;
        return p.counting;
      }
      return (await rows<LineRow>(countingSql('$1::text[]', '$2'), [products, now])).map(lineFrom);
    },
    insertReservation: async (r) => {
      // Deferred: sent with COMMIT, in the step's second round trip.
      const L = (v: string | null) => (v === null ? 'NULL' : c.escapeLiteral(v));
      const exp = r.expiresAt === null ? 'NULL' : String(int(r.expiresAt));
      const held = new Map<string, { product: string; scope: string; quantity: number }>();
      const lines = r.lines.map((l, n) => {
        const scope = scopeKey(l.scope);
        const key = `${l.product}\u0000${scope}`;
        const h = held.get(key) ?? { product: l.product, scope, quantity: 0 };
        h.quantity += num(l.quantity);
        held.set(key, h);
        const target = l.target === undefined ? 'NULL' : String(num(l.target));
        return `(${L(r.id)}, ${n}, ${L(l.product)}, ${num(l.quantity)}, ${L(scope)}, ${L(l.resource)}, ${exp}, 1, ${target})`;
      });
      tx.deferred.push(
        `INSERT INTO eg_reservations (id, state, created_at, expires_at, actor, updated_at, updated_by, reservation_key)
         VALUES (${L(r.id)}, ${L(r.state)}, ${int(r.createdAt)}, ${exp}, ${L(r.actor)}, ${int(r.createdAt)}, ${L(r.actor)}, ${L(r.key ?? null)})`,
      );
      if (lines.length) {
        tx.deferred.push(
          `INSERT INTO eg_reservation_lines (reservation_id, n, product, quantity, scope, resource, expires_at, counts, target) VALUES ${lines.join(', ')}`,
          `INSERT INTO eg_held (product, scope, quantity) VALUES ${[...held.values()].map((h) => `(${L(h.product)}, ${L(h.scope)}, ${h.quantity})`).join(', ')}
           ON CONFLICT (product, scope) DO UPDATE SET quantity = eg_held.quantity + excluded.quantity`,
        );
      }
    },
    getReservation: reservation,
    reservationByKey: async (key, now) => {
      const [row] = await rows<{ id: string }>(
        'SELECT id FROM eg_reservations WHERE reservation_key = $1 ORDER BY created_at DESC, id DESC LIMIT 1',
        [key],
      );
      return row ? reservation(row.id, now) : null;
    },
    setReservationState: async (id, state, at, actor) => {
      if (state === 'confirmed') {
        await exec("UPDATE eg_reservations SET state = 'confirmed', expires_at = NULL, updated_at = $2, updated_by = $3 WHERE id = $1", [
          id,
          at,
          actor,
        ]);
        await exec('UPDATE eg_reservation_lines SET expires_at = NULL WHERE reservation_id = $1', [id]);
      } else {
        await exec('UPDATE eg_reservations SET state = $2, updated_at = $3, updated_by = $4 WHERE id = $1', [id, state, at, actor]);
        if (!linesCount(state))
          await exec(
            `WITH d AS (UPDATE eg_reservation_lines SET counts = 0 WHERE reservation_id = $1 AND counts = 1 RETURNING product, scope, quantity)
             ${SUBTRACT}`,
            [id],
          );
      }
    },
    putUsage: async (report, actor) => {
      await exec(
        `WITH rep AS (
           INSERT INTO eg_usage_reports (source, observed_at, reported_at, origin, stale_after_ms, actor, records)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id)
         INSERT INTO eg_sources (name, report_id) SELECT $1, id FROM rep
         ON CONFLICT (name) DO UPDATE SET report_id = excluded.report_id`,
        [
          report.source,
          report.observedAt,
          report.reportedAt,
          report.origin ?? null,
          report.staleAfterMs,
          actor,
          JSON.stringify(report.usage),
        ],
      );
      await exec("UPDATE eg_state SET v = v + 1 WHERE k = 'usage_version'");
    },
    settle: async (pairs, at) => {
      if (pairs.length === 0) return [];
      const touched = await rows<{ id: string }>(
        `WITH d AS (
           UPDATE eg_reservation_lines l SET counts = 0, settled_at = $3
             FROM unnest($1::text[], $2::text[], $4::float8[]) AS p(product, resource, quantity)
            WHERE l.counts = 1 AND l.product = p.product AND l.resource = p.resource AND (l.expires_at IS NULL OR l.expires_at > $3)
              AND ${settlesSql('p.quantity', 'l.')}
            RETURNING l.reservation_id, l.product, l.scope, l.quantity),
         sums AS (SELECT product, scope, sum(quantity) AS q FROM d GROUP BY product, scope),
         upd AS (UPDATE eg_held h SET quantity = h.quantity - s.q FROM sums s WHERE h.product = s.product AND h.scope = s.scope)
         SELECT DISTINCT reservation_id AS id FROM d`,
        [pairs.map((p) => p.product), pairs.map((p) => p.resource), at, pairs.map((p) => p.quantity)],
      );
      const ids = [...new Set(touched.map((r) => r.id))];
      if (ids.length === 0) return [];
      const done = await rows<{ id: string }>(
        `UPDATE eg_reservations r SET state = 'settled', expires_at = NULL, updated_at = $2, updated_by = 'usage-report'
          WHERE r.id = ANY($1::text[]) AND NOT EXISTS (SELECT 1 FROM eg_reservation_lines l WHERE l.reservation_id = r.id AND l.counts = 1)
          RETURNING r.id`,
        [ids, at],
      );
      return done.map((r) => r.id);
    },
    insertException: async (x) => {
      const [row] = await rows<{ id: string }>(
        `WITH ins AS (INSERT INTO eg_exceptions (${EXCEPTION_COLUMNS.slice('id, '.length)})
           VALUES (${Array.from({ length: 15 }, (_, i) => `$${i + 1}`).join(', ')}) RETURNING id),
         bump AS (UPDATE eg_state SET v = v + 1 WHERE k = 'usage_version')
         SELECT id FROM ins`,
        exceptionValues(x),
      );
      return { ...x, id: `exc-${row!.id}` };
    },
    getException: async (id) => {
      const n = exceptionRowId(id);
      if (n === null) return null;
      const [row] = await rows<ExceptionRow>(`SELECT ${EXCEPTION_COLUMNS} FROM eg_exceptions WHERE id = $1`, [n]);
      return row ? exceptionFrom(row) : null;
    },
    updateException: async (x) => {
      await exec(
        `WITH upd AS (UPDATE eg_exceptions SET state = $2, approvals = $3, active_from = $4, ended_by = $5, ended_at = $6, end_reason = $7
           WHERE id = $1)
         UPDATE eg_state SET v = v + 1 WHERE k = 'usage_version'`,
        [exceptionRowId(x.id), x.state, JSON.stringify(x.approvals), x.activeFrom, x.endedBy, x.endedAt, x.endReason],
      );
    },
    activeExceptions: async (since) =>
      (
        await rows<ExceptionRow>(`SELECT ${EXCEPTION_COLUMNS} FROM eg_exceptions WHERE state = 'active' AND until_ms > $1 ORDER BY id`, [
          since,
        ])
      ).map(exceptionFrom),
    openFindings: async () =>
      (await rows<FindingRow>(`SELECT ${FINDING_COLUMNS} FROM eg_findings WHERE closed_at IS NULL ORDER BY product, scope`)).map(
        findingFrom,
      ),
    openFinding: async (f) => {
      await exec(
        `WITH upd AS (UPDATE eg_findings SET over = $3 WHERE product = $1 AND scope = $2 AND closed_at IS NULL RETURNING 1)
         INSERT INTO eg_findings (product, scope, over, opened_at) SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM upd)
         ON CONFLICT DO NOTHING`,
        [f.product, scopeKey(f.scope), f.over, f.at],
      );
    },
    closeFinding: async (product, scope, at) => {
      await exec('UPDATE eg_findings SET closed_at = $3 WHERE product = $1 AND scope = $2 AND closed_at IS NULL', [
        product,
        scopeKey(scope),
        at,
      ]);
    },
    confirmedLines: async () =>
      (
        await rows<LineRow>(
          `SELECT l.product, l.quantity, l.scope, l.resource FROM eg_reservation_lines l
             JOIN eg_reservations r ON r.id = l.reservation_id WHERE l.counts = 1 AND r.state = 'confirmed'`,
        )
      ).map(lineFrom),
    historyLast: async () =>
      (await rows<HistorySample>('SELECT product, scope, last AS quantity FROM eg_history_last')).map((r) => ({
        ...r,
        quantity: Number(r.quantity),
      })),
    recordHistory: async (day, samples) => {
      if (samples.length === 0) return;
      const products = samples.map((x) => x.product);
      const scopes = samples.map((x) => x.scope);
      const qs = samples.map((x) => num(x.quantity));
      await exec(
        `INSERT INTO eg_history (product, scope, day, peak, total, samples, last)
         SELECT p, s, $4, q, q, 1, q FROM unnest($1::text[], $2::text[], $3::float8[]) AS u(p, s, q)
         ON CONFLICT (product, scope, day) DO UPDATE SET peak = greatest(eg_history.peak, excluded.peak),
           total = eg_history.total + excluded.total, samples = eg_history.samples + 1, last = excluded.last`,
        [products, scopes, qs, day],
      );
      await exec(
        `INSERT INTO eg_history_last (product, scope, last) SELECT * FROM unnest($1::text[], $2::text[], $3::float8[])
         ON CONFLICT (product, scope) DO UPDATE SET last = excluded.last`,
        [products, scopes, qs],
      );
    },
  };
  return tx;
}

function historyFrom(r: HistoryDay): HistoryDay {
  return { ...r, peak: Number(r.peak), total: Number(r.total), samples: Number(r.samples), last: Number(r.last) };
}

/** The URL without its password, for messages and logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

function storeDown(where: string, err: unknown): EntitlegateError {
  return new EntitlegateError('EG_ERR_LEDGER_STORE', `${where}: the store did not answer: ${(err as Error).message ?? String(err)}`);
}
