// One suite, run against every store (stores.test.ts): the contract in types.ts.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { logConformance } from './log-conformance.ts';
import { logSearchConformance } from './log-search-conformance.ts';
import { SCHEMA_VERSION } from './migrations.ts';
import type { HistoryDay, Reservation, Store } from './types.ts';

/** A connection straight to the database, past the store (as an attacker with its credentials). */
export interface RawDb {
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

export interface StoreFactory {
  /** A fresh, migrated store; `again` opens a second handle on the same data (another replica or a restart). */
  open(): Promise<{ store: Store; again: () => Promise<Store>; attacker: () => Promise<RawDb> }>;
  /** PostgreSQL: a second handle is another replica. The embedded store has one owner process, so its steps share one handle. */
  replicas: boolean;
}

/** The suites' instant, and a held reservation of `db` at it (store tests share these). */
export const T0 = Date.parse('2026-11-28T10:00:00Z');

export function reservation(id: string, quantity: number, opts: Partial<Reservation> = {}): Reservation {
  return {
    id,
    state: 'held',
    createdAt: T0,
    expiresAt: T0 + 60_000,
    actor: 'token:test',
    lines: [{ product: 'db', quantity, scope: { environment: 'prod' }, resource: `Deployment/prod/${id}` }],
    ...opts,
  };
}

/** What counts for `db` at `now`: every held and confirmed line's quantity. */
export async function counted(store: Store, now: number): Promise<number> {
  return store.withProducts(['db'], async (tx) => (await tx.countingLines(['db'], now)).reduce((a, l) => a + l.quantity, 0));
}

export function storeConformance(name: string, factory: StoreFactory): void {
  describe(`store contract: ${name}`, () => {
    it('migrates once: opening again finds the schema in place and keeps the data', async () => {
      const { store, again } = await factory.open();
      await store.ensureProducts(['db']);
      await store.withProducts(['db'], (tx) => tx.insertReservation(reservation('r1', 2)));
      const second = await again();
      expect(await second.schemaVersion()).toBe(SCHEMA_VERSION);
      expect(await counted(second, T0)).toBe(2);
      await second.close();
      await store.close();
    });

    it('counts held reservations until they expire, confirmed ones until released', async () => {
      const { store } = await factory.open();
      await store.ensureProducts(['db']);
      await store.withProducts(['db'], async (tx) => {
        await tx.insertReservation(reservation('held', 2));
        await tx.insertReservation(reservation('confirm-me', 3));
        await tx.insertReservation(reservation('release-me', 5));
      });
      expect(await counted(store, T0)).toBe(10);
      await store.withProducts(['db'], async (tx) => {
        await tx.setReservationState('confirm-me', 'confirmed', T0 + 1000, 'token:ci');
        await tx.setReservationState('release-me', 'released', T0 + 1000, 'token:ci');
      });
      expect(await counted(store, T0 + 1000)).toBe(5);
      // Past the TTL only the confirmed one counts, before and after the sweep.
      expect(await counted(store, T0 + 60_000)).toBe(3);
      const r = await store.withProducts(['db'], (tx) => tx.getReservation('held', T0 + 60_000));
      expect(r?.state).toBe('expired');
      expect(await store.expire(T0 + 60_000)).toBe(1);
      expect(await counted(store, T0 + 60_000)).toBe(3);
      const confirmed = await store.withProducts(['db'], (tx) => tx.getReservation('confirm-me', T0 + 120_000));
      expect(confirmed).toMatchObject({
        state: 'confirmed',
        expiresAt: null,
        lines: [{ product: 'db', quantity: 3, resource: 'Deployment/prod/confirm-me' }],
      });
      expect((await store.listReservations(T0 + 60_000, ['expired'], 10)).map((x) => x.id)).toEqual(['held']);
      expect((await store.listReservations(T0 + 60_000, ['released', 'confirmed'], 10)).map((x) => x.id).sort()).toEqual([
        'confirm-me',
        'release-me',
      ]);
      await store.close();
    });

    it('a usage report replaces the source’s previous one, keeps it as history, and settles reservations of the resources it names', async () => {
      const { store } = await factory.open();
      await store.ensureProducts(['db']);
      await store.withProducts(['db'], async (tx) => {
        await tx.insertReservation(reservation('a', 2));
        await tx.insertReservation({
          ...reservation('b', 1),
          lines: [
            { product: 'db', quantity: 1, scope: {}, resource: 'Deployment/prod/b1' },
            { product: 'db', quantity: 1, scope: {}, resource: 'Deployment/prod/b2' },
          ],
        });
      });
      const v0 = await store.withProducts('all', (tx) => tx.usageVersion());
      const settled = await store.withProducts('all', async (tx) => {
        await tx.putUsage(
          {
            source: 'cluster:one',
            observedAt: '2026-11-28T09:00:00Z',
            reportedAt: T0,
            staleAfterMs: 3_600_000,
            usage: [{ product: 'db', quantity: 4, scope: {} }],
          },
          'token:reporter',
        );
        await tx.putUsage(
          {
            source: 'cluster:one',
            observedAt: '2026-11-28T09:30:00Z',
            reportedAt: T0 + 1,
            staleAfterMs: null,
            origin: 'sam-export',
            usage: [
              { product: 'db', quantity: 2, scope: {}, resource: 'Deployment/prod/a' },
              { product: 'db', quantity: 1, scope: {}, resource: 'Deployment/prod/b1' },
            ],
          },
          'token:reporter',
        );
        return tx.settle(
          [
            { product: 'db', resource: 'Deployment/prod/a', quantity: 2 },
            { product: 'db', resource: 'Deployment/prod/b1', quantity: 1 },
          ],
          T0 + 1,
        );
      });
      expect(settled).toEqual(['a']);
      await store.withProducts('all', async (tx) => {
        expect(await tx.usageVersion()).toBe(v0 + 2);
        const current = await tx.currentUsage();
        expect(current).toHaveLength(1);
        expect(current[0]).toMatchObject({
          source: 'cluster:one',
          observedAt: '2026-11-28T09:30:00Z',
          origin: 'sam-export',
          staleAfterMs: null,
        });
        expect(current[0]!.usage).toHaveLength(2);
        expect(await tx.countingLines(['db'], T0 + 1)).toEqual([{ product: 'db', quantity: 1, scope: {}, resource: null }]);
        expect((await tx.getReservation('a', T0 + 1))?.state).toBe('settled');
        expect((await tx.getReservation('b', T0 + 1))?.state).toBe('held');
      });
      const history = await store.usageHistory('cluster:one', 10);
      expect(history.map((h) => h.observedAt)).toEqual(['2026-11-28T09:30:00Z', '2026-11-28T09:00:00Z']);
      expect(history[1]).toMatchObject({ staleAfterMs: 3_600_000, usage: [{ product: 'db', quantity: 4, scope: {} }] });
      await store.close();
    });

    it('a line with a target settles only once the report no longer shows the quantity from before its change', async () => {
      const { store, again } = await factory.open();
      await store.ensureProducts(['db']);
      // Resource X raised from 4 to 8 (the line adds 4, target 8); Y created at 2 (target 2); Z raised 4 → 8 then scaled down to 6.
      const line = (resource: string, quantity: number, target: number) => ({ product: 'db', quantity, scope: {}, resource, target });
      await store.withProducts(['db'], async (tx) => {
        await tx.insertReservation({ ...reservation('raise-x', 4), lines: [line('X', 4, 8)] });
        await tx.insertReservation({ ...reservation('create-y', 2), lines: [line('Y', 2, 2)] });
        await tx.insertReservation({ ...reservation('raise-z', 4), lines: [line('Z', 4, 8)] });
      });
      const report = (x: number, z: number) =>
        store.withProducts('all', (tx) =>
          tx.settle(
            [
              { product: 'db', resource: 'X', quantity: x },
              { product: 'db', resource: 'Z', quantity: z },
            ],
            T0 + 1,
          ),
        );
      // The old versions still run: nothing settles, all 10 still held.
      expect(await report(4, 4)).toEqual([]);
      expect(await counted(store, T0 + 1)).toBe(10);
      // X reached its target, Z was scaled down after its change (6: the report counts what runs now); Y is not reported yet.
      expect((await report(8, 6)).sort()).toEqual(['raise-x', 'raise-z']);
      expect(await counted(store, T0 + 1)).toBe(2);
      const reader = factory.replicas ? await again() : store;
      expect(await reader.withProducts(['db'], (tx) => tx.getReservation('raise-x', T0 + 1))).toMatchObject({
        state: 'settled',
        lines: [{ resource: 'X', quantity: 4, target: 8 }],
      });
      // A line without a target (made before targets were kept) settles on any report naming it, as before.
      await store.withProducts(['db'], (tx) =>
        tx.insertReservation({ ...reservation('old-row', 3), lines: [{ product: 'db', quantity: 3, scope: {}, resource: 'W' }] }),
      );
      expect(await store.withProducts('all', (tx) => tx.settle([{ product: 'db', resource: 'W', quantity: 1 }], T0 + 1))).toEqual([
        'old-row',
      ]);
      if (reader !== store) await reader.close();
      await store.close();
    });

    it('finds reservations by the client’s key from any handle: the newest made under it, whatever its state', async () => {
      const { store, again } = await factory.open();
      await store.ensureProducts(['db']);
      await store.withProducts(['db'], async (tx) => {
        await tx.insertReservation(reservation('first', 2, { key: 'run-task:run-1', createdAt: T0 }));
        await tx.insertReservation(reservation('unkeyed', 1));
      });
      await store.withProducts(['db'], (tx) => tx.setReservationState('first', 'released', T0 + 1, 'token:ci'));
      await store.withProducts(['db'], (tx) =>
        tx.insertReservation(reservation('second', 2, { key: 'run-task:run-1', createdAt: T0 + 2, expiresAt: T0 + 60_000 })),
      );
      const other = factory.replicas ? await again() : store;
      expect(await other.withProducts([], (tx) => tx.reservationByKey('run-task:run-1', T0 + 3))).toMatchObject({
        id: 'second',
        state: 'held',
        key: 'run-task:run-1',
      });
      expect(await other.withProducts([], (tx) => tx.reservationByKey('run-task:run-2', T0 + 3))).toBeNull();
      expect((await other.listReservations(T0 + 3, [], 10, 'run-task:run-1')).map((r) => [r.id, r.state])).toEqual([
        ['second', 'held'],
        ['first', 'released'],
      ]);
      expect((await other.listReservations(T0 + 3, ['held'], 10, 'run-task:run-1')).map((r) => r.id)).toEqual(['second']);
      expect((await other.listReservations(T0 + 3, ['held'], 10)).map((r) => r.id).sort()).toEqual(['second', 'unkeyed']);
      if (other !== store) await other.close();
      await store.close();
    });

    it('what counts is summed per product and scope, whatever the order of the scope’s keys', async () => {
      const { store } = await factory.open();
      await store.ensureProducts(['db', 'os']);
      await store.withProducts(['db', 'os'], async (tx) => {
        for (let i = 0; i < 50; i++) await tx.insertReservation(reservation(`p${i}`, 1));
        await tx.insertReservation({
          ...reservation('mixed', 0),
          lines: [
            { product: 'db', quantity: 2, scope: { region: 'eu', environment: 'dev' }, resource: null },
            { product: 'db', quantity: 3, scope: { environment: 'dev', region: 'eu' }, resource: null },
            { product: 'os', quantity: 7, scope: {}, resource: null },
          ],
        });
      });
      const lines = await store.withProducts(['db'], (tx) => tx.countingLines(['db'], T0));
      expect(lines).toEqual([
        { product: 'db', quantity: 5, scope: { environment: 'dev', region: 'eu' }, resource: null },
        { product: 'db', quantity: 50, scope: { environment: 'prod' }, resource: null },
      ]);
      await store.withProducts(['db', 'os'], (tx) => tx.setReservationState('mixed', 'released', T0, 'token:x'));
      expect(await store.withProducts(['db', 'os'], (tx) => tx.countingLines(['db', 'os'], T0))).toEqual([
        { product: 'db', quantity: 50, scope: { environment: 'prod' }, resource: null },
      ]);
      await store.close();
    });

    it('keeps tokens by hash only and finds them by it', async () => {
      const { store } = await factory.open();
      await store.createToken({ id: 't1', name: 'ci', roles: ['gate', 'reporter'], createdAt: T0, hash: 'sha256:abc' }, 'cli');
      expect(await store.findToken('sha256:abc')).toEqual({ id: 't1', name: 'ci', roles: ['gate', 'reporter'], createdAt: T0 });
      expect(await store.findToken('sha256:other')).toBeNull();
      await expect(
        store.createToken({ id: 't2', name: 'again', roles: ['gate'], createdAt: T0, hash: 'sha256:abc' }, 'cli'),
      ).rejects.toThrow();
      await store.close();
    });

    it('tokens: limits kept, listed without hashes, revoked once and then found as revoked', async () => {
      const { store } = await factory.open();
      await store.createToken(
        {
          id: 't1',
          name: 'eu-gate',
          roles: ['gate'],
          createdAt: T0,
          hash: 'sha256:t1',
          products: ['db'],
          scope: { region: 'eu', environment: 'prod' },
          sources: ['cluster:eu-*'],
        },
        'cli',
      );
      await store.createToken({ id: 't2', name: 'all', roles: ['viewer', 'approver'], createdAt: T0 + 1, hash: 'sha256:t2' }, 'cli');
      expect(await store.findToken('sha256:t1')).toEqual({
        id: 't1',
        name: 'eu-gate',
        roles: ['gate'],
        createdAt: T0,
        products: ['db'],
        scope: { environment: 'prod', region: 'eu' },
        sources: ['cluster:eu-*'],
      });
      const list = await store.listTokens();
      expect(list.map((t) => t.id)).toEqual(['t1', 't2']);
      expect(JSON.stringify(list)).not.toContain('sha256:');
      expect(await store.revokeToken('t2', T0 + 5, 'token:admin')).toBe(true);
      expect(await store.revokeToken('t2', T0 + 6, 'token:admin')).toBe(false);
      expect(await store.revokeToken('nope', T0 + 6, 'token:admin')).toBe(false);
      expect(await store.findToken('sha256:t2')).toMatchObject({ id: 't2', revokedAt: T0 + 5 });
      await store.close();
    });

    it('exceptions: ids from the store, every write bumps the usage version, active ones until their until', async () => {
      const { store, again } = await factory.open();
      await store.ensureProducts(['db', 'os']);
      const base = {
        quantity: 4,
        scope: { environment: 'prod' },
        until: '2026-12-01',
        untilMs: Date.parse('2026-12-02T00:00:00Z'),
        reason: 'cutover',
        ticket: 'CHG-1',
        requestedBy: 'token:alice',
        requestedAt: T0,
        state: 'pending' as const,
        approvals: [],
        activeFrom: null,
        endedBy: null,
        endedAt: null,
        endReason: null,
      };
      const v0 = await store.withProducts([], (tx) => tx.usageVersion());
      const [a, b] = await store.withProducts(['db', 'os'], async (tx) => [
        await tx.insertException({ ...base, product: 'db' }),
        await tx.insertException({
          ...base,
          product: 'os',
          quantity: 2.5,
          until: '2026-11-30T12:00:00Z',
          untilMs: Date.parse('2026-11-30T12:00:00Z'),
        }),
      ]);
      expect(a!.id).toMatch(/^exc-\d+$/);
      expect(b!.id).not.toBe(a!.id);
      // Another replica (or a restart) sees them, with what was written.
      const other = factory.replicas ? await again() : store;
      const got = await other.withProducts([], (tx) => tx.getException(a!.id));
      expect(got).toEqual({ ...base, product: 'db', id: a!.id });
      expect(await other.withProducts([], (tx) => tx.getException('exc-999999'))).toBeNull();
      expect(await other.withProducts([], (tx) => tx.getException('EXC-7'))).toBeNull();
      await store.withProducts(['db', 'os'], async (tx) => {
        await tx.updateException({
          ...a!,
          state: 'active',
          approvals: [{ actor: 'token:bob', at: T0 + 10, reason: 'ok' }],
          activeFrom: T0 + 10,
        });
        await tx.updateException({
          ...b!,
          state: 'active',
          approvals: [{ actor: 'token:bob', at: T0 + 10, reason: null }],
          activeFrom: T0 + 10,
        });
      });
      expect(await store.withProducts([], (tx) => tx.usageVersion())).toBe(v0 + 4);
      const active = await store.withProducts([], (tx) => tx.activeExceptions(Date.parse('2026-12-01T00:00:00Z')));
      expect(active).toEqual([
        expect.objectContaining({
          id: a!.id,
          state: 'active',
          activeFrom: T0 + 10,
          approvals: [{ actor: 'token:bob', at: T0 + 10, reason: 'ok' }],
        }),
      ]);
      await store.withProducts(['db'], (tx) =>
        tx.updateException({ ...a!, state: 'revoked', endedBy: 'token:carol', endedAt: T0 + 20, endReason: 'done' }),
      );
      expect(await store.withProducts([], (tx) => tx.activeExceptions(T0))).toEqual([
        expect.objectContaining({ id: b!.id, quantity: 2.5 }),
      ]);
      expect((await store.listExceptions([], 10)).map((x) => x.id)).toEqual([b!.id, a!.id]);
      expect(await store.listExceptions(['revoked'], 10)).toEqual([
        expect.objectContaining({ id: a!.id, endedBy: 'token:carol', endedAt: T0 + 20, endReason: 'done' }),
      ]);
      // A step that throws takes its exception with it.
      await expect(
        store.withProducts(['db'], async (tx) => {
          await tx.insertException({ ...base, product: 'db' });
          throw new Error('refused');
        }),
      ).rejects.toThrow('refused');
      expect(await store.listExceptions([], 10)).toHaveLength(2);
      if (other !== store) await other.close();
      await store.close();
    });

    it('findings: one open per product and scope, whichever handle opens it; closed ones keep their times', async () => {
      const { store, again } = await factory.open();
      const other = factory.replicas ? await again() : store;
      const prod = { environment: 'prod', region: 'eu' };
      await Promise.all([
        store.withProducts([], (tx) => tx.openFinding({ product: 'db', scope: prod, over: 2, at: T0 })),
        other.withProducts([], (tx) => tx.openFinding({ product: 'db', scope: { region: 'eu', environment: 'prod' }, over: 2, at: T0 })),
      ]);
      await store.withProducts([], (tx) => tx.openFinding({ product: 'db', scope: prod, over: 5, at: T0 + 1000 }));
      expect(await store.withProducts([], (tx) => tx.openFindings())).toEqual([
        { product: 'db', scope: { environment: 'prod', region: 'eu' }, over: 5, openedAt: T0, closedAt: null },
      ]);
      await store.withProducts([], (tx) => tx.closeFinding('db', prod, T0 + 60_000));
      await store.withProducts([], (tx) => tx.openFinding({ product: 'db', scope: prod, over: 1, at: T0 + 120_000 }));
      await store.withProducts([], (tx) => tx.closeFinding('db', prod, T0 + 150_000));
      await store.withProducts([], (tx) => tx.openFinding({ product: 'os', scope: {}, over: 1, at: T0 + 200_000 }));
      expect(await store.listFindings(10)).toEqual([
        { product: 'os', scope: {}, over: 1, openedAt: T0 + 200_000, closedAt: null },
        { product: 'db', scope: prod, over: 1, openedAt: T0 + 120_000, closedAt: T0 + 150_000 },
        { product: 'db', scope: prod, over: 5, openedAt: T0, closedAt: T0 + 60_000 },
      ]);
      expect(await store.findingTotals()).toEqual({ open: 1, closed: 2, remediationMs: 90_000 });
      if (other !== store) await other.close();
      await store.close();
    });

    it('a step that throws leaves nothing behind', async () => {
      const { store } = await factory.open();
      await store.ensureProducts(['db']);
      await expect(
        store.withProducts(['db'], async (tx) => {
          await tx.insertReservation(reservation('half', 2));
          throw new Error('refused after writing');
        }),
      ).rejects.toThrow('refused after writing');
      expect(await counted(store, T0)).toBe(0);
      expect(await store.withProducts(['db'], (tx) => tx.getReservation('half', T0))).toBeNull();
      await store.close();
    });

    it('a step that throws among concurrent ones undoes only itself', async () => {
      const { store } = await factory.open();
      await store.ensureProducts(['db']);
      const step = (id: string, fail: boolean) =>
        store.withProducts(['db'], async (tx) => {
          await tx.insertReservation(reservation(id, 1));
          if (fail) throw new Error(`${id} refused`);
          return id;
        });
      const results = await Promise.allSettled([step('s1', false), step('s2', true), step('s3', false)]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(await counted(store, T0)).toBe(2);
      expect(await store.withProducts(['db'], (tx) => tx.getReservation('s2', T0))).toBeNull();
      await store.close();
    });

    it('steps on one product are serial across handles: check-then-reserve never overshoots', async () => {
      const { store, again } = await factory.open();
      const other = factory.replicas ? await again() : store;
      await store.ensureProducts(['db', 'other']);
      const capacity = 5;
      // Each step reads what counts, yields (as a real decision does), then reserves if it fits.
      const attempt = (s: Store, i: number) =>
        s.withProducts(['db', 'other'], async (tx) => {
          const used = (await tx.countingLines(['db'], T0)).reduce((a, l) => a + l.quantity, 0);
          await sleep(2);
          if (used + 1 > capacity) return false;
          await tx.insertReservation(reservation(`c${i}`, 1));
          return true;
        });
      const results = await Promise.all(Array.from({ length: 24 }, (_, i) => attempt(i % 2 ? store : other, i)));
      expect(results.filter(Boolean)).toHaveLength(capacity);
      expect(await counted(store, T0)).toBe(capacity);
      if (other !== store) await other.close();
      await store.close();
    });
    logConformance(factory);
    logSearchConformance(factory);

    it('keeps daily history: samples add to the day, the last value is remembered, bulk rows replace, reads carry the row before', async () => {
      const { store } = await factory.open();
      await store.withProducts('all', async (tx) => {
        await tx.recordHistory('2026-06-01', [
          { product: 'db', scope: '*', quantity: 4 },
          { product: 'db', scope: '{"environment":"prod"}', quantity: 4 },
        ]);
        await tx.recordHistory('2026-06-01', [{ product: 'db', scope: '*', quantity: 9 }]);
        await tx.recordHistory('2026-06-03', [{ product: 'db', scope: '*', quantity: 2.5 }]);
        expect((await tx.historyLast()).sort((a, b) => (a.scope < b.scope ? -1 : 1))).toEqual([
          { product: 'db', scope: '*', quantity: 2.5 },
          { product: 'db', scope: '{"environment":"prod"}', quantity: 4 },
        ]);
      });
      const day = (d: string, peak: number, total: number, samples: number, last: number, scope = '*'): HistoryDay => ({
        product: 'db',
        scope,
        day: d,
        peak,
        total,
        samples,
        last,
      });
      expect(await store.history('db', '2026-06-02', '2026-06-30')).toEqual([
        day('2026-06-01', 9, 13, 2, 9),
        day('2026-06-03', 2.5, 2.5, 1, 2.5),
        day('2026-06-01', 4, 4, 1, 4, '{"environment":"prod"}'),
      ]);
      await store.importHistory([day('2026-06-03', 7, 7, 1, 7), day('2026-06-04', 1, 1, 1, 1), day('2026-06-01', 1, 1, 1, 1, 'x')]);
      expect(await store.history('db', '2026-06-03', '2026-06-04')).toEqual([
        day('2026-06-01', 9, 13, 2, 9),
        day('2026-06-03', 7, 7, 1, 7),
        day('2026-06-04', 1, 1, 1, 1),
        day('2026-06-01', 1, 1, 1, 1, 'x'),
        day('2026-06-01', 4, 4, 1, 4, '{"environment":"prod"}'),
      ]);
      expect(await store.history('other', '2026-01-01', '2026-12-31')).toEqual([]);
      expect(await store.historyPeaks('*', '2026-06-02')).toEqual([{ product: 'db', peak: 7 }]);
      expect(await store.historyPeaks('*', '2026-06-05')).toEqual([]);
      await store.withProducts('all', async (tx) => {
        expect((await tx.historyLast()).find((s) => s.scope === '*')?.quantity).toBe(1);
      });
      await store.close();
    });
  });
}
