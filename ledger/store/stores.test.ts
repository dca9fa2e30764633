// The store contract against the embedded store and a private PostgreSQL.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Client as PgClient } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../../test/cli-harness.ts';
import { type PrivatePostgres, postgresBin, startPostgres } from '../testing/postgres.ts';
import { storeConformance } from './conformance.ts';
import { SCHEMA_VERSION } from './migrations.ts';
import { openStore } from './open.ts';
import { SqliteStore } from './sqlite.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

for (const thread of [false, true])
  storeConformance(thread ? 'embedded (node:sqlite), in a worker thread (ledger serve)' : 'embedded (node:sqlite)', {
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'eg-store-'));
      dirs.push(dir);
      const file = join(dir, 'ledger.db');
      return {
        store: await openStore(file, { thread }),
        again: () => openStore(file, { thread }),
        attacker: async () => {
          const db = new DatabaseSync(file, { timeout: 5000 });
          return { exec: async (sql: string) => db.exec(sql), close: async () => db.close() };
        },
      };
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
      return {
        store: await openStore(url),
        again: () => openStore(url),
        attacker: async () => {
          const db = new PgClient({ connectionString: url });
          await db.connect();
          return {
            exec: async (sql: string) => {
              await db.query(sql);
            },
            close: () => db.end(),
          };
        },
      };
    },
    replicas: true,
  });

  it('replicas starting together migrate once, under the lock', async () => {
    pg!.createDatabase('together');
    const stores = await Promise.all(Array.from({ length: 4 }, () => openStore(pg!.url('together'))));
    for (const s of stores) expect(await s.schemaVersion()).toBe(SCHEMA_VERSION);
    await Promise.all(stores.map((s) => s.close()));
  });

  it('audit verify --store postgres://… checks the log in the database, and names a changed record (exit 1)', async () => {
    pg!.createDatabase('audit');
    const url = pg!.url('audit');
    const store = await openStore(url);
    await store.withProducts([], async (tx) => {
      for (let i = 1; i <= 5; i++) await tx.appendLog({ at: 0, actor: 'token:ci', action: 'decision', subject: `r${i}`, details: { i } });
    });
    await store.close();
    const ok = await cli(['audit', 'verify', '--store', url]);
    expect(ok).toMatchObject({ code: 0, stdout: expect.stringMatching(/^the decision log verifies: records 1–5 \(5\)/) });
    const db = new PgClient({ connectionString: url });
    await db.connect();
    await db.query('DROP TRIGGER eg_log_append_only ON eg_log');
    await db.query(`UPDATE eg_log SET subject = 'someone else' WHERE seq = 3`);
    await db.end();
    const bad = await cli(['audit', 'verify', '--store', url]);
    expect(bad.stdout).toBe(
      'the decision log does not verify: record 3 (decision someone else) was changed: its content does not match its hash\n',
    );
    expect(bad.code).toBe(1);
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
    await expect(openStore(file)).rejects.toThrow(`schema is version 99, newer than this entitlegate knows (${SCHEMA_VERSION})`);
  });
});
