// The decision log's rows in both stores, and their conversion to records.
import type { LogRecord, StoredLogRecord } from '../audit/chain.ts';
import type { Checkpoint } from '../audit/checkpoint.ts';

export interface LogRow {
  seq: number | string;
  at: string;
  actor: string;
  action: string;
  subject: string;
  details: string;
  prev_hash: string;
  hash: string;
}

export interface CheckpointRow {
  seq: number | string;
  hash: string;
  at: string;
  key_id: string;
  public_key: string;
  signature: string;
}

export const LOG_COLUMNS = 'seq, at, actor, action, subject, details, prev_hash, hash';
export const CHECKPOINT_COLUMNS = 'seq, hash, at, key_id, public_key, signature';

/** A page of the log's export lines (audit/chain.ts exportLine), joined by the database. */
export interface LogLines {
  /** The lines, each ending in a newline; empty when the page is. */
  text: string;
  count: number;
  /** The seq of the page's last record (0 when the page is empty). */
  lastSeq: number;
}

/**
 * The SQL of Store.logLines: each record's export line written by the database,
 * a page of them joined into one string. Exporting a million records then makes
 * one string per page in the reader instead of a row object, eight strings and
 * a line per record, and V8's heap stays small without forced collections
 * (docs/ledger.md, "Speed"). Both json_quote (SQLite) and to_json (PostgreSQL)
 * escape as JSON.stringify does; the conformance suite checks the lines are exportLine's.
 */
export function logLinesSql(dialect: 'sqlite' | 'postgres'): string {
  const q = (column: string) => (dialect === 'sqlite' ? `json_quote(${column})` : `to_json(${column})`);
  const [from, limit] = dialect === 'sqlite' ? ['?', '?'] : ['$1', '$2'];
  const line = [
    `'{"seq":' || seq`,
    `',"at":' || ${q('at')}`,
    `',"actor":' || ${q('actor')}`,
    `',"action":' || ${q('action')}`,
    `',"subject":' || ${q('subject')}`,
    `',"details":' || details`,
    `',"prevHash":' || ${q('prev_hash')}`,
    `',"hash":' || ${q('hash')}`,
    `'}' || ${dialect === 'sqlite' ? 'char(10)' : 'chr(10)'}`,
  ].join(' || ');
  return `SELECT max(seq) AS last, count(*) AS n, coalesce(string_agg(line, '' ORDER BY seq), '') AS text
    FROM (SELECT seq, ${line} AS line FROM eg_log WHERE seq >= ${from} ORDER BY seq LIMIT ${limit}) page`;
}

export function linesFrom(row: { last: number | string | null; n: number | string; text: string }): LogLines {
  return { text: row.text, count: Number(row.n), lastSeq: Number(row.last ?? 0) };
}

export function storedFrom(row: LogRow): StoredLogRecord {
  return {
    seq: Number(row.seq),
    at: row.at,
    actor: row.actor,
    action: row.action,
    subject: row.subject,
    detailsJson: row.details,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

export function parsed(r: StoredLogRecord): LogRecord {
  const { detailsJson, ...rest } = r;
  return { ...rest, details: JSON.parse(detailsJson) as Record<string, unknown> };
}

export function checkpointFrom(row: CheckpointRow): Checkpoint {
  return {
    seq: Number(row.seq),
    hash: row.hash,
    at: row.at,
    keyId: row.key_id,
    publicKey: row.public_key,
    signature: row.signature,
  };
}
