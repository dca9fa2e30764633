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
