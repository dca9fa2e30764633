// The decision log's records and their hash chain (docs/ledger.md, "The
// decision log"): hash = SHA-256(prevHash ‖ RFC 8785 JSON of the record's
// other fields). Both stores chain with this one function, and `audit verify`
// recomputes with it.
import { createHash } from 'node:crypto';
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

/** The prevHash of record 1. */
export const GENESIS = '0'.repeat(64);

export function recordHash(r: Omit<LogRecord, 'hash'>): string {
  const body = canonicalJson({ seq: r.seq, at: r.at, actor: r.actor, action: r.action, subject: r.subject, details: r.details });
  return createHash('sha256').update(r.prevHash).update(body).digest('hex');
}

// Details go through JSON as an API answer would (Infinity becomes null, undefined
// goes), and lone surrogates are made well-formed: what is logged must hash.
const jsonSafe = (_k: string, v: unknown) => (typeof v === 'string' ? v.toWellFormed() : v);

/** The records for `entries`, chained after the head. */
export function chainRecords(head: { seq: number; hash: string }, entries: readonly LogEntry[], now = Date.now()): LogRecord[] {
  let { seq, hash } = head;
  return entries.map((e) => {
    const r: Omit<LogRecord, 'hash'> = {
      seq: ++seq,
      at: new Date(e.at ?? now).toISOString(),
      actor: e.actor.toWellFormed(),
      action: e.action.toWellFormed(),
      subject: e.subject.toWellFormed(),
      details: JSON.parse(JSON.stringify(e.details ?? {}, jsonSafe)) as Record<string, unknown>,
      prevHash: hash,
    };
    hash = recordHash(r);
    return { ...r, hash };
  });
}
