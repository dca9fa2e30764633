// When checkpoints are signed: every N records, or after T minutes with anything new; never twice for one head.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../store/open.ts';
import type { Store } from '../store/types.ts';
import { newSigningKeyPem, signingKeyFromPem } from './checkpoint.ts';
import { Checkpointer, checkpointPolicy } from './checkpointer.ts';
import { paged, verifyLog } from './verify.ts';

const key = signingKeyFromPem(newSigningKeyPem().privatePem, 'test');
let now = Date.parse('2026-11-28T10:00:00Z');
const clock = () => new Date(now);
let dir: string;
let store: Store;

afterEach(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function open(): Promise<Store> {
  dir = mkdtempSync(join(tmpdir(), 'eg-cp-'));
  store = await openStore(join(dir, 'ledger.db'));
  return store;
}

async function append(n: number): Promise<void> {
  await store.withProducts([], async (tx) => {
    for (let i = 0; i < n; i++) await tx.appendLog({ at: now, actor: 'token:ci', action: 'decision', subject: 'db', details: { i } });
  });
}

const seqs = async () => (await store.checkpoints()).map((c) => c.seq);

describe('checkpointer', () => {
  it('signs the head every N records, or after T minutes when something was appended', async () => {
    await open();
    const cp = new Checkpointer(store, key, checkpointPolicy({ every: 5, minutes: 10 }), clock);
    await append(3);
    await cp.tick();
    expect(await seqs()).toEqual([]);
    await append(2);
    await cp.tick();
    expect(await seqs()).toEqual([5]);
    await append(1);
    now += 9 * 60_000;
    await cp.tick();
    expect(await seqs()).toEqual([5]);
    now += 60_000;
    await cp.tick();
    expect(await seqs()).toEqual([5, 6]);
    // Nothing new: no checkpoint, however long.
    now += 60 * 60_000;
    await cp.tick();
    expect(await seqs()).toEqual([5, 6]);
    const r = await verifyLog(
      { checkpoints: () => store.checkpoints(), records: (from) => paged((s, l) => store.logRows(s, l), from) },
      { key: key.publicKey },
    );
    expect(r).toMatchObject({ ok: true, records: 6, checkpointedThrough: 6 });
  });

  it('a second replica finds the last checkpoint and does not sign the same head again', async () => {
    await open();
    await append(5);
    await new Checkpointer(store, key, checkpointPolicy({ every: 5 }), clock).tick();
    await new Checkpointer(store, key, checkpointPolicy({ every: 5 }), clock).tick();
    expect(await seqs()).toEqual([5]);
  });
});
