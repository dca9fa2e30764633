// Time to remediate: over capacity in a scope is a finding from when the
// ledger first sees it (a usage report, capacity ending) until it sees it
// back under (a report, an approved exception); the API and /metrics report it.
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createToken } from './auth.ts';
import { checkFindings } from './findings.ts';
import { type TestLedger, startTestLedger } from './testing/harness.ts';

const CONFIG = resolve(import.meta.dirname, 'testdata/ledger-governance.yaml');
let now = new Date('2026-06-01T10:00:00Z');
const clock = () => now;
let l: TestLedger;
afterEach(async () => {
  await l?.close();
  now = new Date('2026-06-01T10:00:00Z');
});

const report = (quantity: number) => ({
  version: 1,
  observedAt: now.toISOString(),
  usage: [
    { product: 'db', quantity, scope: { environment: 'prod' } },
    { product: 'os', quantity: 4, scope: { environment: 'dev' } },
  ],
});

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${l.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return Number(m?.[1]);
}

describe('findings', () => {
  it('opens when a report puts a product over in a scope, closes when one brings it back; API and metrics report time to remediate', async () => {
    l = await startTestLedger({ clock, config: CONFIG });
    const put = (q: number) => l.call('PUT', '/v1/sources/sam/usage', { token: l.tokens.reporter, body: report(q) });
    expect((await put(9)).status).toBe(200);
    expect((await l.call('GET', '/v1/findings')).body).toMatchObject({ open: [], closed: [], meanTimeToRemediateSeconds: null });
    await put(12);
    now = new Date('2026-06-01T10:30:00Z');
    await put(13);
    const open = await l.call('GET', '/v1/findings');
    expect(open.body.open).toEqual([
      { product: 'db', scope: { environment: 'prod' }, over: 3, openedAt: '2026-06-01T10:00:00.000Z', closedAt: null, seconds: 1800 },
    ]);
    expect(await metric('entitlegate_ledger_findings_open')).toBe(1);

    now = new Date('2026-06-01T12:00:00Z');
    await put(10);
    const closed = await l.call('GET', '/v1/findings');
    expect(closed.body).toMatchObject({
      open: [],
      closed: [{ product: 'db', openedAt: '2026-06-01T10:00:00.000Z', closedAt: '2026-06-01T12:00:00.000Z', seconds: 7200 }],
      remediated: 1,
      meanTimeToRemediateSeconds: 7200,
    });
    expect(await metric('entitlegate_ledger_findings_open')).toBe(0);
    expect(await metric('entitlegate_ledger_findings_remediated')).toBe(1);
    expect(await metric('entitlegate_ledger_time_to_remediate_seconds_sum')).toBe(7200);
  });

  it('an approved exception remediates; its expiry re-opens the finding at the next check', async () => {
    l = await startTestLedger({ clock, config: CONFIG });
    const ci = (await createToken(l.ledger.store, 'ci', ['gate'], now, 'test')).token;
    const bob = (await createToken(l.ledger.store, 'bob', ['approver'], now, 'test')).token;
    await l.call('PUT', '/v1/sources/sam/usage', { token: l.tokens.reporter, body: report(12) });
    const x = await l.call('POST', '/v1/exceptions', {
      token: ci,
      body: { product: 'db', quantity: 2, until: '2026-06-05', scope: { environment: 'prod' }, reason: 'migration', ticket: 'CHG-2' },
    });
    now = new Date('2026-06-01T11:00:00Z');
    await l.call('POST', `/v1/exceptions/${x.body.id}/approve`, { token: bob });
    expect((await l.call('GET', '/v1/findings')).body).toMatchObject({ open: [], closed: [{ seconds: 3600 }] });

    // Nothing changes until the exception ends with its last day.
    now = new Date('2026-06-05T23:00:00Z');
    expect(await checkFindings(l.ledger)).toBe(false);
    now = new Date('2026-06-06T00:00:00Z');
    expect(await checkFindings(l.ledger)).toBe(true);
    expect((await l.call('GET', '/v1/findings')).body.open).toEqual([
      expect.objectContaining({ product: 'db', over: 2, openedAt: '2026-06-06T00:00:00.000Z' }),
    ]);
    expect(await checkFindings(l.ledger)).toBe(false);
  });
});
