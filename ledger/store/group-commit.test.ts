// Group commit on the embedded store (wal-sync.ts): commits are not fsynced at
// COMMIT (synchronous=NORMAL); a step is answered only once an fsync of the
// -wal file that began after its COMMIT has completed, later commits share the
// next fsync, and a failed fsync stops the store for good. The fsync is
// injected here, so the test holds it, releases it, or fails it.
import fs, { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from './sqlite.ts';
import type { Reservation } from './types.ts';
import type { Fsync } from './wal-sync.ts';

const T0 = Date.parse('2026-11-28T10:00:00Z');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function reservation(id: string, quantity: number): Reservation {
  return {
    id,
    state: 'held',
    createdAt: T0,
    expiresAt: T0 + 60_000,
    actor: 'token:test',
    lines: [{ product: 'db', quantity, scope: {}, resource: `Deployment/prod/${id}` }],
  };
}

interface Call {
  /** What another connection saw committed when this fsync began. */
  committed: string[];
  release(err?: NodeJS.ErrnoException): void;
}

/** The real fsync until `hold` is set; then each call waits for the test to release (or fail) it. */
function holdableFsync(file: string) {
  const calls: Call[] = [];
  const waiters: (() => void)[] = [];
  let reader: DatabaseSync | undefined;
  const committed = () => {
    reader ??= new DatabaseSync(file, { readOnly: true });
    return (reader.prepare('SELECT id FROM eg_reservations ORDER BY id').all() as { id: string }[]).map((r) => r.id);
  };
  const state = {
    hold: false,
    calls,
    committed,
    fsync: ((fd, done) => {
      if (!state.hold) return fs.fsync(fd, done);
      calls.push({ committed: committed(), release: (err) => done(err ?? null) });
      for (const w of waiters.splice(0)) w();
    }) as Fsync,
    /** Resolves once the n-th held fsync has begun. */
    async called(n: number): Promise<Call> {
      while (calls.length < n) await new Promise<void>((r) => waiters.push(r));
      return calls[n - 1]!;
    },
    close: () => reader?.close(),
  };
  return state;
}

/** The step's promise, and whether it has been answered yet. */
function track<T>(p: Promise<T>) {
  const t = { answered: false, promise: p };
  p.then(
    () => (t.answered = true),
    () => (t.answered = true),
  );
  return t;
}

async function openHeld() {
  const dir = mkdtempSync(join(tmpdir(), 'eg-groupcommit-'));
  dirs.push(dir);
  const file = join(dir, 'ledger.db');
  const f = holdableFsync(file);
  const fatal: Error[] = [];
  const store = new SqliteStore(file, { fsync: f.fsync, onFatal: (err) => fatal.push(err) });
  await store.migrate();
  await store.ensureProducts(['db']);
  f.hold = true;
  const reserveStep = (id: string, quantity = 1) =>
    store.withProducts(['db'], async (tx) => {
      const held = (await tx.countingLines(['db'], T0)).reduce((a, l) => a + l.quantity, 0);
      await tx.insertReservation(reservation(id, quantity));
      return held;
    });
  return { store, f, fatal, reserveStep };
}

/** Long enough for an answer that was not held back to arrive. */
const settle = () => sleep(30);

describe('embedded store, group commit', () => {
  it('answers a step only after an fsync that began after its COMMIT has completed', async () => {
    const { store, f, reserveStep } = await openHeld();
    const a = track(reserveStep('a'));
    const sync = await f.called(1);
    // The fsync began after the COMMIT: the step's row was already committed (another connection saw it).
    expect(sync.committed).toEqual(['a']);
    await settle();
    expect(a.answered).toBe(false);
    sync.release();
    await expect(a.promise).resolves.toBe(0);
    f.hold = false;
    f.close();
    await store.close();
  });

  it('commits made while an fsync is in flight are answered only after the next one, which starts when it ends', async () => {
    const { store, f, reserveStep } = await openHeld();
    const a = track(reserveStep('a', 2));
    const first = await f.called(1);
    // b is decided against a's commit, which is not yet synced, and commits while the first fsync is held.
    const b = track(reserveStep('b', 3));
    while (!f.committed().includes('b')) await sleep(1);
    await settle();
    expect(f.calls).toHaveLength(1);
    expect([a.answered, b.answered]).toEqual([false, false]);

    first.release();
    await expect(a.promise).resolves.toBe(0);
    const second = await f.called(2);
    expect(second.committed).toEqual(['a', 'b']);
    await settle();
    expect(b.answered).toBe(false);
    second.release();
    // b saw a's 2 held: it was decided against a's commit, and answered after an fsync that covers both.
    await expect(b.promise).resolves.toBe(2);
    f.hold = false;
    f.close();
    await store.close();
  });

  it('a failed fsync fails every step waiting on it and every later one, and the store stops', async () => {
    const { store, f, fatal, reserveStep } = await openHeld();
    const a = track(reserveStep('a'));
    const first = await f.called(1);
    const b = track(reserveStep('b'));
    while (!f.committed().includes('b')) await sleep(1);

    const eio: NodeJS.ErrnoException = Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
    first.release(eio);
    const why = {
      code: 'EG_ERR_LEDGER_STORE',
      message: expect.stringMatching(/the embedded store stopped: fsync of .*ledger\.db-wal failed: EIO/),
    };
    await expect(a.promise).rejects.toMatchObject(why);
    await expect(b.promise).rejects.toMatchObject(why);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject(why);

    // Nothing more is committed or retried: a later step fails without touching the file, and so does the store's health check.
    await expect(reserveStep('c')).rejects.toMatchObject(why);
    await expect(store.ping()).rejects.toMatchObject(why);
    expect(f.committed()).not.toContain('c');
    expect(f.calls).toHaveLength(1);
    f.close();
    await store.close();
  });
});
