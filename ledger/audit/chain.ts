// The decision log's records and their hash chain (docs/ledger.md, "The
// decision log"): hash = SHA-256(prevHash ‖ RFC 8785 JSON of the record's
// other fields). Both stores chain with this one function, and `audit verify`
// recomputes with it.
import { hash as digest } from 'node:crypto';
import { canonicalJson } from './canonical.ts';

/** What a write appends to the log; the store gives it its seq and hashes. */
export interface LogEntry {
  /** Epoch ms of the ledger's clock; the store's clock when left out. */
  at?: number;
  /** `token:NAME`, `cli`, `ttl`, `retention`, … */
  actor: string;
  /** `decision`, `reservation.confirm`, `usage.report`, `token.create`, `config.load`, … */
  action: string;
  /** What the action is about: a reservation id, a source, a token's name, a config digest. */
  subject: string;
  details: Record<string, unknown>;
}

export interface LogRecord {
  seq: number;
  /** ISO-8601 (milliseconds, UTC). */
  at: string;
  actor: string;
  action: string;
  subject: string;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/** A record as the store holds it: `details` as the RFC 8785 text it was hashed over, unparsed. */
export interface StoredLogRecord extends Omit<LogRecord, 'details'> {
  detailsJson: string;
}

/** The prevHash of record 1. */
export const GENESIS = '0'.repeat(64);

/**
 * SHA-256(prevHash ‖ RFC 8785 JSON of {seq, at, actor, action, subject, details}).
 * Written out in RFC 8785's key order, so that a stored record's details text
 * (canonical when it was appended) is hashed as it is, without parsing it: a
 * changed text changes the hash, whatever it means. That keeps verify at
 * hundreds of thousands of records a second.
 */
export function recordHash(r: Omit<LogRecord, 'hash'> | Omit<StoredLogRecord, 'hash'>): string {
  const details = 'detailsJson' in r ? r.detailsJson : canonicalJson(r.details);
  const { pre, post } = bodyAroundSeq({ ...r, detailsJson: details });
  // The one-shot hash: no Hash object per record, whose native memory would wait for a GC (RSS grew with the log).
  return digest('sha256', r.prevHash + pre + canonicalJson(r.seq) + post, 'hex');
}

/**
 * The hashed body (after prevHash) up to the seq's digits and after them. A
 * store that numbers and hashes records where it holds the chain head (the
 * PostgreSQL function eg_log_append) hashes pre ‖ seq ‖ post, so both ways
 * give the hash audit verify recomputes.
 */
export function bodyAroundSeq(r: { action: string; actor: string; at: string; subject: string; detailsJson: string }): {
  pre: string;
  post: string;
} {
  return {
    pre: `{"action":${canonicalJson(r.action)},"actor":${canonicalJson(r.actor)},"at":${canonicalJson(r.at)},"details":${r.detailsJson},"seq":`,
    post: `,"subject":${canonicalJson(r.subject)}}`,
  };
}

/** The record's export line (JSON Lines), the same whether it was read parsed or stored. */
export function exportLine(r: LogRecord | StoredLogRecord): string {
  const details = 'detailsJson' in r ? r.detailsJson : JSON.stringify(r.details);
  return `{"seq":${r.seq},"at":${JSON.stringify(r.at)},"actor":${JSON.stringify(r.actor)},"action":${JSON.stringify(r.action)},"subject":${JSON.stringify(r.subject)},"details":${details},"prevHash":${JSON.stringify(r.prevHash)},"hash":${JSON.stringify(r.hash)}}\n`;
}

// Details go through JSON as an API answer would (Infinity becomes null, undefined
// goes), and lone surrogates are made well-formed: what is logged must hash.
const jsonSafe = (_k: string, v: unknown) => (typeof v === 'string' ? v.toWellFormed() : v);

/** An entry as it is recorded: its instant as ISO text, strings well-formed, details as JSON would carry them and their RFC 8785 text. */
export function recordedEntry(
  e: LogEntry,
  now = Date.now(),
): { at: string; actor: string; action: string; subject: string; details: Record<string, unknown>; detailsJson: string } {
  const details = JSON.parse(JSON.stringify(e.details ?? {}, jsonSafe)) as Record<string, unknown>;
  return {
    at: new Date(e.at ?? now).toISOString(),
    actor: e.actor.toWellFormed(),
    action: e.action.toWellFormed(),
    subject: e.subject.toWellFormed(),
    details,
    detailsJson: canonicalJson(details),
  };
}

/**
 * The records for `entries`, chained after the head, each with its details'
 * RFC 8785 text (what the store keeps, and what was hashed: written once).
 */
export function chainRecords(
  head: { seq: number; hash: string },
  entries: readonly LogEntry[],
  now = Date.now(),
): (LogRecord & { detailsJson: string })[] {
  let { seq, hash } = head;
  return entries.map((e) => {
    const r = { ...recordedEntry(e, now), seq: ++seq, prevHash: hash };
    hash = recordHash(r);
    return { ...r, hash };
  });
}
