// GET /v1/audit/chain through a real socket: the head, the last checkpoint and
// its signature against the ledger's key, the records since, and whether the
// chain verifies, walking only what was appended since the last pass; a store
// tampered with directly (triggers dropped, as an attacker with the file would)
// is named at its first bad record.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempFiles } from '../../test/cli-harness.ts';
import { createSigningKeyFile } from '../serve.ts';
import { type TestLedger, startTestLedger } from '../testing/harness.ts';
import { loadSigningKey, newSigningKeyPem, signCheckpoint, signingKeyFromPem } from './checkpoint.ts';

const now = new Date('2026-06-01T10:00:00Z');
let l: TestLedger;
let dir: string;

beforeAll(() => {
  dir = tempFiles({});
  createSigningKeyFile(join(dir, 'signing.pem'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await l?.close();
});

async function start(): Promise<TestLedger> {
  l = await startTestLedger({ clock: () => now, audit: { signingKey: join(dir, 'signing.pem'), intervalMs: 0 } });
  return l;
}

async function decisions(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await l.call('POST', '/v1/decisions', {
      token: l.tokens.gate,
      body: { claims: [{ product: 'db', quantity: 1 + (i % 20), scope: { environment: 'prod' } }] },
    });
    expect(r.status).toBe(200);
  }
}

/** Signs the head as the ledger's checkpointer would. */
async function checkpoint(): Promise<number> {
  const head = await l.ledger.store.logHead();
  await l.ledger.store.addCheckpoint(signCheckpoint(loadSigningKey(join(dir, 'signing.pem')), head.seq, head.hash, now.getTime()));
  return head.seq;
}

const chain = async (q = '') => {
  const r = await l.call('GET', `/v1/audit/chain${q}`, { token: l.tokens.auditor });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
};

/** The store's file opened beside the ledger, its append-only triggers dropped. */
function tamper(sql: string): void {
  const db = new DatabaseSync(l.store, { timeout: 5000 });
  try {
    db.exec('DROP TRIGGER IF EXISTS eg_log_no_update');
    db.exec('DROP TRIGGER IF EXISTS eg_checkpoints_no_update');
    db.exec(sql);
  } finally {
    db.close();
  }
}

describe('chain status', () => {
  it('says how far the chain verified, walking only the records appended since the last pass', async () => {
    await start();
    await decisions(10);
    const signed = await checkpoint();
    const first = await chain();
    const head = await l.ledger.store.logHead();
    expect(first).toEqual({
      head: { seq: head.seq, hash: head.hash, prunedThrough: 0 },
      checkpoint: {
        seq: signed,
        hash: head.hash,
        at: now.toISOString(),
        keyId: expect.stringMatching(/^ed25519:/),
        signatureValid: true,
        checkedWith: 'ledger',
        problem: null,
      },
      recordsSinceCheckpoint: 0,
      verification: { ok: true, through: head.seq, at: now.toISOString(), full: true, walked: head.seq, checkpointedThrough: signed },
    });
    await decisions(3);
    const second = await chain();
    expect(second.recordsSinceCheckpoint).toBe(3);
    expect(second.verification).toMatchObject({ ok: true, through: head.seq + 3, full: false, walked: 3, checkpointedThrough: signed });
    // Nothing new: nothing walked.
    expect((await chain()).verification).toMatchObject({ ok: true, through: head.seq + 3, walked: 0 });
    // A checkpoint made since, at a record verified before, is matched too.
    const later = await checkpoint();
    expect((await chain()).verification).toMatchObject({ ok: true, walked: 0, checkpointedThrough: later });
  });

  it('names the first bad record of a tampered store among those appended since the last pass', async () => {
    await start();
    await decisions(10);
    await checkpoint();
    const through = (await chain()).verification.through as number;

    await decisions(3);
    tamper(`UPDATE eg_log SET details = '{"allowed":true}' WHERE seq = ${through + 2}`);
    expect((await chain()).verification).toEqual({
      ok: false,
      problem: { seq: through + 2, message: expect.stringMatching(new RegExp(`record ${through + 2} .*was changed`)) },
      at: now.toISOString(),
      full: false,
    });
  });

  it('finds a change to the record it last verified, and with full=true one to any record before', async () => {
    await start();
    await decisions(10);
    await checkpoint();
    const through = (await chain()).verification.through as number;
    tamper(`UPDATE eg_log SET details = '{"allowed":true}' WHERE seq = 4`);
    // A resumed pass walks only what is new: record 4 was verified before.
    expect((await chain()).verification.ok).toBe(true);
    const full = await chain('?full=true');
    expect(full.verification).toMatchObject({
      ok: false,
      full: true,
      problem: { seq: 4, message: expect.stringMatching(/record 4 .*was changed/) },
    });
    // The failure stands on the next page load, until the chain verifies again.
    expect((await chain()).verification).toMatchObject({ ok: false, problem: { seq: 4 } });

    await l.close();
    await start();
    await decisions(10);
    const t2 = (await chain()).verification.through as number;
    tamper(`UPDATE eg_log SET hash = '${'f'.repeat(64)}' WHERE seq = ${t2}`);
    expect((await chain()).verification).toMatchObject({
      ok: false,
      problem: { seq: t2, message: `record ${t2} was changed since it was verified: its hash is not the one it had` },
    });
    expect(through).toBeGreaterThan(0);
  });

  it("shows a checkpoint whose signature does not verify against the ledger's key as forged", async () => {
    await start();
    await decisions(5);
    const head = await l.ledger.store.logHead();
    const other = signingKeyFromPem(newSigningKeyPem().privatePem, 'other');
    await l.ledger.store.addCheckpoint(signCheckpoint(other, head.seq, head.hash, now.getTime()));
    const body = await chain();
    expect(body.checkpoint).toMatchObject({ seq: head.seq, signatureValid: false, problem: expect.stringMatching(/not the trusted key/) });
    expect(body.verification).toMatchObject({ ok: false, problem: { seq: head.seq, message: expect.stringMatching(/is forged/) } });
  });

  it('says when a checkpoint was checked only against the key recorded with it (the ledger signs none)', async () => {
    l = await startTestLedger({ clock: () => now });
    await decisions(3);
    const head = await l.ledger.store.logHead();
    await l.ledger.store.addCheckpoint(
      signCheckpoint(signingKeyFromPem(newSigningKeyPem().privatePem, 'x'), head.seq, head.hash, now.getTime()),
    );
    expect((await chain()).checkpoint).toMatchObject({ seq: head.seq, signatureValid: true, checkedWith: 'checkpoint' });
  });

  it('refuses a bad full', async () => {
    await start();
    const r = await l.call('GET', '/v1/audit/chain?full=yes', { token: l.tokens.auditor });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/full must be true or false/);
  });
});
