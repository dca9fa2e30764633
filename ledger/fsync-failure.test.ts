// A failed fsync of the embedded store's log is fatal (ledger/store/wal-sync.ts):
// the ledger answers 503 with why, its readiness fails, and `ledger serve`
// exits 2 with a clear message instead of serving from a store whose
// acknowledged writes may not be on disk.
import fs, { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadEngine } from '../config/load.ts';
import { createToken } from './auth.ts';
import { Ledger } from './ledger.ts';
import { createLedgerToken } from './serve.ts';
import { buildLedgerServer } from './server.ts';
import { SqliteStore } from './store/sqlite.ts';
import type { Fsync } from './store/wal-sync.ts';
import { TEST_CONFIG } from './testing/harness.ts';
import { type LedgerProcess, startLedgerProcess } from './testing/process.ts';

const FAILING_FSYNC = resolve(import.meta.dirname, 'testing/failing-fsync.ts');
const dirs: string[] = [];
const running: LedgerProcess[] = [];
afterAll(async () => {
  await Promise.all(running.map((p) => p.kill()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function newDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'eg-fsync-fail-'));
  dirs.push(dir);
  return dir;
}

const claim = (name: string) => ({
  claims: [{ product: 'os', quantity: 1, scope: {}, resource: { kind: 'Deployment', name, namespace: 'prod' } }],
  reserve: true,
});

// biome-ignore lint/suspicious/noExplicitAny: test-only reader of JSON answers
type Answer = { status: number; json: any };

async function call(url: string, token: string | null, method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(url + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: await res.json() };
}

const STOPPED = /the embedded store stopped: fsync of .*ledger\.db-wal failed: EIO/;

describe('the embedded store’s fsync fails', () => {
  it('the ledger answers 503 with why, and its readiness fails', async () => {
    const file = join(newDir(), 'ledger.db');
    let broken = false;
    const fsync: Fsync = (fd, done) =>
      broken ? setImmediate(() => done(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }))) : fs.fsync(fd, done);
    const store = new SqliteStore(file, { fsync });
    await store.migrate();
    const { config, engine } = await loadEngine(TEST_CONFIG, []);
    const ledger = new Ledger({ store, engine, config, clock: () => new Date('2026-06-01T10:00:00Z') });
    await ledger.start();
    const app = await buildLedgerServer({ ledger, logger: false, intervalMs: 0 });
    try {
      const url = await app.listen({ port: 0, host: '127.0.0.1' });
      const gate = (await createToken(store, 'gate', ['gate'], new Date('2026-01-01T00:00:00Z'), 'test')).token;
      expect((await call(url, gate, 'POST', '/v1/decisions', claim('a'))).json.reservation).toBeDefined();
      expect((await call(url, null, 'GET', '/readyz')).status).toBe(200);

      broken = true;
      const failed = await call(url, gate, 'POST', '/v1/decisions', claim('b'));
      expect(failed.status).toBe(503);
      expect(failed.json.error.message).toMatch(STOPPED);
      const ready = await call(url, null, 'GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.json.message).toMatch(STOPPED);
      // Not retried: the disk works again, the store still refuses.
      broken = false;
      expect((await call(url, gate, 'POST', '/v1/decisions', claim('c'))).status).toBe(503);
    } finally {
      await app.close();
      await store.close();
    }
  });

  it('ledger serve (store in its worker thread) exits 2 with the reason', async () => {
    const dir = newDir();
    const store = join(dir, 'ledger.db');
    const flag = join(dir, 'fail-fsync');
    const gate = (await createLedgerToken({ store, name: 'gate', roles: ['gate'], now: new Date() })).token;
    const ledger = await startLedgerProcess({
      config: TEST_CONFIG,
      store,
      nodeArgs: ['--import', FAILING_FSYNC],
      env: { EG_TEST_FSYNC_FAIL: flag },
    });
    running.push(ledger);
    const exited = new Promise<number | null>((r) => ledger.child.once('exit', (code) => r(code)));
    expect((await call(ledger.url, gate, 'POST', '/v1/decisions', claim('a'))).json.reservation).toBeDefined();

    writeFileSync(flag, '');
    const failed = await call(ledger.url, gate, 'POST', '/v1/decisions', claim('b'));
    expect(failed.status).toBe(503);
    expect(failed.json.error.message).toMatch(STOPPED);
    expect(await exited).toBe(2);
    expect(ledger.log()).toMatch(new RegExp(`entitlegate: .*${STOPPED.source}`));
    expect(ledger.log()).not.toMatch(/\n\s+at /);
  });
});
