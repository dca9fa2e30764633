// GET /v1/forecast for every product: read in one pass and kept until what it
// depends on changes. Each product's row is the same as its own forecast's
// total, and a usage report, a new day, or an entitlement ending mid-day gives
// a new answer, not the kept one.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempFiles } from '../../test/cli-harness.ts';
import { createToken } from '../auth.ts';
import { TOTAL } from '../history.ts';
import type { HistoryDay } from '../store/types.ts';
import { type TestLedger, startTestLedger } from '../testing/harness.ts';

let now = new Date('2026-06-01T08:00:00Z');
let l: TestLedger;
let dir: string;

// os's second entitlement ends at noon on 1 June (an instant, not a date): the renewal changes mid-day.
const CONFIG = `version: 1
products:
  - { id: db, metric: instances }
  - { id: os, metric: vcpu }
  - { id: idle, metric: users }
entitlements:
  - { id: DB-1, product: db, model: subscription, quantity: 40, validFrom: 2026-01-01, validUntil: 2026-12-31 }
  - { id: OS-1, product: os, model: subscription, quantity: 100, validFrom: 2026-01-01, validUntil: 2026-09-30 }
  - { id: OS-NOON, product: os, model: subscription, quantity: 50, validFrom: 2026-01-01, validUntil: '2026-06-01T12:00:00Z' }
  - { id: IDLE-1, product: idle, model: subscription, quantity: 5, validFrom: 2026-01-01, validUntil: 2026-12-31 }
`;

beforeAll(() => {
  dir = tempFiles({ 'config.yaml': CONFIG });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await l?.close();
  now = new Date('2026-06-01T08:00:00Z');
});

/** db grows by 0.5 a day; os is recorded only every 10 days (the days between carry its value); idle has none. */
function history(): HistoryDay[] {
  const rows: HistoryDay[] = [];
  for (let d = 0; d < 120; d++) {
    const day = new Date(Date.parse('2026-02-01T00:00:00Z') + d * 86_400_000).toISOString().slice(0, 10);
    const db = 10 + 0.5 * d;
    rows.push({ product: 'db', scope: TOTAL, day, peak: db + 1, total: db * 2, samples: 2, last: db });
    rows.push({ product: 'db', scope: '{"environment":"prod"}', day, peak: db + 1, total: db * 2, samples: 2, last: db });
    if (d % 10 === 0) rows.push({ product: 'os', scope: TOTAL, day, peak: 60 + d / 2, total: 60 + d / 2, samples: 1, last: 60 + d / 2 });
  }
  return rows;
}

describe('GET /v1/forecast (every product)', () => {
  it("gives each product's total as its own forecast does, and a new answer when a report, the day or an entitlement changes it", async () => {
    l = await startTestLedger({ clock: () => now, config: join(dir, 'config.yaml') });
    await l.ledger.store.importHistory(history());
    const token = (await createToken(l.ledger.store, 'p', ['procurement'], now, 'test')).token;
    const all = async () => {
      const r = await l.call('GET', '/v1/forecast', { token });
      expect(r.status).toBe(200);
      return r.body.products as { product: string; capacity: number; forecast: Record<string, unknown> }[];
    };
    const own = async (product: string) => {
      const r = await l.call('GET', `/v1/forecast?product=${product}`, { token });
      const { band: _band, ...total } = r.body.series[0];
      return { product, ...total };
    };
    // Counts the reads of every product's window.
    let reads = 0;
    const store = l.ledger.store;
    const read = store.historyWindow.bind(store);
    store.historyWindow = (...args) => {
      reads++;
      return read(...args);
    };
    const first = await all();
    expect(first).toEqual([await own('db'), await own('os')]);
    expect(first[1]).toMatchObject({ capacity: 150, forecast: { status: 'ok' } });
    // Asked again unchanged, or after a decision (which writes no history): the kept answer.
    expect(await all()).toEqual(first);
    const d = await l.call('POST', '/v1/decisions', {
      token: l.tokens.gate,
      body: { claims: [{ product: 'db', quantity: 1, scope: { environment: 'prod' } }], reserve: true },
    });
    expect(d.body.allowed).toBe(true);
    expect(await all()).toEqual(first);
    expect(reads).toBe(1);
    // Its confirmation writes history: read again.
    expect((await l.call('POST', `/v1/reservations/${d.body.reservation.id}/confirm`, { token: l.tokens.gate })).status).toBe(200);
    const confirmed = await all();
    expect(reads).toBe(2);
    expect(confirmed).toEqual([await own('db'), await own('os')]);

    // A report writes today's history: the next answer has it.
    const before = confirmed[0]!.forecast;
    const put = await l.call('PUT', '/v1/sources/cluster:a/usage', {
      token: l.tokens.reporter,
      body: { version: 1, observedAt: now.toISOString(), usage: [{ product: 'db', quantity: 200, scope: { environment: 'prod' } }] },
    });
    expect(put.status).toBe(200);
    const reported = await all();
    expect(reported[0]!.forecast).not.toEqual(before);
    expect(reported).toEqual([await own('db'), await own('os')]);

    // OS-NOON ends at noon: the same day, the renewal the suggestion is for is OS-1's.
    expect(reported[1]).toMatchObject({ product: 'os', renewal: '2026-06-01' });
    now = new Date('2026-06-01T12:30:00Z');
    const afternoon = await all();
    expect(afternoon[1]).toMatchObject({ product: 'os', renewal: '2026-09-30' });
    expect(afternoon).toEqual([await own('db'), await own('os')]);

    // The next day: another window.
    now = new Date('2026-06-02T08:00:00Z');
    const tomorrow = await all();
    expect(tomorrow[0]!.forecast).not.toEqual(afternoon[0]!.forecast);
    expect(tomorrow).toEqual([await own('db'), await own('os')]);
  });
});
