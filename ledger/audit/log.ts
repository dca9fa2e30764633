// The one way to write to the decision log: inside a store step, so the record
// and the change it records commit (or roll back) together.
import type { StoreTx } from '../store/types.ts';
import type { LogEntry } from './chain.ts';

export type { LogEntry, LogRecord } from './chain.ts';

/**
 * Appends `entry` to the decision log in the step's transaction (`tx` from
 * Store.withProducts). The store gives it the next seq and chains its hash when
 * the step commits; a step that throws leaves no record.
 */
export function appendLog(tx: StoreTx, entry: LogEntry): Promise<void> {
  return tx.appendLog(entry);
}
