// The embedded store's grouped commits, in-process and with its connection in
// a worker thread (what `ledger serve` runs): steps that queue up while one
// runs share the next commit; a write that fails fails only its own step; a
// commit that fails fails exactly the steps of its group, and the next step
// sees the store as it was before that group.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { counted, reservation, T0 } from './conformance.ts';
import { openStore } from './open.ts';
import { ThreadedSqliteStore } from './sqlite-thread.ts';
import type { Store } from './types.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const held = (store: Store) => counted(store, T0);

function newFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'eg-groups-'));
  dirs.push(dir);
  return join(dir, 'ledger.db');
}

/**
 * A store whose commit fails when a step logs the subject `poison`: a trigger
 * adds a row breaking a deferred foreign key, which SQLite checks only at
 * COMMIT. Nothing in the store knows of it; the failure is SQLite's own.
 */
async function poisonedStore(thread: boolean, file = newFile()): Promise<Store> {
  const store = await openStore(file, { thread });
  await store.ensureProducts(['db']);
  const raw = new DatabaseSync(file, { timeout: 5000 });
  raw.exec(`CREATE TABLE poison (product TEXT REFERENCES eg_products (id) DEFERRABLE INITIALLY DEFERRED);
            CREATE TRIGGER poison_commit AFTER INSERT ON eg_log WHEN NEW.subject = 'poison'
            BEGIN INSERT INTO poison VALUES ('no such product'); END;`);
  raw.close();
  return store;
}

/** Runs `steps` as one group: they queue while a first step holds the connection, and share the commit after it. */
async function asOneGroup(store: Store, steps: ((s: Store) => Promise<unknown>)[]): Promise<PromiseSettledResult<unknown>[]> {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  const first = store.withProducts(['db'], async (tx) => {
    started();
    await tx.insertReservation(reservation('first', 1));
    await gate;
  });
  await running;
  const queued = steps.map((s) => s(store));
  open();
  await first;
  return Promise.allSettled(queued);
}

for (const thread of [false, true])
  describe(`embedded store, grouped commits${thread ? ', connection in a worker thread' : ''}`, () => {
    it(thread ? 'runs in a worker thread' : 'runs on the caller’s thread', async () => {
      const store = await poisonedStore(thread);
      expect(store instanceof ThreadedSqliteStore).toBe(thread);
      await store.close();
    });

    it('answers a step only once its commit is done: another connection already sees what it wrote', async () => {
      const file = newFile();
      const store = await poisonedStore(thread, file);
      const reader = new DatabaseSync(file, { readOnly: true });
      const find = reader.prepare('SELECT count(*) AS n FROM eg_reservations WHERE id = ?');
      const unseen: string[] = [];
      // Many steps at once, most of them in groups: each, when answered, is read back at once from outside the store.
      await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          store
            .withProducts(['db'], (tx) => tx.insertReservation(reservation(`r${i}`, 1)))
            .then(() => {
              if ((find.get(`r${i}`) as { n: number }).n !== 1) unseen.push(`r${i}`);
            }),
        ),
      );
      expect(unseen).toEqual([]);
      reader.close();
      await store.close();
    });

    it('a commit that fails fails exactly the steps of its group; the next step sees the store without them', async () => {
      const store = await poisonedStore(thread);
      const before = await store.logHead();
      const results = await asOneGroup(store, [
        (s) => s.withProducts(['db'], (tx) => tx.insertReservation(reservation('a', 2))),
        (s) =>
          s.withProducts(['db'], async (tx) => {
            await tx.insertReservation(reservation('b', 3));
            await tx.appendLog({ at: T0, actor: 'token:test', action: 'decision', subject: 'poison', details: {} });
          }),
        (s) => s.withProducts(['db'], (tx) => tx.insertReservation(reservation('c', 4))),
      ]);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
      for (const r of results)
        expect((r as PromiseRejectedResult).reason).toMatchObject({
          code: 'EG_ERR_LEDGER_STORE',
          message: expect.stringMatching(/failed to commit: FOREIGN KEY constraint failed/),
        });
      // Only the first group's reservation counts; none of the failed group's is there, nor its log record.
      expect(await held(store)).toBe(1);
      for (const id of ['a', 'b', 'c']) expect(await store.withProducts([], (tx) => tx.getReservation(id, T0))).toBeNull();
      expect((await store.logHead()).seq).toBe(before.seq);
      // The store goes on: the next step commits, against the true state.
      await store.withProducts(['db'], (tx) => tx.insertReservation(reservation('d', 5)));
      expect(await held(store)).toBe(6);
      await store.close();
    });

    it('a write that fails fails its own step only; the rest of its group commits', async () => {
      const store = await poisonedStore(thread);
      const results = await asOneGroup(store, [
        (s) => s.withProducts(['db'], (tx) => tx.insertReservation(reservation('a', 2))),
        // The same id again: the primary key refuses it. The step does not wait for its writes, so the refusal comes at its end.
        (s) =>
          s.withProducts(['db'], async (tx) => {
            await tx.insertReservation(reservation('b', 3));
            await tx.insertReservation(reservation('a', 3));
          }),
        (s) => s.withProducts(['db'], (tx) => tx.insertReservation(reservation('c', 4))),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/UNIQUE constraint failed/);
      expect(await held(store)).toBe(1 + 2 + 4);
      expect(await store.withProducts([], (tx) => tx.getReservation('b', T0))).toBeNull();
      await store.close();
    });

    it('a step whose callback throws leaves nothing, and its error is the caller’s own', async () => {
      const store = await poisonedStore(thread);
      const oops = new Error('the decision failed');
      await expect(
        store.withProducts(['db'], async (tx) => {
          await tx.insertReservation(reservation('x', 7));
          throw oops;
        }),
      ).rejects.toBe(oops);
      expect(await held(store)).toBe(0);
      await store.close();
    });
  });
