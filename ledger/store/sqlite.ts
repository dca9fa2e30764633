// The embedded store: one SQLite file through Node's built-in node:sqlite.
// Chosen over PGlite (docs/ledger.md, "Choosing the embedded store"): both kept
// every acknowledged write across kill -9 here, but node:sqlite needs no
// dependency, commits with an fsync (synchronous=FULL in WAL mode), and its
// synchronous calls make a step one uninterrupted piece of work on the event loop.
// One process owns the file; `ledger token create` may write beside a running
// server (WAL and a busy timeout make the two take turns).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { EntitlegateError } from '../../engine/errors.ts';
import type { Scope } from '../../engine/types.ts';
import { chainRecords, type LogEntry, type LogRecord, type StoredLogRecord } from '../audit/chain.ts';
import type { Checkpoint } from '../audit/checkpoint.ts';
import { logRefs } from '../audit/refs.ts';
import { CHECKPOINT_COLUMNS, type CheckpointRow, LOG_COLUMNS, type LogRow, checkpointFrom, parsed, storedFrom } from './log-rows.ts';
import { type LogLines, linesFrom, logLinesSql } from './log-rows.ts';
import { DENIED_DECISION, HISTORY_STEP, LOG_REFS_VERSION, migrations } from './migrations.ts';
import { aboutId, aboutRefsSql, insertRefSql, type LogSearch, searchSql } from './log-search.ts';
import {
  stateFilter,
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
  RESERVATION_COLUMNS,
  settlesSql,
  scopeKey,
  reportFrom,
  reservationFrom,
  tokenFrom,
  tokenLogDetails,
} from './rows.ts';
import type {
  Actor,
  ExceptionRecord,
  ExceptionState,
  HistoryDay,
  HistorySample,
  LogHead,
  OverCapacity,
  Reservation,
  ReservationState,
  Store,
  StoreTx,
  TokenRecord,
  UsageReport,
} from './types.ts';

/**
 * The days in [from, to] of every series whose `by` column is the parameter,
 * and each series' last day before `from` (what it carries in). Parameters:
 * from, to, value, from, value. CROSS JOIN fixes the join order in SQLite:
 * series first, then a key range per series.
 */
function seriesDaysSql(by: 'product' | 'scope'): string {
  return `SELECT h.product, h.scope, h.day, h.peak, h.total, h.samples, h.last FROM eg_history_last l
       CROSS JOIN eg_history h ON h.product = l.product AND h.scope = l.scope AND h.day BETWEEN ? AND ?
      WHERE l.${by} = ?
     UNION ALL
     SELECT h.product, h.scope, h.day, h.peak, h.total, h.samples, h.last FROM eg_history_last l
       CROSS JOIN eg_history h ON h.product = l.product AND h.scope = l.scope
        AND h.day = (SELECT max(day) FROM eg_history m WHERE m.product = l.product AND m.scope = l.scope AND m.day < ?)
      WHERE l.${by} = ?`;
}

export class SqliteStore implements Store {
  readonly kind = 'embedded' as const;
  private readonly db: DatabaseSync;
  /** Steps waiting for the connection; they run one at a time, several to a commit (group commit). */
  private pending: Pending[] = [];
  private draining: Promise<void> | null = null;
  private historyStmt: StatementSync | undefined;

  readonly file: string;

  constructor(file: string) {
    this.file = file;
    try {
      mkdirSync(dirname(file), { recursive: true });
      this.db = new DatabaseSync(file, { timeout: 5000 });
      this.db.exec('PRAGMA journal_mode = WAL');
      this.db.exec('PRAGMA synchronous = FULL');
      this.db.exec('PRAGMA foreign_keys = ON');
    } catch (err) {
      throw new EntitlegateError('EG_ERR_LEDGER_STORE', `--store ${file}: cannot open the embedded store: ${(err as Error).message}`);
    }
  }

  /** Statements by their text, prepared once: a step runs the same few each time. */
  private readonly statements = new Map<string, StatementSync>();

  private prepared(sql: string): StatementSync {
    let s = this.statements.get(sql);
    if (!s) this.statements.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  private all<T>(sql: string, ...params: SQLInputValue[]): T[] {
    return this.prepared(sql).all(...params) as unknown as T[];
  }

  private get<T>(sql: string, ...params: SQLInputValue[]): T | undefined {
    return this.prepared(sql).get(...params) as unknown as T | undefined;
  }

  private run(sql: string, ...params: SQLInputValue[]): number {
    return Number(this.prepared(sql).run(...params).changes);
  }

  /**
   * Runs `fn` as one step. Steps run one after another on the one connection,
   * and the steps that queued up while a commit was on disk share the next
   * transaction, each inside its own savepoint (a step that throws undoes only
   * itself): one fsync for the lot, and no step is answered before its commit
   * is on disk. Without this a step's cost was its fsync (~4 ms here), one at
   * a time. BEGIN IMMEDIATE takes the file's write lock up front, so a step
   * never fails half-way on a lock upgrade.
   */
  private transaction<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      this.draining ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length) {
        const batch = this.pending.splice(0, MAX_BATCH);
        const results: ({ ok: true; value: unknown } | { ok: false; err: unknown })[] = [];
        try {
          this.db.exec('BEGIN IMMEDIATE');
        } catch (err) {
          for (const p of batch) p.reject(storeError(this.file, err));
          continue;
        }
        for (const p of batch) {
          this.db.exec('SAVEPOINT step');
          try {
            const value = await p.fn();
            this.db.exec('RELEASE step');
            results.push({ ok: true, value });
          } catch (err) {
            this.db.exec('ROLLBACK TO step');
            this.db.exec('RELEASE step');
            results.push({ ok: false, err });
          }
        }
        try {
          this.db.exec('COMMIT');
        } catch (err) {
          if (this.db.isTransaction) this.db.exec('ROLLBACK');
          for (const p of batch) p.reject(storeError(this.file, err));
          continue;
        }
        batch.forEach((p, i) => {
          const r = results[i]!;
          if (r.ok) p.resolve(r.value);
          else p.reject(r.err);
        });
      }
    } finally {
      this.draining = null;
    }
  }

  async migrate(): Promise<void> {
    await this.transaction(async () => {
      this.db.exec('CREATE TABLE IF NOT EXISTS eg_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
      const current = this.get<{ v: number | null }>('SELECT max(version) AS v FROM eg_migrations')?.v ?? 0;
      const all = migrations('sqlite');
      if (current > all.length) throw newerSchema(this.file, current, all.length);
      for (let v = current + 1; v <= all.length; v++) {
        for (const stmt of all[v - 1] ?? []) this.db.exec(stmt);
        this.run('INSERT INTO eg_migrations (version, applied_at) VALUES (?, ?)', v, Date.now());
        if (v === LOG_REFS_VERSION) this.backfillLogRefs();
      }
    });
  }

  async schemaVersion(): Promise<number> {
    return this.get<{ v: number | null }>('SELECT max(version) AS v FROM eg_migrations')?.v ?? 0;
  }

  async ensureProducts(ids: readonly string[]): Promise<void> {
    await this.transaction(async () => {
      for (const id of ids) this.run('INSERT OR IGNORE INTO eg_products (id) VALUES (?)', id);
    });
  }

  withProducts<T>(_products: readonly string[] | 'all', fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    // The file has one writer at a time: every step is already serialised.
    return this.transaction(() => fn(this.tx));
  }

  private readonly tx: StoreTx = {
    usageVersion: async () => this.get<{ v: number }>("SELECT v FROM eg_state WHERE k = 'usage_version'")!.v,
    currentUsage: async () =>
      this.all<ReportRow>(
        `SELECT r.source, r.observed_at, r.reported_at, r.origin, r.stale_after_ms, r.records
           FROM eg_sources s JOIN eg_usage_reports r ON r.id = s.report_id ORDER BY s.name`,
      ).map(reportFrom),
    countingLines: async (products, now) => {
      const list = JSON.stringify(products);
      const due = this.all<{ reservation_id: string; n: number; product: string; scope: string; quantity: number }>(
        `SELECT reservation_id, n, product, scope, quantity FROM eg_reservation_lines
          WHERE counts = 1 AND product IN (SELECT value FROM json_each(?)) AND expires_at <= ?`,
        list,
        now,
      );
      for (const l of due) this.stopCounting(l);
      return this.all<LineRow>(
        `SELECT product, quantity, scope, NULL AS resource FROM eg_held
          WHERE product IN (SELECT value FROM json_each(?)) AND quantity > 0 ORDER BY product, scope`,
        list,
      ).map(lineFrom);
    },
    insertReservation: async (r) => {
      this.run(
        'INSERT INTO eg_reservations (id, state, created_at, expires_at, actor, updated_at, updated_by, reservation_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        r.id,
        r.state,
        r.createdAt,
        r.expiresAt,
        r.actor,
        r.createdAt,
        r.actor,
        r.key ?? null,
      );
      const line = this.prepared(
        'INSERT INTO eg_reservation_lines (reservation_id, n, product, quantity, scope, resource, expires_at, counts, target) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)',
      );
      r.lines.forEach((l, n) => {
        const scope = scopeKey(l.scope);
        line.run(r.id, n, l.product, l.quantity, scope, l.resource, r.expiresAt, l.target ?? null);
        this.hold(l.product, scope, l.quantity);
      });
    },
    getReservation: async (id, now) => this.reservation(id, now),
    reservationByKey: async (key, now) => {
      const row = this.get<{ id: string }>(
        'SELECT id FROM eg_reservations WHERE reservation_key = ? ORDER BY created_at DESC, id DESC LIMIT 1',
        key,
      );
      return row ? this.reservation(row.id, now) : null;
    },
    setReservationState: async (id, state, at, actor) => this.setState(id, state, at, actor),
    putUsage: async (report, actor) => {
      const { lastInsertRowid } = this.prepared(
        'INSERT INTO eg_usage_reports (source, observed_at, reported_at, origin, stale_after_ms, actor, records) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ).run(
        report.source,
        report.observedAt,
        report.reportedAt,
        report.origin ?? null,
        report.staleAfterMs,
        actor,
        JSON.stringify(report.usage),
      );
      this.run(
        'INSERT INTO eg_sources (name, report_id) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET report_id = excluded.report_id',
        report.source,
        lastInsertRowid,
      );
      this.run("UPDATE eg_state SET v = v + 1 WHERE k = 'usage_version'");
    },
    settle: async (pairs, at) => {
      const ids = new Set<string>();
      const lines = this.prepared(
        `SELECT reservation_id, n, product, scope, quantity FROM eg_reservation_lines
          WHERE counts = 1 AND product = ? AND resource = ? AND (expires_at IS NULL OR expires_at > ?) AND ${settlesSql('?')}`,
      );
      for (const p of pairs) {
        for (const l of lines.all(p.product, p.resource, at, p.quantity) as {
          reservation_id: string;
          n: number;
          product: string;
          scope: string;
          quantity: number;
        }[]) {
          ids.add(l.reservation_id);
          this.stopCounting(l, at);
        }
      }
      const done: string[] = [];
      for (const id of ids) {
        const left = this.get<{ n: number }>(
          'SELECT count(*) AS n FROM eg_reservation_lines WHERE reservation_id = ? AND counts = 1',
          id,
        )!.n;
        if (left === 0) {
          this.run(
            "UPDATE eg_reservations SET state = 'settled', expires_at = NULL, updated_at = ?, updated_by = 'usage-report' WHERE id = ?",
            at,
            id,
          );
          done.push(id);
        }
      }
      return done;
    },
    insertException: async (x) => {
      const { lastInsertRowid } = this.prepared(
        `INSERT INTO eg_exceptions (${EXCEPTION_COLUMNS.slice('id, '.length)}) VALUES (${Array(15).fill('?').join(', ')})`,
      ).run(...exceptionValues(x));
      this.run("UPDATE eg_state SET v = v + 1 WHERE k = 'usage_version'");
      return { ...x, id: `exc-${lastInsertRowid}` };
    },
    getException: async (id) => this.exception(id),
    updateException: async (x) => {
      this.run(
        'UPDATE eg_exceptions SET state = ?, approvals = ?, active_from = ?, ended_by = ?, ended_at = ?, end_reason = ? WHERE id = ?',
        x.state,
        JSON.stringify(x.approvals),
        x.activeFrom,
        x.endedBy,
        x.endedAt,
        x.endReason,
        exceptionRowId(x.id),
      );
      this.run("UPDATE eg_state SET v = v + 1 WHERE k = 'usage_version'");
    },
    activeExceptions: async (since) =>
      this.all<ExceptionRow>(
        `SELECT ${EXCEPTION_COLUMNS} FROM eg_exceptions WHERE state = 'active' AND until_ms > ? ORDER BY id`,
        since,
      ).map(exceptionFrom),
    openFindings: () => this.findingTx.openFindings(),
    openFinding: (f) => this.findingTx.openFinding(f),
    closeFinding: (product, scope, at) => this.findingTx.closeFinding(product, scope, at),
    appendLog: async (entry) => this.append([entry]),
    confirmedLines: async () =>
      this.all<LineRow>(
        `SELECT l.product, l.quantity, l.scope, l.resource FROM eg_reservation_lines l
           JOIN eg_reservations r ON r.id = l.reservation_id WHERE l.counts = 1 AND r.state = 'confirmed'`,
      ).map(lineFrom),
    historyLast: async () => this.all<HistorySample>('SELECT product, scope, last AS quantity FROM eg_history_last'),
    recordHistory: async (day, samples) => {
      const row = this.prepared(
        `INSERT INTO eg_history (product, scope, day, peak, total, samples, last) VALUES (?, ?, ?, ?, ?, 1, ?)
         ON CONFLICT (product, scope, day) DO UPDATE SET peak = max(peak, excluded.peak), total = total + excluded.total,
           samples = samples + 1, last = excluded.last`,
      );
      const last = this.prepared(
        'INSERT INTO eg_history_last (product, scope, last) VALUES (?, ?, ?) ON CONFLICT (product, scope) DO UPDATE SET last = excluded.last',
      );
      for (const s of samples) {
        row.run(s.product, s.scope, day, s.quantity, s.quantity, s.quantity);
        last.run(s.product, s.scope, s.quantity);
      }
    },
  };

  private findingTx = {
    openFindings: async () =>
      this.all<FindingRow>(`SELECT ${FINDING_COLUMNS} FROM eg_findings WHERE closed_at IS NULL ORDER BY product, scope`).map(findingFrom),
    openFinding: async (f: { product: string; scope: Scope; over: number; at: number }) => {
      const scope = scopeKey(f.scope);
      if (this.run('UPDATE eg_findings SET over = ? WHERE product = ? AND scope = ? AND closed_at IS NULL', f.over, f.product, scope) === 0)
        this.run('INSERT OR IGNORE INTO eg_findings (product, scope, over, opened_at) VALUES (?, ?, ?, ?)', f.product, scope, f.over, f.at);
    },
    closeFinding: async (product: string, scope: Scope, at: number) => {
      this.run('UPDATE eg_findings SET closed_at = ? WHERE product = ? AND scope = ? AND closed_at IS NULL', at, product, scopeKey(scope));
    },
  };

  private exception(id: string): ExceptionRecord | null {
    const n = exceptionRowId(id);
    if (n === null) return null;
    const row = this.get<ExceptionRow>(`SELECT ${EXCEPTION_COLUMNS} FROM eg_exceptions WHERE id = ?`, n);
    return row ? exceptionFrom(row) : null;
  }

  private insertLog: StatementSync | undefined;

  /** Chains the entries after the head, inside the open transaction (the file has one writer: the chain is a total order). */
  private append(entries: readonly LogEntry[]): void {
    const head = this.get<{ seq: number; hash: string }>('SELECT seq, hash FROM eg_log_head WHERE id = 1')!;
    const records = chainRecords({ seq: Number(head.seq), hash: head.hash }, entries);
    this.insertLog ??= this.db.prepare(`INSERT INTO eg_log (${LOG_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    for (const r of records) this.insertLog.run(r.seq, r.at, r.actor, r.action, r.subject, r.detailsJson, r.prevHash, r.hash);
    for (const r of records) this.writeRefs(r);
    const last = records.at(-1);
    if (last) this.run('UPDATE eg_log_head SET seq = ?, hash = ? WHERE id = 1', last.seq, last.hash);
  }

  async logRecords(fromSeq: number, limit: number): Promise<LogRecord[]> {
    return (await this.logRows(fromSeq, limit)).map(parsed);
  }

  async logRows(fromSeq: number, limit: number): Promise<StoredLogRecord[]> {
    return this.all<LogRow>(`SELECT ${LOG_COLUMNS} FROM eg_log WHERE seq >= ? ORDER BY seq LIMIT ?`, fromSeq, limit).map(storedFrom);
  }

  private linesStmt: StatementSync | undefined;

  async logLines(fromSeq: number, limit: number): Promise<LogLines> {
    this.linesStmt ??= this.db.prepare(logLinesSql('sqlite'));
    return linesFrom(this.linesStmt.get(fromSeq, limit) as { last: number | null; n: number; text: string });
  }

  async logDenials(beforeSeq: number | null, limit: number, product?: string): Promise<StoredLogRecord[]> {
    return this.all<LogRow>(
      `SELECT ${LOG_COLUMNS} FROM eg_log INDEXED BY eg_log_denials WHERE ${DENIED_DECISION} AND seq < ?
         AND (? IS NULL OR instr(',' || subject || ',', ',' || ? || ',') > 0) ORDER BY seq DESC LIMIT ?`,
      beforeSeq ?? Number.MAX_SAFE_INTEGER,
      product ?? null,
      product ?? null,
      limit,
    ).map(storedFrom);
  }

  async lastHistoryStep(): Promise<number> {
    return Number(
      this.get<{ s: number | null }>(`SELECT max(seq) AS s FROM eg_log INDEXED BY eg_log_history WHERE ${HISTORY_STEP}`)?.s ?? 0,
    );
  }

  private historyWindowStmt: StatementSync | undefined;

  async historyWindow(scope: string, from: string, to: string): Promise<HistoryDay[]> {
    // As history() for one product, for every product's series of one scope: a key range (and one seek) per series.
    this.historyWindowStmt ??= this.db.prepare(seriesDaysSql('scope'));
    return this.historyWindowStmt.all(from, to, scope, from, scope) as unknown as HistoryDay[];
  }

  async logSeqAt(at: number): Promise<number> {
    const first = this.get<{ s: number | null }>('SELECT min(seq) AS s FROM eg_log WHERE at >= ?', new Date(at).toISOString())?.s;
    return first ?? (await this.logHead()).seq + 1;
  }

  async logHead(): Promise<LogHead> {
    const h = this.get<{ seq: number; hash: string; pruned_through: number }>(
      'SELECT seq, hash, pruned_through FROM eg_log_head WHERE id = 1',
    )!;
    return { seq: Number(h.seq), hash: h.hash, prunedThrough: Number(h.pruned_through) };
  }

  async checkpoints(): Promise<Checkpoint[]> {
    return this.all<CheckpointRow>(`SELECT ${CHECKPOINT_COLUMNS} FROM eg_checkpoints ORDER BY seq`).map(checkpointFrom);
  }

  async addCheckpoint(c: Checkpoint): Promise<boolean> {
    return this.transaction(
      async () =>
        this.run(
          `INSERT INTO eg_checkpoints (${CHECKPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (seq) DO NOTHING`,
          c.seq,
          c.hash,
          c.at,
          c.keyId,
          c.publicKey,
          c.signature,
        ) > 0,
    );
  }

  async pruneLog(through: number, entry: LogEntry): Promise<number> {
    return this.transaction(async () => {
      if (!this.get('SELECT 1 FROM eg_checkpoints WHERE seq = ?', through))
        throw new EntitlegateError('EG_ERR_LEDGER_STORE', `pruning the decision log through ${through} needs a checkpoint there`);
      this.run('UPDATE eg_log_head SET pruned_through = ? WHERE id = 1 AND pruned_through < ?', through, through);
      const n = this.run('DELETE FROM eg_log WHERE seq <= ?', through);
      this.run('DELETE FROM eg_log_refs WHERE seq <= ?', through);
      this.append([entry]);
      return n;
    });
  }

  async history(product: string, from: string, to: string): Promise<HistoryDay[]> {
    // Through eg_history_last's series and the primary key: a key range (and, for the
    // row each series carries in, one seek) per series, not every day of the product.
    this.historyStmt ??= this.db.prepare(`${seriesDaysSql('product')} ORDER BY 2, 3`);
    return this.historyStmt.all(from, to, product, from, product) as unknown as HistoryDay[];
  }

  async historyPeaks(scope: string, from: string): Promise<{ product: string; peak: number }[]> {
    return this.all('SELECT product, max(peak) AS peak FROM eg_history WHERE scope = ? AND day >= ? GROUP BY product', scope, from);
  }

  async importHistory(rows: readonly HistoryDay[]): Promise<void> {
    await this.transaction(async () => {
      const ins = this.db.prepare(
        'INSERT OR REPLACE INTO eg_history (product, scope, day, peak, total, samples, last) VALUES (?, ?, ?, ?, ?, ?, ?)',
      );
      for (const r of rows) ins.run(r.product, r.scope, r.day, r.peak, r.total, r.samples, r.last);
      // Each series' latest day, once for the lot (per row it doubled the import's time).
      this.db.exec(
        `INSERT INTO eg_history_last (product, scope, last)
         SELECT h.product, h.scope, h.last FROM eg_history h
           JOIN (SELECT product, scope, max(day) AS day FROM eg_history GROUP BY product, scope) m
             ON h.product = m.product AND h.scope = m.scope AND h.day = m.day
         WHERE true ON CONFLICT (product, scope) DO UPDATE SET last = excluded.last`,
      );
    });
  }

  private reservation(id: string, now: number): Reservation | null {
    const row = this.get<ReservationRow>(`SELECT ${RESERVATION_COLUMNS} FROM eg_reservations WHERE id = ?`, id);
    if (!row) return null;
    const lines = this.all<LineRow>(
      'SELECT product, quantity, scope, resource, target FROM eg_reservation_lines WHERE reservation_id = ? ORDER BY n',
      id,
    ).map(lineFrom);
    return reservationFrom(row, lines, now);
  }

  private setState(id: string, state: ReservationState, at: number, actor: Actor): void {
    if (state === 'confirmed') {
      this.run(
        "UPDATE eg_reservations SET state = 'confirmed', expires_at = NULL, updated_at = ?, updated_by = ? WHERE id = ?",
        at,
        actor,
        id,
      );
      this.run('UPDATE eg_reservation_lines SET expires_at = NULL WHERE reservation_id = ?', id);
    } else {
      this.run('UPDATE eg_reservations SET state = ?, updated_at = ?, updated_by = ? WHERE id = ?', state, at, actor, id);
      if (!linesCount(state)) {
        const lines = this.all<{ reservation_id: string; n: number; product: string; scope: string; quantity: number }>(
          'SELECT reservation_id, n, product, scope, quantity FROM eg_reservation_lines WHERE reservation_id = ? AND counts = 1',
          id,
        );
        for (const l of lines) this.stopCounting(l);
      }
    }
  }

  private hold(product: string, scope: string, quantity: number): void {
    this.run(
      'INSERT INTO eg_held (product, scope, quantity) VALUES (?, ?, ?) ON CONFLICT (product, scope) DO UPDATE SET quantity = eg_held.quantity + excluded.quantity',
      product,
      scope,
      quantity,
    );
  }

  /** The line stops counting (released, expired, settled at `settledAt`), and its quantity leaves eg_held with it. */
  private stopCounting(
    l: { reservation_id: string; n: number; product: string; scope: string; quantity: number },
    settledAt?: number,
  ): void {
    this.run(
      'UPDATE eg_reservation_lines SET counts = 0, settled_at = ? WHERE reservation_id = ? AND n = ?',
      settledAt ?? null,
      l.reservation_id,
      l.n,
    );
    this.hold(l.product, l.scope, -l.quantity);
  }

  async createToken(t: TokenRecord & { hash: string }, actor: Actor): Promise<void> {
    await this.transaction(async () => {
      this.run(
        'INSERT INTO eg_tokens (id, name, hash, roles, created_at, actor, products, scope, sources) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        t.id,
        t.name,
        t.hash,
        JSON.stringify(t.roles),
        t.createdAt,
        actor,
        t.products ? JSON.stringify(t.products) : null,
        t.scope ? scopeKey(t.scope) : null,
        t.sources ? JSON.stringify(t.sources) : null,
      );
      this.append([{ at: t.createdAt, actor, action: 'token.create', subject: t.name, details: tokenLogDetails(t) }]);
    });
  }

  async findToken(hash: string): Promise<TokenRecord | null> {
    const row = this.get<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM eg_tokens WHERE hash = ?`, hash);
    return row ? tokenFrom(row) : null;
  }

  async listTokens(): Promise<TokenRecord[]> {
    return this.all<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM eg_tokens ORDER BY created_at, name`).map(tokenFrom);
  }

  async revokeToken(id: string, at: number, actor: Actor): Promise<boolean> {
    return this.transaction(async () => {
      const revoked = this.run('UPDATE eg_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', at, id) === 1;
      if (revoked) this.append([{ at, actor, action: 'token.revoke', subject: id, details: { id } }]);
      return revoked;
    });
  }

  async listExceptions(states: readonly ExceptionState[], limit: number): Promise<ExceptionRecord[]> {
    const where = states.length ? `WHERE state IN (${states.map(() => '?').join(', ')})` : '';
    return this.all<ExceptionRow>(`SELECT ${EXCEPTION_COLUMNS} FROM eg_exceptions ${where} ORDER BY id DESC LIMIT ?`, ...states, limit).map(
      exceptionFrom,
    );
  }

  async usageHistory(source: string, limit: number): Promise<UsageReport[]> {
    return this.all<ReportRow>(
      `SELECT source, observed_at, reported_at, origin, stale_after_ms, records FROM eg_usage_reports
        WHERE source = ? ORDER BY id DESC LIMIT ?`,
      source,
      limit,
    ).map(reportFrom);
  }

  async listReservations(now: number, states: readonly ReservationState[], limit: number, key?: string): Promise<Reservation[]> {
    const { where, params } = stateFilter(states, now, () => '?', key);
    const rows = this.all<{ id: string }>(`SELECT id FROM eg_reservations ${where} ORDER BY created_at DESC, id LIMIT ?`, ...params, limit);
    return rows.map(({ id }) => this.reservation(id, now)!);
  }

  async listFindings(limit: number): Promise<OverCapacity[]> {
    return [
      ...(await this.findingTx.openFindings()),
      ...this.all<FindingRow>(
        `SELECT ${FINDING_COLUMNS} FROM eg_findings WHERE closed_at IS NOT NULL ORDER BY closed_at DESC, id DESC LIMIT ?`,
        limit,
      ).map(findingFrom),
    ];
  }

  async findingTotals(): Promise<{ open: number; closed: number; remediationMs: number }> {
    const r = this.get<{ open: number; closed: number; ms: number | null }>(
      `SELECT count(*) FILTER (WHERE closed_at IS NULL) AS open, count(closed_at) AS closed, sum(closed_at - opened_at) AS ms FROM eg_findings`,
    )!;
    return { open: r.open, closed: r.closed, remediationMs: r.ms ?? 0 };
  }

  async expire(now: number): Promise<number> {
    return this.transaction(async () => {
      const ids = this.all<{ id: string; expires_at: number }>(
        "SELECT id, expires_at FROM eg_reservations WHERE state = 'held' AND expires_at <= ? ORDER BY expires_at, id",
        now,
      );
      for (const { id } of ids) this.setState(id, 'expired', now, 'ttl');
      this.append(
        ids.map((r) => ({
          at: now,
          actor: 'ttl',
          action: 'reservation.expire',
          subject: r.id,
          details: { expiresAt: new Date(r.expires_at).toISOString() },
        })),
      );
      return ids.length;
    });
  }

  private refStmts: { one: StatementSync; reservation: StatementSync; exception: StatementSync } | undefined;

  /** The record's entries in eg_log_refs (the log's search index), in the append's transaction. */
  private writeRefs(r: LogRecord): void {
    this.refStmts ??= {
      one: this.db.prepare(insertRefSql('sqlite')),
      reservation: this.db.prepare(aboutRefsSql('sqlite', 'reservation')),
      exception: this.db.prepare(aboutRefsSql('sqlite', 'exception')),
    };
    const refs = logRefs(r);
    for (const v of refs.products) this.refStmts.one.run(r.seq, 'product', v);
    for (const v of refs.resources) this.refStmts.one.run(r.seq, 'resource', v);
    const id = aboutId(refs, r.subject);
    if (refs.about && id !== null) this.refStmts[refs.about].run(r.seq, id);
  }

  /** Indexes the records appended before migration 80, in its transaction, a page at a time. */
  private backfillLogRefs(): void {
    for (let from = 1; ; ) {
      const rows = this.all<LogRow>(`SELECT ${LOG_COLUMNS} FROM eg_log WHERE seq >= ? ORDER BY seq LIMIT 1000`, from);
      for (const row of rows) this.writeRefs(parsed(storedFrom(row)));
      if (rows.length < 1000) return;
      from = Number(rows.at(-1)!.seq) + 1;
    }
  }

  async searchLog(q: LogSearch): Promise<StoredLogRecord[]> {
    const { sql, params } = searchSql('sqlite', q);
    return this.all<LogRow>(sql, ...params).map(storedFrom);
  }

  async ping(): Promise<void> {
    this.get('SELECT 1');
  }

  async close(): Promise<void> {
    await this.draining;
    this.db.close();
  }
}

interface Pending {
  fn: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

// Enough to share one fsync among every gate that waits; small enough that one commit stays short.
const MAX_BATCH = 256;

function storeError(file: string, err: unknown): EntitlegateError {
  return new EntitlegateError('EG_ERR_LEDGER_STORE', `${file}: the embedded store failed to commit: ${(err as Error).message}`);
}

export function newerSchema(where: string, found: number, known: number): EntitlegateError {
  return new EntitlegateError(
    'EG_ERR_LEDGER_STORE',
    `${where}: the store's schema is version ${found}, newer than this entitlegate knows (${known}); run the newer entitlegate, or restore a backup`,
  );
}
