// The ledger's acceptance: never over capacity with many gates on one ledger
// process (embedded store) or on two ledger processes sharing PostgreSQL, mixed
// with confirms, releases and expiries; nothing acknowledged lost across
// kill -9 of a ledger; clear errors while PostgreSQL restarts, and recovery.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLedgerToken } from '../ledger/serve.ts';
import { TEST_CONFIG } from '../ledger/testing/harness.ts';
import { type PrivatePostgres, postgresBin, startPostgres } from '../ledger/testing/postgres.ts';
import { type LedgerProcess, startLedgerProcess } from '../ledger/testing/process.ts';

// The product `os` has 100 vCPU in TEST_CONFIG; every claim asks for 1.
const CAPACITY = 100;
const running: LedgerProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.kill()));
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Outcome = { i: number; kind: 'reserved'; id: string } | { i: number; kind: 'refused' } | { i: number; kind: 'error'; message: string };

// biome-ignore lint/suspicious/noExplicitAny: test-only reader of JSON answers
async function call(url: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: await res.json() };
}

async function reserve(url: string, token: string, i: number, ttl: string | number = '10m', quantity = 1): Promise<Outcome> {
  try {
    const r = await call(url, token, 'POST', '/v1/decisions', {
      claims: [{ product: 'os', quantity, scope: {}, resource: { kind: 'Deployment', name: `r${i}`, namespace: 'load' } }],
      reserve: true,
      ttl,
    });
    if (r.status !== 200) return { i, kind: 'error', message: `${r.status} ${JSON.stringify(r.json)}` };
    return r.json.allowed ? { i, kind: 'reserved', id: r.json.reservation.id } : { i, kind: 'refused' };
  } catch (err) {
    return { i, kind: 'error', message: String((err as Error).cause ?? err) };
  }
}

async function active(
  url: string,
  admin: string,
): Promise<{ id: string; state: string; lines: { resource: string; quantity: number }[] }[]> {
  const r = await call(url, admin, 'GET', '/v1/reservations?state=held,confirmed&limit=1000');
  return r.json.reservations;
}

async function tokens(store: string): Promise<{ gate: string; admin: string }> {
  const now = new Date();
  return {
    gate: (await createLedgerToken({ store, name: 'gate', roles: ['gate'], now })).token,
    admin: (await createLedgerToken({ store, name: 'admin', roles: ['admin'], now })).token,
  };
}

/** 200 at once, then releases, confirms and short-lived reservations mixed, then expiry: the books must balance exactly. */
async function neverOverCapacity(urls: string[], t: { gate: string; admin: string }): Promise<void> {
  const at = (i: number) => urls[i % urls.length]!;
  const first = await Promise.all(Array.from({ length: 200 }, (_, i) => reserve(at(i), t.gate, i)));
  const reserved = first.filter((o): o is Extract<Outcome, { kind: 'reserved' }> => o.kind === 'reserved');
  expect(first.filter((o) => o.kind === 'error')).toEqual([]);
  expect(reserved).toHaveLength(CAPACITY);

  // Mixed: 20 released, 30 confirmed, and 60 new gates asking at the same time (2 s TTL).
  const mixed = await Promise.all([
    ...reserved
      .slice(0, 20)
      .map((r, k) => call(at(k), t.gate, 'DELETE', `/v1/reservations/${r.id}`).then((x) => ({ op: 'release', status: x.status }))),
    ...reserved
      .slice(20, 50)
      .map((r, k) => call(at(k), t.gate, 'POST', `/v1/reservations/${r.id}/confirm`).then((x) => ({ op: 'confirm', status: x.status }))),
    ...Array.from({ length: 60 }, (_, k) => reserve(at(k), t.gate, 1000 + k, 2).then((o) => ({ op: o.kind, status: 200 }))),
  ]);
  expect(mixed.filter((m) => m.status !== 200 || m.op === 'error')).toEqual([]);
  const late = mixed.filter((m) => m.op === 'reserved').length;
  expect(late).toBeLessThanOrEqual(20);
  const now = await active(urls[0]!, t.admin);
  // Some late ones may already have expired on a slow machine; none can be missing otherwise.
  expect(now.length).toBeGreaterThanOrEqual(80);
  expect(now.length).toBeLessThanOrEqual(80 + late);
  expect(now.filter((r) => r.state === 'confirmed')).toHaveLength(30);

  // After the 2 s TTL the late ones expire: exactly 20 fit, not 21.
  await sleep(2300);
  expect((await active(urls[0]!, t.admin)).length).toBe(80);
  expect((await reserve(urls[0]!, t.gate, 5000, '10m', 20)).kind).toBe('reserved');
  expect((await reserve(urls.at(-1)!, t.gate, 5001, '10m', 1)).kind).toBe('refused');
}

/** Load, kill -9 of `victim` part-way, restart it: every id a client got is there, nothing refused is, capacity holds. */
async function killDuringLoad(
  urls: string[],
  t: { gate: string; admin: string },
  victim: LedgerProcess,
  restart: () => Promise<LedgerProcess>,
): Promise<void> {
  let answered = 0;
  // Requests go out over 600 ms; the kill comes once some have been answered and
  // at least 200 ms in, so later ones find the victim gone whatever its speed.
  const started = Date.now();
  let killed = false;
  const outcomes = await Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      await sleep(i * 3);
      const o = await reserve(urls[i % urls.length]!, t.gate, i);
      if (++answered >= 20 && !killed && Date.now() - started >= 200) {
        killed = true;
        void victim.kill('SIGKILL');
      }
      return o;
    }),
  );
  // The kill landed mid-load: some gates got no answer.
  expect(outcomes.filter((o) => o.kind === 'error').length).toBeGreaterThan(0);
  const back = await restart();
  const got = outcomes.filter((o): o is Extract<Outcome, { kind: 'reserved' }> => o.kind === 'reserved');
  const refused = new Set(outcomes.filter((o) => o.kind === 'refused').map((o) => `Deployment/load/r${o.i}`));
  expect(got.length).toBeGreaterThan(0);
  const held = await active(back.url, t.admin);
  const ids = new Set(held.map((r) => r.id));
  expect(got.filter((o) => !ids.has(o.id))).toEqual([]);
  expect(held.filter((r) => refused.has(r.lines[0]!.resource))).toEqual([]);
  const total = held.reduce((a, r) => a + r.lines[0]!.quantity, 0);
  expect(total).toBeLessThanOrEqual(CAPACITY);
  // And the books are exact: what is left fits, one more does not.
  if (total < CAPACITY) expect((await reserve(back.url, t.gate, 9000, '10m', CAPACITY - total)).kind).toBe('reserved');
  expect((await reserve(back.url, t.gate, 9001)).kind).toBe('refused');
}

describe('embedded ledger (one process)', { timeout: 90_000 }, () => {
  let store: string;
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'eg-accept-'));
    dirs.push(dir);
    store = join(dir, 'a.db');
  });

  it('200 concurrent reservations admit exactly what fits, with releases, confirms and expiries mixed in', async () => {
    const p = await startLedgerProcess({ config: TEST_CONFIG, store });
    running.push(p);
    await neverOverCapacity([p.url], await tokens(store));
  });

  it('kill -9 during load, then restart: every acknowledged reservation is there, none refused is, capacity holds', async () => {
    const file = `${store}.kill`;
    const p = await startLedgerProcess({ config: TEST_CONFIG, store: file });
    running.push(p);
    const t = await tokens(file);
    const port = Number(new URL(p.url).port);
    await killDuringLoad([p.url], t, p, async () => {
      const again = await startLedgerProcess({ config: TEST_CONFIG, store: file, port });
      running.push(again);
      return again;
    });
  });
});

const havePg = postgresBin() !== null;
if (!havePg && process.env.CI) throw new Error('PostgreSQL is not installed: run scripts/install-postgres.sh');
describe.skipIf(!havePg)('PostgreSQL ledger (two replicas)', { timeout: 90_000 }, () => {
  let pg: PrivatePostgres;
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(() => pg?.destroy());

  it('200 concurrent reservations through two ledger processes admit exactly what fits, mixed with releases, confirms and expiries', async () => {
    pg.createDatabase('mixed');
    const url = pg.url('mixed');
    const [a, b] = [
      await startLedgerProcess({ config: TEST_CONFIG, store: url }),
      await startLedgerProcess({ config: TEST_CONFIG, store: url }),
    ];
    running.push(a, b);
    await neverOverCapacity([a.url, b.url], await tokens(url));
  });

  it('one reservation key sent 40 times at once through two replicas: one reservation, every answer names it', async () => {
    pg.createDatabase('keyed');
    const url = pg.url('keyed');
    const [a, b] = [
      await startLedgerProcess({ config: TEST_CONFIG, store: url }),
      await startLedgerProcess({ config: TEST_CONFIG, store: url }),
    ];
    running.push(a, b);
    const t = await tokens(url);
    const body = {
      claims: [{ product: 'os', quantity: 30, scope: {}, resource: { kind: 'Deployment', name: 'keyed', namespace: 'load' } }],
      reserve: true,
      reservationKey: 'run-task:run-keyed',
    };
    // Several land in one step of a replica (PostgreSQL writes a step's reservations at its commit), the rest on the other replica.
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => call(i % 2 ? a.url : b.url, t.gate, 'POST', '/v1/decisions', body)),
    );
    expect(answers.map((r) => r.status)).toEqual(Array(40).fill(200));
    const ids = new Set(answers.map((r) => r.json.reservation.id));
    expect(ids.size).toBe(1);
    expect(answers.filter((r) => !r.json.reservation.reused)).toHaveLength(1);
    const held = await active(a.url, t.admin);
    expect(held.map((r) => r.id)).toEqual([...ids]);
  });

  it('kill -9 of one replica during load, then restart: nothing acknowledged lost, nothing refused kept, capacity holds', async () => {
    pg.createDatabase('kill');
    const url = pg.url('kill');
    const [a, b] = [
      await startLedgerProcess({ config: TEST_CONFIG, store: url }),
      await startLedgerProcess({ config: TEST_CONFIG, store: url }),
    ];
    running.push(a, b);
    const port = Number(new URL(a.url).port);
    await killDuringLoad([a.url, b.url], await tokens(url), a, async () => {
      const again = await startLedgerProcess({ config: TEST_CONFIG, store: url, port });
      running.push(again);
      return again;
    });
  });

  it('PostgreSQL restarted under load: gates get a clear 503 while it is down, then succeed within 5 s of its return; nothing acknowledged is lost', async () => {
    pg.createDatabase('restart');
    const url = pg.url('restart');
    const [a, b] = [
      await startLedgerProcess({ config: TEST_CONFIG, store: url }),
      await startLedgerProcess({ config: TEST_CONFIG, store: url }),
    ];
    running.push(a, b);
    const t = await tokens(url);
    // Eight gates reserving in a loop (small TTL-free units) until told to stop.
    const outcomes: (Outcome & { at: number })[] = [];
    let stop = false;
    let n = 0;
    const gates = Array.from({ length: 8 }, async (_, g) => {
      while (!stop) {
        const i = n++;
        outcomes.push({ ...(await reserve(g % 2 ? a.url : b.url, t.gate, i, '10m', 0.1)), at: Date.now() });
        await sleep(20);
      }
    });
    await sleep(500);
    pg.stop('fast');
    const down = Date.now();
    await sleep(1000);
    expect((await fetch(`${a.url}/readyz`)).status).toBe(503);
    pg.start();
    const back = Date.now();
    await sleep(5000);
    stop = true;
    await Promise.all(gates);

    const during = outcomes.filter((o) => o.at > down + 200 && o.at < back);
    expect(during.length).toBeGreaterThan(0);
    // While it was down: every answer a clear store error, none an internal one, none a hang.
    for (const o of during) expect(o.kind === 'error' && o.message).toMatch(/^503 .*EG_ERR_LEDGER_STORE.*did not answer/);
    // Within 5 s of its return both replicas reserve again.
    const firstOk = (url: string) => outcomes.find((o) => o.at > back && o.kind === 'reserved' && o.i % 2 === (url === a.url ? 1 : 0));
    for (const u of [a.url, b.url]) {
      const ok = firstOk(u);
      expect(ok, `${u} recovered`).toBeDefined();
      expect(ok!.at - back).toBeLessThan(5000);
    }
    // Every reservation a gate got an id for is in the store.
    const got = outcomes.filter((o): o is Extract<Outcome, { kind: 'reserved' }> & { at: number } => o.kind === 'reserved');
    const held = new Set((await active(a.url, t.admin)).map((r) => r.id));
    expect(got.filter((o) => !held.has(o.id))).toEqual([]);
  });
});
