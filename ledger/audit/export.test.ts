// `audit export` and GET /v1/audit/export go at the reader's pace: a reader
// that stops holds the export up, and nothing reads the log ahead of it (the
// memory bound that bench/sections/audit.ts measures at 1,000,000 records).
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { type TestLedger, startTestLedger } from '../testing/harness.ts';
import { exportAudit } from './entry.ts';
import { EXPORT_PAGE } from './export.ts';

const now = new Date('2026-06-01T10:00:00Z');
let l: TestLedger | undefined;
afterEach(async () => {
  await l?.close();
  l = undefined;
});

/** A ledger whose log holds `n` decision records of about `bytes` each (after its own config.load and tokens). */
async function ledgerWith(n: number, bytes: number): Promise<TestLedger> {
  l = await startTestLedger({ clock: () => now });
  const pad = 'x'.repeat(bytes);
  for (let from = 0; from < n; from += 5000)
    await l.ledger.store.withProducts([], async (tx) => {
      for (let i = from; i < Math.min(n, from + 5000); i++)
        await tx.appendLog({ at: now.getTime(), actor: 'token:ci', action: 'decision', subject: `r${i}`, details: { i, pad } });
    });
  return l;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe('export at the reader’s pace', () => {
  it('audit export --store writes the next page only once the last one was taken', async () => {
    const t = await ledgerWith(EXPORT_PAGE * 10, 10);
    const head = (await t.ledger.store.logHead()).seq;
    const chunks: string[] = [];
    const taken: (() => void)[] = [];
    const done = exportAudit({ store: t.store }, undefined, (chunk) => {
      chunks.push(chunk);
      return new Promise<void>((resolve) => taken.push(resolve));
    });
    await settle();
    // The reader has not taken the first page: nothing more was read for it.
    expect(chunks).toHaveLength(1);
    while (taken.length) {
      taken.shift()!();
      await settle();
    }
    expect(await done).toBe(head);
    const seqs = chunks
      .join('')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line).seq);
    expect(seqs).toEqual(Array.from({ length: head }, (_, i) => i + 1));
    expect(chunks.length).toBeGreaterThanOrEqual(10);
  });

  it('GET /v1/audit/export to a client that stops reading: the server reads no further than the socket holds', async () => {
    // 30,000 records of about 2 KB: 60 MB of JSON Lines, far more than a socket's buffers.
    const t = await ledgerWith(30_000, 2000);
    const head = (await t.ledger.store.logHead()).seq;
    let read = 0;
    const store = t.ledger.store;
    const logLines = store.logLines.bind(store);
    store.logLines = async (from, limit) => {
      const page = await logLines(from, limit);
      read = Math.max(read, page.lastSeq);
      return page;
    };
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) =>
      request(`${t.url}/v1/audit/export`, { headers: { authorization: `Bearer ${t.tokens.auditor}` } }, resolve)
        .on('error', reject)
        .end(),
    );
    expect(res.statusCode).toBe(200);
    res.pause();
    // Wait until the server stops reading ahead (it is waiting for the socket to drain).
    let last = -1;
    while (read !== last) {
      last = read;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(read).toBeGreaterThan(0);
    expect(read, `the server read ${read} of ${head} records for a client that read none`).toBeLessThan(head / 4);
    let lines = 0;
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      for (let at = chunk.indexOf('\n'); at !== -1; at = chunk.indexOf('\n', at + 1)) lines++;
    });
    res.resume();
    await new Promise((resolve) => res.on('end', resolve));
    expect(lines).toBe(head);
    expect(read).toBe(head);
  });
});
