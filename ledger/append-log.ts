// The seam of the decision log (issue 18 item 1, built on another branch):
// every exception step and token change calls appendLog inside its step, so
// the record commits or rolls back with the change it describes. Here it
// writes nothing; the hash-chained log replaces this module when merged.
import type { Actor, StoreTx } from './store/types.ts';

export interface LogEntry {
  actor: Actor;
  action: string;
  subject: string;
  details: Record<string, unknown>;
}

export async function appendLog(_tx: StoreTx | null, _entry: LogEntry): Promise<void> {}
