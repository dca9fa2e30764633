// The store contract against the embedded store and a private PostgreSQL.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrivatePostgres, postgresBin, startPostgres } from '../testing/postgres.ts';
import { storeConformance } from './conformance.ts';
import { migrations } from './migrations.ts';
import { openStore } from './open.ts';
import { SqliteStore } from './sqlite.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

storeConformance('embedded (node:sqlite)', {
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'eg-store-'));
    dirs.push(dir);
    const file = join(dir, 'ledger.db');
    return { store: await openStore(file), again: () => openStore(file) };
  },
  replicas: false,
});

let pg: PrivatePostgres | undefined;
let dbs = 0;
// CI installs PostgreSQL (scripts/install-postgres.sh); elsewhere the suite says why it did not run.
const havePg = postgresBin() !== null;
if (!havePg && process.env.CI) throw new Error('PostgreSQL is not installed: run scripts/install-postgres.sh');
describe.skipIf(!havePg)('PostgreSQL', () => {
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(() => pg?.destroy());
  storeConformance('PostgreSQL', {
    async open() {
      const name = `conf${++dbs}`;
      pg!.createDatabase(name);
      const url = pg!.url(name);
      return { store: await openStore(url), again: () => openStore(url) };
    },
    replicas: true,
  });

  it('replicas starting together migrate once, under the lock', async () => {
    pg!.createDatabase('together');
    const stores = await Promise.all(Array.from({ length: 4 }, () => openStore(pg!.url('together'))));
    for (const s of stores) expect(await s.schemaVersion()).toBe(migrations('postgres').length);
    await Promise.all(stores.map((s) => s.close()));
  });

  it('an unreachable server is a clear store error, not a stack trace', async () => {
    await expect(openStore('postgres://postgres:secret@127.0.0.1:1/none')).rejects.toThrow(
      /postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/none: .*(did not answer|migrating)/,
    );
  });
});

describe('embedded store', () => {
  it('refuses a store migrated by a newer entitlegate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eg-store-'));
    dirs.push(dir);
    const file = join(dir, 'ledger.db');
    const s = await openStore(file);
    await s.close();
    const raw = new SqliteStore(file);
    await raw.withProducts('all', async () => undefined);
    // Write a future version straight into the table.
    (raw as unknown as { db: { exec(sql: string): void } }).db.exec('INSERT INTO eg_migrations (version, applied_at) VALUES (99, 0)');
    await raw.close();
    await expect(openStore(file)).rejects.toThrow(/schema is version 99, newer than this entitlegate knows \(30\)/);
  });
});
