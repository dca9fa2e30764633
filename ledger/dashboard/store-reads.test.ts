// The store reads the dashboard added (recent denials, every product's history
// window, the history's version), against the embedded store and a private
// PostgreSQL: both answer the same.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOTAL } from '../history.ts';
import { openStore } from '../store/open.ts';
import type { Store } from '../store/types.ts';
import { type PrivatePostgres, postgresBin, startPostgres } from '../testing/postgres.ts';

async function exercise(store: Store): Promise<void> {
  await store.ensureProducts(['a', 'b']);
  expect(await store.lastHistoryStep()).toBe(0);
  // seq 1..12: decisions (every third denied, of a or of a and b), a usage report at 5, a confirmation at 9.
  await store.withProducts([], async (tx) => {
    for (let seq = 1; seq <= 12; seq++) {
      if (seq === 5) await tx.appendLog({ actor: 'r', action: 'usage.report', subject: 'cluster:x', details: {} });
      else if (seq === 9) await tx.appendLog({ actor: 'g', action: 'reservation.confirm', subject: 'r1', details: { from: 'held' } });
      else {
        const allowed = seq % 3 !== 0;
        await tx.appendLog({
          actor: 'g',
          action: 'decision',
          subject: seq === 6 ? 'a,b' : seq % 2 ? 'a' : 'b',
          details: { allowed, mode: 'enforce' },
        });
      }
    }
  });
  const seqs = async (before: number | null, limit: number, product?: string) =>
    (await store.logDenials(before, limit, product)).map((r) => r.seq);
  expect(await seqs(null, 10)).toEqual([12, 6, 3]);
  expect(await seqs(12, 1)).toEqual([6]);
  expect(await seqs(null, 10, 'a')).toEqual([6, 3]);
  expect(await seqs(null, 10, 'b')).toEqual([12, 6]);
  expect(await seqs(null, 10, 'c')).toEqual([]);
  expect(await store.lastHistoryStep()).toBe(9);

  await store.importHistory([
    { product: 'a', scope: TOTAL, day: '2026-05-01', peak: 1, total: 1, samples: 1, last: 1 },
    { product: 'a', scope: TOTAL, day: '2026-05-10', peak: 2, total: 2, samples: 1, last: 2 },
    { product: 'a', scope: TOTAL, day: '2026-05-11', peak: 3, total: 3, samples: 1, last: 3 },
    { product: 'a', scope: '{"environment":"prod"}', day: '2026-05-10', peak: 2, total: 2, samples: 1, last: 2 },
    { product: 'b', scope: TOTAL, day: '2026-04-01', peak: 7, total: 7, samples: 1, last: 7 },
  ]);
  const window = (await store.historyWindow(TOTAL, '2026-05-05', '2026-05-31')).map((r) => [r.product, r.day, r.peak]);
  // Each product's rows in range and its last row before: b only carries in.
  expect(window.sort()).toEqual(
    [
      ['a', '2026-05-01', 1],
      ['a', '2026-05-10', 2],
      ['a', '2026-05-11', 3],
      ['b', '2026-04-01', 7],
    ].sort(),
  );
}

describe('the dashboard reads', () => {
  it('embedded store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eg-reads-'));
    const store = await openStore(join(dir, 'ledger.db'));
    try {
      await exercise(store);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe.skipIf(postgresBin() === null)('PostgreSQL', () => {
    let pg: PrivatePostgres | undefined;
    beforeAll(async () => {
      pg = await startPostgres();
    }, 60_000);
    afterAll(() => pg?.destroy());
    it('answers as the embedded store', async () => {
      pg!.createDatabase('reads');
      const store = await openStore(pg!.url('reads'));
      try {
        await exercise(store);
      } finally {
        await store.close();
      }
    });
  });
});
