// Versioned schema migrations, one list per SQL dialect, applied in order at
// start under a lock (see each store). A migration is never edited once
// released: a change is a new version. Every write table carries the actor,
// so the decision log (hash-chained, issue 18) can be filled from them.
export type Dialect = 'sqlite' | 'postgres';

interface Types {
  int: string;
  serial: string;
  real: string;
  /** Table option for a table read by ranges of its primary key (SQLite stores it clustered, no rowid). */
  clustered: string;
}

const TYPES: Record<Dialect, Types> = {
  sqlite: { int: 'INTEGER', serial: 'INTEGER PRIMARY KEY AUTOINCREMENT', real: 'REAL', clustered: ' WITHOUT ROWID' },
  postgres: { int: 'BIGINT', serial: 'BIGSERIAL PRIMARY KEY', real: 'DOUBLE PRECISION', clustered: '' },
};

function v1(t: Types): string[] {
  return [
    // One row per product: the lock a decide-and-reserve step holds.
    'CREATE TABLE eg_products (id TEXT PRIMARY KEY)',
    `CREATE TABLE eg_state (k TEXT PRIMARY KEY, v ${t.int} NOT NULL)`,
    "INSERT INTO eg_state (k, v) VALUES ('usage_version', 0)",
    `CREATE TABLE eg_tokens (id TEXT PRIMARY KEY, name TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, roles TEXT NOT NULL,
       created_at ${t.int} NOT NULL, actor TEXT NOT NULL, revoked_at ${t.int})`,
    `CREATE TABLE eg_usage_reports (id ${t.serial}, source TEXT NOT NULL, observed_at TEXT NOT NULL, reported_at ${t.int} NOT NULL,
       origin TEXT, stale_after_ms ${t.int}, actor TEXT NOT NULL, records TEXT NOT NULL)`,
    'CREATE INDEX eg_usage_reports_source ON eg_usage_reports (source, id)',
    `CREATE TABLE eg_sources (name TEXT PRIMARY KEY, report_id ${t.int} NOT NULL REFERENCES eg_usage_reports (id))`,
    `CREATE TABLE eg_reservations (id TEXT PRIMARY KEY, state TEXT NOT NULL, created_at ${t.int} NOT NULL, expires_at ${t.int},
       actor TEXT NOT NULL, updated_at ${t.int} NOT NULL, updated_by TEXT NOT NULL)`,
    "CREATE INDEX eg_reservations_held ON eg_reservations (expires_at) WHERE state = 'held'",
    `CREATE TABLE eg_reservation_lines (reservation_id TEXT NOT NULL REFERENCES eg_reservations (id), n INTEGER NOT NULL,
       product TEXT NOT NULL, quantity ${t.real} NOT NULL, scope TEXT NOT NULL, resource TEXT, expires_at ${t.int},
       counts INTEGER NOT NULL, settled_at ${t.int}, PRIMARY KEY (reservation_id, n))`,
    'CREATE INDEX eg_lines_counting ON eg_reservation_lines (product, resource) WHERE counts = 1',
    'CREATE INDEX eg_lines_expiring ON eg_reservation_lines (product, expires_at) WHERE counts = 1',
    // What counting lines hold, summed per product and scope: a step reads a few
    // rows, however many reservations are open. Kept in step with the lines'
    // \`counts\` flag by every write that sets it (stores do both in one transaction).
    `CREATE TABLE eg_held (product TEXT NOT NULL, scope TEXT NOT NULL, quantity ${t.real} NOT NULL, PRIMARY KEY (product, scope))`,
  ];
}

// Exceptions, findings (time to remediate), and tokens limited to products or scopes (issue 18).
function v20(t: Types): string[] {
  return [
    'ALTER TABLE eg_tokens ADD COLUMN products TEXT',
    'ALTER TABLE eg_tokens ADD COLUMN scope TEXT',
    `CREATE TABLE eg_exceptions (id ${t.serial}, product TEXT NOT NULL, quantity ${t.real} NOT NULL, scope TEXT NOT NULL,
       until TEXT NOT NULL, until_ms ${t.int} NOT NULL, reason TEXT NOT NULL, ticket TEXT NOT NULL,
       requested_by TEXT NOT NULL, requested_at ${t.int} NOT NULL, state TEXT NOT NULL, approvals TEXT NOT NULL,
       active_from ${t.int}, ended_by TEXT, ended_at ${t.int}, end_reason TEXT)`,
    'CREATE INDEX eg_exceptions_state ON eg_exceptions (state, until_ms)',
    // Over capacity in a scope, from when the ledger first saw it until it saw it back under (time to remediate).
    `CREATE TABLE eg_findings (id ${t.serial}, product TEXT NOT NULL, scope TEXT NOT NULL, over ${t.real} NOT NULL,
       opened_at ${t.int} NOT NULL, closed_at ${t.int})`,
    // At most one open finding per product and scope, whichever replica saw it first.
    'CREATE UNIQUE INDEX eg_findings_open ON eg_findings (product, scope) WHERE closed_at IS NULL',
    'CREATE INDEX eg_findings_closed ON eg_findings (closed_at)',
  ];
}

// Daily usage per product and scope (scope '*' is the product's total), for the
// dashboard's history and forecast; eg_history_last holds each series' latest
// value, so a report that no longer names a series records it falling to zero.
function v30(t: Types): string[] {
  return [
    `CREATE TABLE eg_history (product TEXT NOT NULL, scope TEXT NOT NULL, day TEXT NOT NULL, peak ${t.real} NOT NULL,
       total ${t.real} NOT NULL, samples ${t.int} NOT NULL, last ${t.real} NOT NULL, PRIMARY KEY (product, scope, day))${t.clustered}`,
    `CREATE TABLE eg_history_last (product TEXT NOT NULL, scope TEXT NOT NULL, last ${t.real} NOT NULL, PRIMARY KEY (product, scope))`,
  ];
}

// The decision log (issue 18): append-only records chained by hash, the chain
// head (one row: on PostgreSQL the lock every append takes, so the chain is a
// total order across replicas), and signed checkpoints. Triggers refuse to
// change or delete a record, except deleting records retention pruned past
// (up to eg_log_head.pruned_through, which pruneLog moves in the same transaction).
function v10(t: Types, dialect: Dialect): string[] {
  const tables = [
    // at: the record's ISO-8601 text (UTC, milliseconds): it sorts as time does, and verify reads it as it was hashed.
    `CREATE TABLE eg_log (seq ${t.int} PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
       subject TEXT NOT NULL, details TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)`,
    'CREATE INDEX eg_log_at ON eg_log (at)',
    `CREATE TABLE eg_log_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq ${t.int} NOT NULL, hash TEXT NOT NULL,
       pruned_through ${t.int} NOT NULL)`,
    `INSERT INTO eg_log_head (id, seq, hash, pruned_through) VALUES (1, 0, '${'0'.repeat(64)}', 0)`,
    `CREATE TABLE eg_checkpoints (seq ${t.int} PRIMARY KEY, hash TEXT NOT NULL, at TEXT NOT NULL, key_id TEXT NOT NULL,
       public_key TEXT NOT NULL, signature TEXT NOT NULL)`,
  ];
  if (dialect === 'sqlite')
    return [
      ...tables,
      "CREATE TRIGGER eg_log_no_update BEFORE UPDATE ON eg_log BEGIN SELECT RAISE(ABORT, 'the decision log is append-only: a record cannot be changed'); END",
      `CREATE TRIGGER eg_log_no_delete BEFORE DELETE ON eg_log WHEN OLD.seq > (SELECT pruned_through FROM eg_log_head WHERE id = 1)
         BEGIN SELECT RAISE(ABORT, 'the decision log is append-only: a record cannot be deleted (retention prunes it)'); END`,
      "CREATE TRIGGER eg_checkpoints_no_update BEFORE UPDATE ON eg_checkpoints BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END",
      "CREATE TRIGGER eg_checkpoints_no_delete BEFORE DELETE ON eg_checkpoints BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END",
    ];
  return [
    ...tables,
    `CREATE FUNCTION eg_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF TG_OP = 'DELETE' AND OLD.seq <= (SELECT pruned_through FROM eg_log_head WHERE id = 1) THEN RETURN OLD; END IF;
       RAISE EXCEPTION 'the decision log is append-only: % of a record refused (retention prunes it)', TG_OP;
     END $$`,
    'CREATE TRIGGER eg_log_append_only BEFORE UPDATE OR DELETE ON eg_log FOR EACH ROW EXECUTE FUNCTION eg_log_guard()',
    `CREATE FUNCTION eg_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP; END $$`,
    'CREATE TRIGGER eg_log_no_truncate BEFORE TRUNCATE ON eg_log FOR EACH STATEMENT EXECUTE FUNCTION eg_append_only()',
    'CREATE TRIGGER eg_checkpoints_append_only BEFORE UPDATE OR DELETE ON eg_checkpoints FOR EACH ROW EXECUTE FUNCTION eg_append_only()',
    'CREATE TRIGGER eg_checkpoints_no_truncate BEFORE TRUNCATE ON eg_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION eg_append_only()',
  ];
}

// Reservations a client names (issue 17): a key like an Idempotency-Key, so a
// second reserve under it while the first holds returns the first (run-task
// stages on different replicas); and each line's target, the quantity its
// resource is at once the change has landed, so a report of the old version
// does not settle it. NULL on older rows: any report naming them settles, as before.
function v40(t: Types): string[] {
  return [
    'ALTER TABLE eg_reservations ADD COLUMN reservation_key TEXT',
    'CREATE INDEX eg_reservations_key ON eg_reservations (reservation_key, created_at) WHERE reservation_key IS NOT NULL',
    `ALTER TABLE eg_reservation_lines ADD COLUMN target ${t.real}`,
  ];
}

// A token may be limited to the sources it reports as (names or globs).
function v70(): string[] {
  return ['ALTER TABLE eg_tokens ADD COLUMN sources TEXT'];
}

// Denied decisions, newest first, for the platform view's recent denials: a
// partial index over the log's own order, so reading the latest denials walks
// only denials, whatever the log's length. A decision's details are RFC 8785
// JSON (keys sorted), so `allowed` is always their first key; the same text
// in both dialects, no JSON functions.
export const DENIED_DECISION = `action = 'decision' AND details LIKE '{"allowed":false,%'`;

// The steps that write the daily history (a usage report, a confirmation, a
// release), for the newest of them: the version every product's forecast is
// kept under, which decisions (most of the log) do not move.
export const HISTORY_STEP = `action IN ('usage.report', 'reservation.confirm', 'reservation.release')`;

function v55(): string[] {
  return [
    `CREATE INDEX eg_log_denials ON eg_log (seq) WHERE ${DENIED_DECISION}`,
    `CREATE INDEX eg_log_history ON eg_log (seq) WHERE ${HISTORY_STEP}`,
  ];
}

// PostgreSQL chains decision-log records where it holds the chain head: the
// step's writes, this call and COMMIT go in one round trip, so the head (and
// the step's product locks) are no longer held across a round trip to the
// ledger while it hashes. The hash is chain.ts's recordHash: the ledger sends
// each record's body split around its seq (bodyAroundSeq); this adds the seq
// and prevHash. SQLite has one writer and chains in the ledger: nothing to add.
function v60(dialect: Dialect): string[] {
  if (dialect === 'sqlite') return [];
  return [
    `CREATE FUNCTION eg_log_append(recs jsonb) RETURNS void LANGUAGE plpgsql AS $$
     DECLARE
       s bigint;
       h text;
       nh text;
       r jsonb;
     BEGIN
       SELECT seq, hash INTO s, h FROM eg_log_head WHERE id = 1 FOR UPDATE;
       FOR r IN SELECT e.value FROM jsonb_array_elements(recs) WITH ORDINALITY AS e (value, n) ORDER BY e.n LOOP
         s := s + 1;
         nh := encode(sha256(convert_to(h || (r->>'pre') || s::text || (r->>'post'), 'UTF8')), 'hex');
         INSERT INTO eg_log (seq, at, actor, action, subject, details, prev_hash, hash)
           VALUES (s, r->>'at', r->>'actor', r->>'action', r->>'subject', r->>'details', h, nh);
         h := nh;
       END LOOP;
       UPDATE eg_log_head SET seq = s, hash = h WHERE id = 1;
     END $$`,
  ];
}

// The decision log's search (the audit view): what each record names, products
// and resources, in a side table written with the record (ledger/audit/refs.ts),
// and indexes for actor and action, so a filtered page newest first walks one
// index, not the log. An index, not evidence: verify never reads it. Existing
// records are indexed by the store when it applies this version (backfillLogRefs).
export const LOG_REFS_VERSION = 80;

function v80(t: Types): string[] {
  return [
    `CREATE TABLE eg_log_refs (kind TEXT NOT NULL, value TEXT NOT NULL, seq ${t.int} NOT NULL, PRIMARY KEY (kind, value, seq))${t.clustered}`,
    // Retention deletes a pruned record's refs by seq.
    'CREATE INDEX eg_log_refs_seq ON eg_log_refs (seq)',
    'CREATE INDEX eg_log_actor ON eg_log (actor, seq)',
    'CREATE INDEX eg_log_action ON eg_log (action, seq)',
  ];
}

/**
 * Statements of each version, in order; the array index + 1 is the version.
 * Versions were handed out to parallel branches (10: the decision log, 20:
 * exceptions and findings, 30: history, 40: reservation keys and targets,
 * 55: indexes of denials and history steps, 60: the log chained in PostgreSQL,
 * 70: tokens' source limits, 80: the log's search), so the list has holes: a hole
 * applies nothing and is recorded like any version.
 */
export function migrations(dialect: Dialect): (string[] | undefined)[] {
  const t = TYPES[dialect];
  const list: (string[] | undefined)[] = [v1(t)];
  list[9] = v10(t, dialect);
  list[19] = v20(t);
  list[29] = v30(t);
  list[39] = v40(t);
  list[54] = v55();
  list[59] = v60(dialect);
  list[69] = v70();
  list[LOG_REFS_VERSION - 1] = v80(t);
  return list;
}

/** The version a freshly migrated store is at. */
export const SCHEMA_VERSION = migrations('sqlite').length;

export const MIGRATIONS_TABLE = 'eg_migrations';
