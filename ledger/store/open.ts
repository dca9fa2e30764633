// STORE on the command line: a postgres:// URL, or a path for the embedded store.
import { resolve } from 'node:path';
import { PostgresStore } from './postgres.ts';
import { SqliteStore } from './sqlite.ts';
import type { Store } from './types.ts';

export function isPostgresUrl(spec: string): boolean {
  return /^postgres(ql)?:\/\//i.test(spec);
}

/** Opens and migrates the store; a store it cannot open or migrate is an EG_ERR_LEDGER_STORE (exit 2). */
export async function openStore(spec: string): Promise<Store> {
  const store = isPostgresUrl(spec) ? new PostgresStore(spec) : new SqliteStore(resolve(spec));
  try {
    await store.migrate();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  return store;
}
