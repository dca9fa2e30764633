// STORE on the command line: a postgres:// URL, or a path for the embedded store.
import { resolve } from 'node:path';
import { PostgresStore } from './postgres.ts';
import { SqliteStore } from './sqlite.ts';
import { ThreadedSqliteStore, canThread } from './sqlite-thread.ts';
import type { Store } from './types.ts';

export function isPostgresUrl(spec: string): boolean {
  return /^postgres(ql)?:\/\//i.test(spec);
}

/**
 * Opens and migrates the store; a store it cannot open or migrate is an EG_ERR_LEDGER_STORE (exit 2).
 * With `thread`, the embedded store runs in a worker thread (the server: its commits do not stall
 * the event loop); one-shot commands keep it on their own thread (no thread to start, no message per page).
 * A build without the worker's file beside this module (the single executable) runs it in-process.
 */
export async function openStore(spec: string, opts: { thread?: boolean } = {}): Promise<Store> {
  const store = isPostgresUrl(spec)
    ? new PostgresStore(spec)
    : opts.thread && canThread()
      ? new ThreadedSqliteStore(resolve(spec))
      : new SqliteStore(resolve(spec));
  try {
    await store.migrate();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  return store;
}
