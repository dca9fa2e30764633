// The decision log's part of the store contract (run by conformance.ts on
// every store): records commit with their step, the chain is one total order,
// the store refuses changes, and `audit verify` names the first record an
// attacker with the database's credentials changed, deleted, inserted or
// reordered (after dropping the triggers, as such an attacker would), and a
// forged checkpoint.
import { describe, expect, it } from 'vitest';
import { exportLine, type LogEntry, recordHash } from '../audit/chain.ts';
import { newSigningKeyPem, type SigningKey, signCheckpoint, signingKeyFromPem } from '../audit/checkpoint.ts';
import { paged, verifyLog } from '../audit/verify.ts';
import type { StoreFactory } from './conformance.ts';
import type { Store } from './types.ts';

const T0 = Date.parse('2026-11-28T10:00:00Z');

const key: SigningKey = signingKeyFromPem(newSigningKeyPem().privatePem, 'test');
const otherKey: SigningKey = signingKeyFromPem(newSigningKeyPem().privatePem, 'other');

function entry(i: number): LogEntry {
  return {
    at: T0 + i * 1000,
    actor: 'token:ci',
    action: 'decision',
    subject: `r${i}`,
    details: { allowed: i % 3 !== 0, n: i, scope: { env: 'prod' } },
  };
}

async function append(store: Store, from: number, to: number): Promise<void> {
  await store.withProducts([], async (tx) => {
    for (let i = from; i <= to; i++) await tx.appendLog(entry(i));
  });
}

async function checkpoint(store: Store, seq: number, signer = key): Promise<void> {
  const [r] = await store.logRecords(seq, 1);
  await store.addCheckpoint(signCheckpoint(signer, r!.seq, r!.hash, T0 + 100_000));
}

function verify(store: Store, pinned = key) {
  return verifyLog(
    { checkpoints: () => store.checkpoints(), records: (from) => paged((s, l) => store.logRecords(s, l), from, 7) },
    { key: pinned.publicKey },
  );
}

const DROP: Record<Store['kind'], string[]> = {
  embedded: [
    'DROP TRIGGER eg_log_no_update',
    'DROP TRIGGER eg_log_no_delete',
    'DROP TRIGGER eg_checkpoints_no_update',
    'DROP TRIGGER eg_checkpoints_no_delete',
  ],
  postgres: ['DROP TRIGGER eg_log_append_only ON eg_log', 'DROP TRIGGER eg_checkpoints_append_only ON eg_checkpoints'],
};

export function logConformance(factory: StoreFactory): void {
  describe('decision log', () => {
    it('records commit with their step and chain in one order; a step that throws leaves none', async () => {
      const { store } = await factory.open();
      await append(store, 1, 3);
      await expect(
        store.withProducts([], async (tx) => {
          await tx.appendLog(entry(99));
          throw new Error('the change failed');
        }),
      ).rejects.toThrow('the change failed');
      await append(store, 4, 5);
      const records = await store.logRecords(1, 100);
      expect(records.map((r) => [r.seq, r.subject])).toEqual([
        [1, 'r1'],
        [2, 'r2'],
        [3, 'r3'],
        [4, 'r4'],
        [5, 'r5'],
      ]);
      expect(records[0]).toMatchObject({ at: '2026-11-28T10:00:01.000Z', actor: 'token:ci', action: 'decision', prevHash: '0'.repeat(64) });
      expect(records[1]!.prevHash).toBe(records[0]!.hash);
      expect(recordHash(records[4]!)).toBe(records[4]!.hash);
      expect(await store.logHead()).toEqual({ seq: 5, hash: records[4]!.hash, prunedThrough: 0 });
      expect((await verify(store)).ok).toBe(true);
      await store.close();
    });

    it('export lines written by the store are the records’ export lines, whatever their strings hold', async () => {
      const { store } = await factory.open();
      const odd = 'quote " backslash \\ newline \n tab \t bell \u0007 unit \u001f del \u007f é 😀 \u2028 </script>';
      await store.withProducts([], async (tx) => {
        for (let i = 1; i <= 5; i++)
          await tx.appendLog({
            at: T0 + i,
            actor: `token:${odd}`,
            action: 'decision',
            subject: `${odd}${i}`,
            details: { note: odd, n: i },
          });
      });
      const rows = await store.logRows(1, 100);
      const page = await store.logLines(2, 3);
      expect(page).toEqual({ text: rows.slice(1, 4).map(exportLine).join(''), count: 3, lastSeq: 4 });
      expect(
        page.text
          .split('\n')
          .slice(0, 3)
          .map((l) => JSON.parse(l).subject),
      ).toEqual([`${odd}2`, `${odd}3`, `${odd}4`]);
      expect(await store.logLines(5, 3)).toEqual({ text: exportLine(rows[4]!), count: 1, lastSeq: 5 });
      expect(await store.logLines(6, 3)).toEqual({ text: '', count: 0, lastSeq: 0 });
      await store.close();
    });

    it('hashes text of any kind as audit verify does: quotes, backslashes, control and non-ASCII characters, numbers', async () => {
      const { store } = await factory.open();
      const odd = 'é € 🔒 "quoted" back\\slash\nnew line\ttab \u0001 </script> \u2028';
      await store.withProducts([], async (tx) => {
        await tx.appendLog({
          at: T0,
          actor: `token:${odd}`,
          action: 'decision',
          subject: odd,
          details: { z: odd, a: [1e21, 0.1, -0, 2 ** 53 - 1], n: { b: null, a: true } },
        });
        await tx.appendLog({ at: T0 + 1, actor: 'token:ci', action: 'decision', subject: 'r2', details: {} });
      });
      const records = await store.logRecords(1, 10);
      expect(records.map((r) => r.subject)).toEqual([odd, 'r2']);
      for (const r of records) expect(recordHash(r)).toBe(r.hash);
      expect((await verify(store)).ok).toBe(true);
      await store.close();
    });

    it('token creation and expiry are recorded by the store itself', async () => {
      const { store } = await factory.open();
      await store.ensureProducts(['db']);
      await store.createToken({ id: 't1', name: 'deploy', roles: ['gate'], createdAt: T0, hash: 'sha256:secret' }, 'cli');
      await store.withProducts(['db'], (tx) =>
        tx.insertReservation({
          id: 'res1',
          state: 'held',
          createdAt: T0,
          expiresAt: T0 + 1000,
          actor: 'token:ci',
          lines: [{ product: 'db', quantity: 1, scope: {}, resource: null }],
        }),
      );
      await store.expire(T0 + 5000);
      const records = await store.logRecords(1, 10);
      expect(records.map((r) => [r.action, r.subject, r.actor])).toEqual([
        ['token.create', 'deploy', 'cli'],
        ['reservation.expire', 'res1', 'ttl'],
      ]);
      expect(JSON.stringify(records)).not.toContain('secret');
      await store.close();
    });

    it.runIf(factory.replicas)('steps on two replicas at once make one chain, without gaps', async () => {
      const { store, again } = await factory.open();
      const other = await again();
      await store.ensureProducts(['a', 'b']);
      await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? store : other).withProducts([i % 2 ? 'a' : 'b'], (tx) => tx.appendLog(entry(i)))),
      );
      const r = await verify(store);
      expect(r).toMatchObject({ ok: true, records: 40, firstSeq: 1, lastSeq: 40 });
      await other.close();
      await store.close();
    });

    it('refuses to change or delete a record or a checkpoint', async () => {
      const { store, attacker } = await factory.open();
      await append(store, 1, 3);
      await checkpoint(store, 3);
      const db = await attacker();
      await expect(db.exec("UPDATE eg_log SET details = '{}' WHERE seq = 2")).rejects.toThrow(/append-only/);
      await expect(db.exec('DELETE FROM eg_log WHERE seq = 3')).rejects.toThrow(/append-only/);
      await expect(db.exec("UPDATE eg_checkpoints SET hash = 'x'")).rejects.toThrow(/append-only/);
      await expect(db.exec('DELETE FROM eg_checkpoints')).rejects.toThrow(/append-only/);
      await db.close();
      expect((await verify(store)).ok).toBe(true);
      await store.close();
    });

    // Twenty records, signed checkpoints at 10 and 20; then the attack; then the seq verify must name.
    const attacks: [string, (store: Store, exec: (sql: string) => Promise<void>) => Promise<void>, number, RegExp][] = [
      ['a record changed', (_s, exec) => exec(`UPDATE eg_log SET details = '{"allowed":true}' WHERE seq = 7`), 7, /record 7 .*was changed/],
      ['a record deleted', (_s, exec) => exec('DELETE FROM eg_log WHERE seq = 7'), 7, /record 7 is missing/],
      [
        'a record inserted',
        async (_s, exec) => {
          await exec('UPDATE eg_log SET seq = seq + 1000 WHERE seq >= 7');
          await exec('UPDATE eg_log SET seq = seq - 999 WHERE seq >= 1007');
          await exec(
            `INSERT INTO eg_log (seq, at, actor, action, subject, details, prev_hash, hash)
             SELECT 7, at, actor, 'decision', 'forged', '{"allowed":true}', hash, hash FROM eg_log WHERE seq = 6`,
          );
        },
        7,
        /record 7 .*was changed/,
      ],
      [
        'two records swapped',
        async (_s, exec) => {
          await exec('UPDATE eg_log SET seq = -7 WHERE seq = 7');
          await exec('UPDATE eg_log SET seq = 7 WHERE seq = 8');
          await exec('UPDATE eg_log SET seq = 8 WHERE seq = -7');
        },
        7,
        /record 7 does not follow record 6/,
      ],
      ['records at the end deleted', (_s, exec) => exec('DELETE FROM eg_log WHERE seq >= 18'), 18, /records at the end were deleted/],
      [
        'a record changed and every hash after it recomputed',
        async (store, exec) => {
          const records = await store.logRecords(1, 100);
          let prev = records[5]!.hash;
          for (const r of records.slice(6)) {
            const changed = { ...r, prevHash: prev, details: r.seq === 7 ? { allowed: true } : r.details };
            prev = recordHash(changed);
            await exec(
              `UPDATE eg_log SET details = '${JSON.stringify(changed.details)}', prev_hash = '${changed.prevHash}', hash = '${prev}' WHERE seq = ${r.seq}`,
            );
          }
          await exec(`UPDATE eg_log_head SET hash = '${prev}'`);
        },
        10,
        /record 10 is not the record the checkpoint .* names: the log between records 1 and 10 was rewritten/,
      ],
      [
        'a checkpoint forged to vouch for another record',
        (_s, exec) => exec('UPDATE eg_checkpoints SET hash = (SELECT hash FROM eg_log WHERE seq = 9) WHERE seq = 10'),
        10,
        /checkpoint at record 10 .* is forged: its signature does not verify/,
      ],
      [
        'a checkpoint signed with another key',
        async (store, exec) => {
          await exec('DELETE FROM eg_checkpoints WHERE seq = 10');
          await checkpoint(store, 10, otherKey);
        },
        10,
        /checkpoint at record 10 .* is forged: it names key ed25519:\w+, not the trusted key/,
      ],
    ];

    it.each(attacks)('audit verify names the first bad record: %s', async (_name, attack, seq, message) => {
      const { store, attacker } = await factory.open();
      await append(store, 1, 20);
      await checkpoint(store, 10);
      await checkpoint(store, 20);
      expect((await verify(store)).ok).toBe(true);
      const db = await attacker();
      for (const stmt of DROP[store.kind]) await db.exec(stmt);
      await attack(store, (sql) => db.exec(sql));
      await db.close();
      const r = await verify(store);
      expect(r.ok).toBe(false);
      expect(r.problem?.seq).toBe(seq);
      expect(r.problem?.message).toMatch(message);
      await store.close();
    });

    it('pruned at a signed checkpoint, the log still verifies from there; deleting past the cut does not', async () => {
      const { store, attacker } = await factory.open();
      await append(store, 1, 20);
      await checkpoint(store, 12);
      await expect(store.pruneLog(13, entry(0))).rejects.toThrow(/needs a checkpoint/);
      const pruneEntry: LogEntry = {
        at: T0 + 50_000,
        actor: 'retention',
        action: 'audit.prune',
        subject: 'through 12',
        details: { through: 12 },
      };
      expect(await store.pruneLog(12, pruneEntry)).toBe(12);
      expect((await store.logHead()).prunedThrough).toBe(12);
      const r = await verify(store);
      expect(r).toMatchObject({ ok: true, firstSeq: 13, lastSeq: 21, records: 9 });
      // Records past the cut are still refused, and deleting them with the triggers dropped is found.
      const db = await attacker();
      await expect(db.exec('DELETE FROM eg_log WHERE seq = 13')).rejects.toThrow(/append-only/);
      for (const stmt of DROP[store.kind]) await db.exec(stmt);
      await db.exec('DELETE FROM eg_log WHERE seq <= 14');
      await db.close();
      const bad = await verify(store);
      expect(bad.problem?.seq).toBe(15);
      expect(bad.problem?.message).toMatch(/no signed checkpoint at record 14/);
      await store.close();
    });
  });
}
