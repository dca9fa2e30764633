// The decision log end to end: a real ledger on a socket records what gates,
// reporters and admins do; `audit verify|export` read it through the API
// (role auditor) and from the store, and name the first record an attacker changed.
import { existsSync, statSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TEST_CONFIG, type TestLedger, startTestLedger } from '../ledger/testing/harness.ts';
import { cli, tempFiles } from '../test/cli-harness.ts';

let now = new Date('2026-06-01T10:00:00Z');
let l: TestLedger | undefined;
let dir: string;
const tf = (name: string) => join(dir, name);

const claim = (quantity: number, name = 'orders-db') => ({
  product: 'db',
  quantity,
  scope: { environment: 'prod' },
  resource: { kind: 'Deployment', name, namespace: 'prod' },
});

beforeAll(async () => {
  dir = tempFiles({
    'not-a-key.pem': 'hello\n',
    'one.json': JSON.stringify({ claims: [claim(1, 'ci')] }),
  });
  expect((await cli(['ledger', 'key', 'create', tf('signing.pem')])).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await l?.close();
  l = undefined;
  now = new Date('2026-06-01T10:00:00Z');
});

async function start(audit: Parameters<typeof startTestLedger>[0]['audit'] = {}, config?: string): Promise<TestLedger> {
  l = await startTestLedger({
    clock: () => now,
    audit: { signingKey: tf('signing.pem'), intervalMs: 20, ...audit },
    ...(config ? { config } : {}),
  });
  writeFileSync(tf('auditor'), `${l.tokens.auditor}\n`);
  writeFileSync(tf('gate'), `${l.tokens.gate}\n`);
  return l;
}

/** activity() in June, a decision on 5 July, and the head once retention has pruned the June records. */
async function prunedInJuly(t: TestLedger): Promise<{ prunedThrough: number }> {
  await activity(t);
  now = new Date('2026-07-05T00:00:00Z');
  await t.call('POST', '/v1/decisions', { token: t.tokens.gate, body: { claims: [claim(1, 'july')] } });
  return until('the prune', async () => {
    const r = await t.call('GET', '/v1/audit/head', { token: t.tokens.auditor });
    return r.body.prunedThrough > 0 ? r.body : undefined;
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** A few of everything the ledger records. */
async function activity(t: TestLedger): Promise<string> {
  const reserved = await t.call('POST', '/v1/decisions', {
    token: t.tokens.gate,
    body: { claims: [claim(4)], reserve: true, ttl: '10m' },
  });
  await t.call('POST', '/v1/decisions', { token: t.tokens.gate, body: { claims: [claim(20, 'big')] } });
  await t.call('POST', `/v1/reservations/${reserved.body.reservation.id}/confirm`, { token: t.tokens.gate });
  const other = await t.call('POST', '/v1/decisions', { token: t.tokens.gate, body: { claims: [claim(1, 'x')], reserve: true } });
  await t.call('DELETE', `/v1/reservations/${other.body.reservation.id}`, { token: t.tokens.gate });
  await t.call('PUT', '/v1/sources/sam/usage', {
    token: t.tokens.reporter,
    body: {
      version: 1,
      observedAt: '2026-06-01T09:00:00Z',
      usage: [{ product: 'db', quantity: 4, resource: 'Deployment/prod/orders-db' }],
    },
  });
  return reserved.body.reservation.id as string;
}

describe('the decision log', () => {
  it('records every step with its actor, the decision with its provenance, version and client; only the auditor role reads it', async () => {
    const t = await start();
    const id = await activity(t);
    expect((await t.call('GET', '/v1/audit/records', { token: t.tokens.gate })).status).toBe(403);
    expect((await t.call('POST', '/v1/decisions', { token: t.tokens.auditor, body: { claims: [claim(1)] } })).status).toBe(403);
    const { status, body } = await t.call('GET', '/v1/audit/records?limit=1000', { token: t.tokens.auditor });
    expect(status).toBe(200);
    const steps = body.records.map((r: { action: string; actor: string; subject: string }) => [
      r.action,
      r.actor.replace(/-[\d.]+$/, ''),
      r.subject,
    ]);
    expect(steps).toEqual([
      ['config.load', 'ledger', t.ledger.config.digest],
      ...['gate', 'reporter', 'auditor', 'admin'].map((role) => ['token.create', 'test', expect.stringMatching(new RegExp(`^${role}-`))]),
      ['decision', 'token:gate', id],
      ['decision', 'token:gate', 'db'],
      ['reservation.confirm', 'token:gate', id],
      ['decision', 'token:gate', expect.any(String)],
      ['reservation.release', 'token:gate', expect.any(String)],
      ['usage.report', 'token:reporter', 'sam'],
    ]);
    const denied = body.records[6];
    expect(denied.details).toMatchObject({
      allowed: false,
      mode: 'enforce',
      reserve: false,
      violations: [{ code: 'OVER_ENTITLEMENT' }],
      products: [{ product: 'db', requested: 20 }],
      claims: { count: 1, digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) },
      provenance: { config: expect.any(String), evaluatedAt: '2026-06-01T10:00:00Z' },
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      client: 'node',
    });
    expect(body.records[5].details.reservation).toMatchObject({ id, expiresAt: '2026-06-01T10:10:00.000Z' });
    expect(body.records.at(-1).details).toMatchObject({ settled: [id] });
    // Tokens are never in the log, not even hashed.
    const text = JSON.stringify(body);
    for (const token of Object.values(t.tokens)) expect(text).not.toContain(token.slice(4));
    // The CLI names itself: the log tells a check in CI from another client.
    expect((await cli(['check', tf('one.json'), '--ledger', t.url, '--token-file', tf('gate')])).code).toBe(0);
    const last = await t.call('GET', '/v1/audit/records?since=12', { token: t.tokens.auditor });
    expect(last.body.records).toHaveLength(1);
    expect(last.body.records[0].details.client).toMatch(/^entitlegate\/\d+\.\d+\.\d+ \(cli\)$/);
  });

  it('signs checkpoints every N records with the key it publishes; audit verify checks them through the API and in the store', async () => {
    const t = await start({ checkpointEvery: 5 });
    await activity(t);
    const cps = await until('a checkpoint', async () => {
      const r = await t.call('GET', '/v1/audit/checkpoints', { token: t.tokens.auditor });
      return r.body.checkpoints.length ? r.body.checkpoints : undefined;
    });
    const key = await t.call('GET', '/v1/audit/key', { token: t.tokens.auditor });
    expect(key.body).toMatchObject({ algorithm: 'Ed25519', keyId: cps[0].keyId, publicKey: expect.stringContaining('BEGIN PUBLIC KEY') });
    expect((await cli(['ledger', 'key', 'create', tf('signing.pem')])).stderr).toMatch(
      /exists already; a signing key is never overwritten/,
    );
    expect(statSync(tf('signing.pem')).mode & 0o777).toBe(0o600);

    const viaApi = await cli(['audit', 'verify', '--ledger', t.url, '--token-file', tf('auditor')]);
    expect(viaApi.stdout).toMatch(/^the decision log verifies: records 1–11 \(11\), \d+ signed checkpoints? \(key ed25519:\w+\)/);
    expect(viaApi.code).toBe(0);
    const viaStore = await cli(['audit', 'verify', '--store', t.store, '--format', 'json']);
    // How many checkpoints depends on when the checkpointer looked: one per 5 records at most.
    const report = JSON.parse(viaStore.stdout);
    expect(report).toMatchObject({ ok: true, records: 11, key: { from: 'checkpoints', keyId: cps[0].keyId } });
    expect(report.checkpoints).toBeGreaterThanOrEqual(1);
    expect(report.checkpointedThrough).toBeGreaterThanOrEqual(5);
    // A token without the role: refused (exit 1), as every ledger command's refusal.
    const refused = await cli(['audit', 'verify', '--ledger', t.url, '--token-file', tf('gate')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/HTTP 403\): token:gate-[\d.]+ \(roles: gate\) may not do this; it needs the role auditor/);
  });

  it('audit verify names the first record changed in the store (exit 1), through the API and the store', async () => {
    const t = await start();
    await activity(t);
    const db = new DatabaseSync(t.store);
    db.exec('DROP TRIGGER eg_log_no_update');
    db.exec(`UPDATE eg_log SET details = json_set(details, '$.allowed', json('true')) WHERE seq = 7`);
    db.close();
    for (const where of [
      ['--store', t.store],
      ['--ledger', t.url, '--token-file', tf('auditor')],
    ]) {
      const r = await cli(['audit', 'verify', ...where]);
      expect(r.stdout).toBe('the decision log does not verify: record 7 (decision db) was changed: its content does not match its hash\n');
      expect(r.code).toBe(1);
    }
  });

  it('audit export streams JSON Lines, the same from the API and the store, from a seq or a date', async () => {
    const t = await start();
    await activity(t);
    now = new Date('2026-06-02T00:00:00Z');
    await t.call('POST', '/v1/decisions', { token: t.tokens.gate, body: { claims: [claim(1, 'late')] } });
    const api = await cli(['audit', 'export', '--ledger', t.url, '--token-file', tf('auditor')]);
    const store = await cli(['audit', 'export', '--store', t.store]);
    expect(api.code).toBe(0);
    expect(api.stdout).toBe(store.stdout);
    const lines = api.stdout
      .trimEnd()
      .split('\n')
      .map((x) => JSON.parse(x));
    expect(lines.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const fromSeq = await cli(['audit', 'export', '--since', '10', '--store', t.store]);
    expect(
      fromSeq.stdout
        .trimEnd()
        .split('\n')
        .map((x) => JSON.parse(x).seq),
    ).toEqual([10, 11, 12]);
    const fromDate = await cli(['audit', 'export', '--since', '2026-06-01T12:00:00Z', '--ledger', t.url, '--token-file', tf('auditor')]);
    expect(
      fromDate.stdout
        .trimEnd()
        .split('\n')
        .map((x) => JSON.parse(x).subject),
    ).toEqual(['db']);
    const missing = await cli(['audit', 'verify', '--store', tf('no-such.db')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no-such\.db: no such store/);
    const bad = await cli(['audit', 'export', '--since', 'yesterday', '--ledger', t.url, '--token-file', tf('auditor')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/since must be a record's seq or an ISO-8601 date/);
  });

  it('retention prunes records past their age at a signed checkpoint; what is left still verifies', async () => {
    const t = await start({ retainDays: 30 });
    const head = await prunedInJuly(t);
    expect(head.prunedThrough).toBe(11);
    const left = (await cli(['audit', 'export', '--store', t.store])).stdout
      .trimEnd()
      .split('\n')
      .map((x) => JSON.parse(x));
    // The checkpointer may prune just before or just after July's decision is appended.
    expect(left.map((r) => r.seq)).toEqual([12, 13]);
    expect(left.map((r) => r.action).sort()).toEqual(['audit.prune', 'decision']);
    expect(left.find((r) => r.action === 'audit.prune').details).toEqual({
      through: 11,
      before: '2026-06-05T00:00:00.000Z',
      retainDays: 30,
    });
    const r = await cli(['audit', 'verify', '--ledger', t.url, '--token-file', tf('auditor'), '--format', 'json']);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, firstSeq: 12, lastSeq: 13 });
    expect(r.code).toBe(0);
  });

  /** The test ledger's config with `ledger.audit.retainDays` set to this YAML value. */
  const retaining = (value: string) => {
    const file = tf(`retain-${value.replace(/\W/g, '_')}.yaml`);
    writeFileSync(file, `${readFileSync(TEST_CONFIG, 'utf8')}ledger:\n  url: http://127.0.0.1:8480\n  audit:\n    retainDays: ${value}\n`);
    return file;
  };

  it('the config’s ledger.audit.retainDays prunes as the flag does, and the flag wins over it', async () => {
    for (const [flag, days, before] of [
      [undefined, 30, '2026-06-05T00:00:00.000Z'],
      [20, 20, '2026-06-15T00:00:00.000Z'],
    ] as const) {
      const t = await start(flag === undefined ? {} : { retainDays: flag }, retaining('30'));
      const head = await prunedInJuly(t);
      expect(head.prunedThrough).toBe(11);
      // The cut is signed: a checkpoint at the last record pruned.
      const cps = (await t.call('GET', '/v1/audit/checkpoints', { token: t.tokens.auditor })).body.checkpoints;
      expect(cps.map((c: { seq: number }) => c.seq)).toContain(11);
      const prune = (await t.call('GET', '/v1/audit/records', { token: t.tokens.auditor })).body.records.find(
        (r: { action: string }) => r.action === 'audit.prune',
      );
      expect(prune.details).toEqual({ through: 11, before, retainDays: days });
      const r = await cli(['audit', 'verify', '--store', t.store, '--format', 'json']);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, firstSeq: 12 });
      expect(r.code).toBe(0);
      await t.close();
      l = undefined;
      now = new Date('2026-06-01T10:00:00Z');
    }
  });

  it('refuses a ledger.audit.retainDays that is not a whole number of days, or without a signing key (exit 2, file:line, no store made)', async () => {
    for (const value of ['0', '1.5', '"30"', '-3']) {
      const r = await cli(['ledger', 'serve', '--config', retaining(value), '--store', tf('never.db'), '--signing-key', tf('signing.pem')]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/retain-\S+\.yaml:\d+:\d+ .*ledger\.audit\.retainDays: must be a whole number of days, at least 1/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    const noKey = await cli(['ledger', 'serve', '--config', retaining('30'), '--store', tf('never.db')]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/retain-30\.yaml: ledger\.audit\.retainDays needs --signing-key/);
    expect(existsSync(tf('never.db'))).toBe(false);
  });

  it('ledger serve refuses a signing key that is not Ed25519, and retention without a key (exit 2, before serving)', async () => {
    const notKey = await cli(['ledger', 'serve', '--config', 'x.yaml', '--store', tf('a.db'), '--signing-key', tf('not-a-key.pem')]);
    expect(notKey.code).toBe(2);
    expect(notKey.stderr).toMatch(/--signing-key .*not-a-key\.pem: not an unencrypted PEM private key/);
    const noKey = await cli(['ledger', 'serve', '--config', 'x.yaml', '--store', tf('a.db'), '--retain-days', '30']);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/--retain-days needs --signing-key/);
    expect(readFileSync(tf('signing.pem'), 'utf8')).toContain('BEGIN PRIVATE KEY');
  });
});
