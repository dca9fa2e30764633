// Tokens never reach the ledger's log: not a good one, not a bad one, not one
// the API creates, not an OIDC token; the store keeps only the hash.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, expect, it } from 'vitest';
import { createToken, hashToken } from './auth.ts';
import { buildLedgerServer } from './server.ts';
import { openLedger } from './serve.ts';
import { TEST_CONFIG } from './testing/harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'eg-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('no token appears in the log, at debug level, whatever the request', async () => {
  let log = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      log += chunk.toString();
      done();
    },
  });
  const now = new Date('2026-06-01T10:00:00Z');
  const ledger = await openLedger({ config: TEST_CONFIG, store: join(dir, 'ledger.db'), clock: () => now });
  const app = await buildLedgerServer({ ledger, logger: { level: 'trace', stream }, intervalMs: 0 });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const admin = (await createToken(ledger.store, 'admin', ['admin'], now, 'test')).token;
    const call = (method: string, path: string, token: string, body?: unknown) =>
      fetch(url + path, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const made = (await (await call('POST', '/v1/tokens', admin, { name: 'ci', roles: ['gate'] })).json()) as { token: string; id: string };
    expect(made.token).toMatch(/^egl_/);
    await call('POST', '/v1/decisions', made.token, { claims: [{ product: 'db', quantity: 1, scope: {} }] });
    await call('GET', '/v1/reservations', made.token);
    await call('GET', '/v1/config', 'egl_wrong-token-value');
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    await call('GET', '/v1/config', jwt);
    await call('POST', '/v1/decisions', made.token, '{"claims": [ broken');
    await call('DELETE', `/v1/tokens/${made.id}`, admin);
    expect(log.length).toBeGreaterThan(0);
    for (const secret of [admin, made.token, 'egl_wrong-token-value', jwt]) expect(log).not.toContain(secret);
    // The store holds the hash, not the token.
    const listed = JSON.stringify(await ledger.store.listTokens());
    expect(listed).not.toContain(made.token);
    expect((await ledger.store.findToken(hashToken(made.token)))?.name).toBe('ci');
  } finally {
    await app.close();
    await ledger.store.close();
  }
});
