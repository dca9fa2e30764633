// The PostgreSQL store (the `pg` client): any number of ledger replicas share
// it. A decide-and-reserve step locks its products' rows (SELECT … FOR UPDATE,
// in id order so two steps never wait on each other in a circle) and reads
// what counts only after it holds them, so steps on one product are serial
// across every replica, and steps on different products run side by side.
import pg from 'pg';
import { EntitlegateError } from '../../engine/errors.ts';
import { migrations } from './migrations.ts';
import {
  type LineRow,
  type ReportRow,
  type ReservationRow,
  type TokenRow,
  lineFrom,
  linesCount,
  reportFrom,
  reservationFrom,
  scopeKey,
  stateFilter,
  tokenFrom,
} from './rows.ts';
import { newerSchema } from './sqlite.ts';
import type { Actor, Reservation, ReservationState, Store, StoreTx, TokenRecord, UsageReport } from './types.ts';

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
    // An idle connection the server drops (restart, failover) must not crash the process; the next query reconnects.
    this.pool.on('error', () => undefined);
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
          await c.query('BEGIN');
          try {
            for (const stmt of all[v - 1]!) await c.query(stmt);
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

  async withProducts<T>(products: readonly string[] | 'all', fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    const c = await this.connect();
    let broken = false;
    try {
      await c.query('BEGIN');
      if (products === 'all') await c.query('SELECT id FROM eg_products ORDER BY id FOR UPDATE');
      else await c.query('SELECT id FROM eg_products WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE', [[...products].sort()]);
      const result = await fn(txOn(c));
      await c.query('COMMIT');
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

  async createToken(t: TokenRecord & { hash: string }, actor: Actor): Promise<void> {
    await this.q('INSERT INTO eg_tokens (id, name, hash, roles, created_at, actor) VALUES ($1, $2, $3, $4, $5, $6)', [
      t.id,
      t.name,
      t.hash,
      JSON.stringify(t.roles),
      t.createdAt,
      actor,
    ]);
  }

  async findToken(hash: string): Promise<TokenRecord | null> {
    const rows = await this.q<TokenRow>('SELECT id, name, roles, created_at FROM eg_tokens WHERE hash = $1 AND revoked_at IS NULL', [hash]);
    return rows[0] ? tokenFrom(rows[0]) : null;
  }

  async usageHistory(source: string, limit: number): Promise<UsageReport[]> {
    const rows = await this.q<ReportRow>(
      `SELECT source, observed_at, reported_at, origin, stale_after_ms, records FROM eg_usage_reports
        WHERE source = $1 ORDER BY id DESC LIMIT $2`,
      [source, limit],
    );
    return rows.map(reportFrom);
  }

  async listReservations(now: number, states: readonly ReservationState[], limit: number): Promise<Reservation[]> {
    let n = 0;
    const { where, params } = stateFilter(states, now, () => `$${++n}`);
    const rows = await this.q<ReservationRow>(
      `SELECT id, state, created_at, expires_at, actor FROM eg_reservations ${where} ORDER BY created_at DESC, id LIMIT $${n + 1}`,
      [...params, limit],
    );
    const lines = await this.q<LineRow & { reservation_id: string }>(
      'SELECT reservation_id, product, quantity, scope, resource FROM eg_reservation_lines WHERE reservation_id = ANY($1::text[]) ORDER BY n',
      [rows.map((r) => r.id)],
    );
    return rows.map((r) => reservationFrom(r, lines.filter((l) => l.reservation_id === r.id).map(lineFrom), now));
  }

  async expire(now: number): Promise<number> {
    // Under every product's lock, like a step: eg_held changes only there.
    return this.withProducts('all', async (tx) => (tx as StoreTx & { expireHeld(now: number): Promise<number> }).expireHeld(now));
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

function txOn(c: Client): StoreTx & { expireHeld(now: number): Promise<number> } {
  const rows = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => (await c.query(sql, params)).rows as T[];
  const reservation = async (id: string, now: number): Promise<Reservation | null> => {
    const [row] = await rows<ReservationRow>('SELECT id, state, created_at, expires_at, actor FROM eg_reservations WHERE id = $1', [id]);
    if (!row) return null;
    const lines = await rows<LineRow>(
      'SELECT product, quantity, scope, resource FROM eg_reservation_lines WHERE reservation_id = $1 ORDER BY n',
      [id],
    );
    return reservationFrom(row, lines.map(lineFrom), now);
  };
  return {
    expireHeld: async (now) => {
      const ended = await rows<{ id: string }>(
        `UPDATE eg_reservations SET state = 'expired', updated_at = $1, updated_by = 'ttl' WHERE state = 'held' AND expires_at <= $1 RETURNING id`,
        [now],
      );
      if (ended.length === 0) return 0;
      await c.query(
        `WITH d AS (UPDATE eg_reservation_lines SET counts = 0 WHERE reservation_id = ANY($1::text[]) AND counts = 1 RETURNING product, scope, quantity)
         ${SUBTRACT}`,
        [ended.map((e) => e.id)],
      );
      return ended.length;
    },
    usageVersion: async () => Number((await rows<{ v: string }>("SELECT v FROM eg_state WHERE k = 'usage_version'"))[0]!.v),
    currentUsage: async () =>
      (
        await rows<ReportRow>(
          `SELECT r.source, r.observed_at, r.reported_at, r.origin, r.stale_after_ms, r.records
             FROM eg_sources s JOIN eg_usage_reports r ON r.id = s.report_id ORDER BY s.name`,
        )
      ).map(reportFrom),
    countingLines: async (products, now) =>
      // Lines past their expiry leave eg_held first; the read sees eg_held as it was
      // when the statement began, so it subtracts them itself.
      (
        await rows<LineRow>(
          `WITH due AS (
             UPDATE eg_reservation_lines SET counts = 0
              WHERE counts = 1 AND product = ANY($1::text[]) AND expires_at <= $2
              RETURNING product, scope, quantity),
           sums AS (SELECT product, scope, sum(quantity) AS q FROM due GROUP BY product, scope),
           upd AS (UPDATE eg_held h SET quantity = h.quantity - s.q FROM sums s WHERE h.product = s.product AND h.scope = s.scope)
           SELECT h.product, h.quantity - coalesce(s.q, 0) AS quantity, h.scope, NULL AS resource
             FROM eg_held h LEFT JOIN sums s ON s.product = h.product AND s.scope = h.scope
            WHERE h.product = ANY($1::text[]) AND h.quantity - coalesce(s.q, 0) > 0
            ORDER BY h.product, h.scope`,
          [products, now],
        )
      ).map(lineFrom),
    insertReservation: async (r) => {
      // One round trip for the reservation and its lines.
      await c.query(
        `WITH res AS (
           INSERT INTO eg_reservations (id, state, created_at, expires_at, actor, updated_at, updated_by)
           VALUES ($1, $2, $3, $4, $5, $3, $5)),
         ins AS (
           INSERT INTO eg_reservation_lines (reservation_id, n, product, quantity, scope, resource, expires_at, counts)
           SELECT $1, l.n - 1, l.product, l.quantity, l.scope, l.resource, $4, 1
             FROM unnest($6::text[], $7::float8[], $8::text[], $9::text[]) WITH ORDINALITY AS l(product, quantity, scope, resource, n)
           RETURNING product, scope, quantity)
         INSERT INTO eg_held (product, scope, quantity) SELECT product, scope, sum(quantity) FROM ins GROUP BY product, scope
         ON CONFLICT (product, scope) DO UPDATE SET quantity = eg_held.quantity + excluded.quantity`,
        [
          r.id,
          r.state,
          r.createdAt,
          r.expiresAt,
          r.actor,
          r.lines.map((l) => l.product),
          r.lines.map((l) => l.quantity),
          r.lines.map((l) => scopeKey(l.scope)),
          r.lines.map((l) => l.resource),
        ],
      );
    },
    getReservation: reservation,
    setReservationState: async (id, state, at, actor) => {
      if (state === 'confirmed') {
        await c.query("UPDATE eg_reservations SET state = 'confirmed', expires_at = NULL, updated_at = $2, updated_by = $3 WHERE id = $1", [
          id,
          at,
          actor,
        ]);
        await c.query('UPDATE eg_reservation_lines SET expires_at = NULL WHERE reservation_id = $1', [id]);
      } else {
        await c.query('UPDATE eg_reservations SET state = $2, updated_at = $3, updated_by = $4 WHERE id = $1', [id, state, at, actor]);
        if (!linesCount(state))
          await c.query(
            `WITH d AS (UPDATE eg_reservation_lines SET counts = 0 WHERE reservation_id = $1 AND counts = 1 RETURNING product, scope, quantity)
             ${SUBTRACT}`,
            [id],
          );
      }
    },
    putUsage: async (report, actor) => {
      await c.query(
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
      await c.query("UPDATE eg_state SET v = v + 1 WHERE k = 'usage_version'");
    },
    settle: async (pairs, at) => {
      if (pairs.length === 0) return [];
      const touched = await rows<{ id: string }>(
        `WITH d AS (
           UPDATE eg_reservation_lines l SET counts = 0, settled_at = $3
             FROM unnest($1::text[], $2::text[]) AS p(product, resource)
            WHERE l.counts = 1 AND l.product = p.product AND l.resource = p.resource AND (l.expires_at IS NULL OR l.expires_at > $3)
            RETURNING l.reservation_id, l.product, l.scope, l.quantity),
         sums AS (SELECT product, scope, sum(quantity) AS q FROM d GROUP BY product, scope),
         upd AS (UPDATE eg_held h SET quantity = h.quantity - s.q FROM sums s WHERE h.product = s.product AND h.scope = s.scope)
         SELECT DISTINCT reservation_id AS id FROM d`,
        [pairs.map((p) => p.product), pairs.map((p) => p.resource), at],
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
  };
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
