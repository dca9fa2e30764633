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

/**
 * Statements of each version, in order; the array index + 1 is the version.
 * Versions are given out to branches ahead of their merge, so the list may have
 * holes (undefined): a store skips them.
 */
export function migrations(dialect: Dialect): (string[] | undefined)[] {
  const t = TYPES[dialect];
  const list: (string[] | undefined)[] = [v1(t)];
  list[29] = v30(t);
  return list;
}

export const MIGRATIONS_TABLE = 'eg_migrations';
