// The decision log's search in the store contract (run by conformance.ts on
// every store): what each record names goes to eg_log_refs with the record,
// searchLog reads it exactly and newest first, retention deletes the refs of
// the records it prunes, migration 80 indexes records appended before it, and
// the refs are an index, not evidence: changing them changes no verify result.
import { describe, expect, it } from 'vitest';
import { newSigningKeyPem, signCheckpoint, signingKeyFromPem } from '../audit/checkpoint.ts';
import type { LogEntry } from '../audit/chain.ts';
import { paged, verifyLog } from '../audit/verify.ts';
import type { StoreFactory } from './conformance.ts';
import type { LogSearch } from './log-search.ts';
import type { Store } from './types.ts';

const T0 = Date.parse('2026-11-28T10:00:00Z');
const key = signingKeyFromPem(newSigningKeyPem().privatePem, 'test');
const prod = { environment: 'prod' };

function decision(i: number, product: string, resource?: string): LogEntry {
  return {
    at: T0 + i * 1000,
    actor: i % 2 ? 'token:ci' : 'token:cd',
    action: 'decision',
    subject: product,
    details: {
      allowed: true,
      products: [{ product, capacity: 10 }],
      ...(resource ? { reservation: { id: `r${i}`, lines: [{ product, quantity: 1, scope: prod, resource }] } } : {}),
    },
  };
}

/** Records 1..6: decisions for db, db2 and os (with resources), a reservation confirmed and an exception approved (both about db). */
async function fill(store: Store): Promise<void> {
  await store.ensureProducts(['db', 'db2', 'os']);
  await store.withProducts(['db', 'db2', 'os'], async (tx) => {
    await tx.appendLog(decision(1, 'db', 'Deployment/shop/orders'));
    await tx.appendLog(decision(2, 'db2', 'Deployment/shop/orders-2'));
    await tx.appendLog(decision(3, 'os'));
    await tx.insertReservation({
      id: 'res-1',
      state: 'held',
      createdAt: T0,
      expiresAt: T0 + 60_000,
      actor: 'token:ci',
      lines: [{ product: 'db', quantity: 1, scope: prod, resource: 'Deployment/shop/api' }],
    });
    await tx.appendLog({ at: T0 + 4000, actor: 'token:ci', action: 'reservation.confirm', subject: 'res-1', details: { from: 'held' } });
    const x = await tx.insertException({
      product: 'db',
      quantity: 1,
      scope: prod,
      until: '2026-12-31',
      untilMs: Date.parse('2027-01-01'),
      reason: 'r',
      ticket: 'T',
      requestedBy: 'token:ci',
      requestedAt: T0,
      state: 'active',
      approvals: [],
      activeFrom: T0,
      endedBy: null,
      endedAt: null,
      endReason: null,
    });
    await tx.appendLog({ at: T0 + 5000, actor: 'token:boss', action: 'exception.approve', subject: x.id, details: { state: 'active' } });
    await tx.appendLog({
      at: T0 + 6000,
      actor: 'token:boss',
      action: 'token.create',
      subject: 'auditor-os',
      details: { products: ['os'] },
    });
  });
}

async function found(store: Store, q: Partial<LogSearch>): Promise<number[]> {
  return (await store.searchLog({ fromSeq: 1, beforeSeq: Number.MAX_SAFE_INTEGER, limit: 100, ...q })).map((r) => r.seq);
}

export function logSearchConformance(factory: StoreFactory): void {
  describe('decision log search', () => {
    it('finds records by what they name, exactly, newest first, within a seq range', async () => {
      const { store } = await factory.open();
      await fill(store);
      expect(await found(store, { product: 'db' })).toEqual([5, 4, 1]);
      expect(await found(store, { product: 'db2' })).toEqual([2]);
      expect(await found(store, { product: 'os' })).toEqual([6, 3]);
      expect(await found(store, { resource: 'Deployment/shop/orders' })).toEqual([1]);
      expect(await found(store, { resource: 'Deployment/shop/api' })).toEqual([4]);
      expect(await found(store, { product: 'db', resource: 'Deployment/shop/api' })).toEqual([4]);
      expect(await found(store, { actor: 'token:ci' })).toEqual([4, 3, 1]);
      expect(await found(store, { actor: 'token:ci', product: 'db' })).toEqual([4, 1]);
      expect(await found(store, { action: 'decision' })).toEqual([3, 2, 1]);
      expect(await found(store, { action: 'decision', actor: 'token:cd' })).toEqual([2]);
      expect(await found(store, {})).toEqual([6, 5, 4, 3, 2, 1]);
      expect(await found(store, { fromSeq: 2, beforeSeq: 5 })).toEqual([4, 3, 2]);
      expect(await found(store, { product: 'db', beforeSeq: 4, limit: 1 })).toEqual([1]);
      expect(await found(store, { limit: 2 })).toEqual([6, 5]);
      // Time: from the first record at or after fromAt, before the first at or after toAt.
      expect(await found(store, { fromAt: T0 + 2000, toAt: T0 + 5000 })).toEqual([4, 3, 2]);
      expect(await found(store, { product: 'db', fromAt: T0 + 1500 })).toEqual([5, 4]);
      expect(await found(store, { actor: 'token:ci', toAt: T0 + 3500 })).toEqual([3, 1]);
      expect(await found(store, { fromAt: T0 + 10_000 })).toEqual([]);
      expect(await found(store, { toAt: T0 + 10_000, limit: 1 })).toEqual([6]);
      const [r] = await store.searchLog({ fromSeq: 1, beforeSeq: 2, limit: 1 });
      expect(r).toMatchObject({ seq: 1, actor: 'token:ci', action: 'decision', subject: 'db', hash: expect.any(String) });
      await store.close();
    });

    it('retention deletes the refs of the records it prunes', async () => {
      const { store, attacker } = await factory.open();
      await fill(store);
      const [r] = await store.logRecords(3, 1);
      await store.addCheckpoint(signCheckpoint(key, 3, r!.hash, T0 + 100_000));
      const db = await attacker();
      // A ref (seq, kind, value) is a key: inserting one that is there fails, one that is gone does not.
      await expect(db.exec("INSERT INTO eg_log_refs (seq, kind, value) VALUES (1, 'product', 'db')")).rejects.toThrow();
      await store.pruneLog(3, { at: T0 + 7000, actor: 'retention', action: 'audit.prune', subject: 'through 3', details: { through: 3 } });
      await db.exec("INSERT INTO eg_log_refs (seq, kind, value) VALUES (1, 'product', 'db')");
      await db.exec("INSERT INTO eg_log_refs (seq, kind, value) VALUES (2, 'resource', 'Deployment/shop/orders-2')");
      await db.close();
      expect(await found(store, { product: 'db' })).toEqual([5, 4]);
      await store.close();
    });

    it('indexes the records appended before migration 80 when it applies', async () => {
      const { store, again, attacker } = await factory.open();
      await fill(store);
      const db = await attacker();
      for (const stmt of [
        'DROP TABLE eg_log_refs',
        'DROP INDEX eg_log_actor',
        'DROP INDEX eg_log_action',
        'DELETE FROM eg_migrations WHERE version = 80',
      ])
        await db.exec(stmt);
      await db.close();
      await store.close();
      const migrated = await again();
      expect(await found(migrated, { product: 'db' })).toEqual([5, 4, 1]);
      expect(await found(migrated, { resource: 'Deployment/shop/orders-2' })).toEqual([2]);
      expect(await found(migrated, { product: 'os', actor: 'token:boss' })).toEqual([6]);
      await migrated.close();
    });

    it('is an index, not evidence: refs deleted or forged change what search finds, never what verify says', async () => {
      const { store, attacker } = await factory.open();
      await fill(store);
      const check = () =>
        verifyLog({ checkpoints: () => store.checkpoints(), records: (from) => paged((s, l) => store.logRecords(s, l), from, 4) }, {});
      const before = await check();
      expect(before).toMatchObject({ ok: true, records: 6 });
      const db = await attacker();
      await db.exec("DELETE FROM eg_log_refs WHERE value = 'db'");
      await db.exec("INSERT INTO eg_log_refs (seq, kind, value) VALUES (2, 'product', 'db')");
      await db.close();
      expect(await found(store, { product: 'db' })).toEqual([2]);
      expect(await check()).toEqual(before);
      await store.close();
    });
  });
}
