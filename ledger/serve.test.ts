// `ledger serve`'s start: HTTPS with the TLS files (reloaded when they change),
// plain HTTP on loopback only, and nothing served from a config, store or
// certificate it could not load.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../test/cli-harness.ts';
import { servedCn, testCa } from '../webhook/test-support.ts';
import { startLedgerServer } from './serve.ts';
import { TEST_CONFIG } from './testing/harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'eg-ledger-serve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const base = { config: TEST_CONFIG, port: 0, clock: () => new Date(), logLevel: 'silent' };

describe('ledger serve', () => {
  it('speaks HTTPS with the TLS files and serves a renewed certificate without a restart', async () => {
    const ca = testCa(dir);
    const one = ca.issue('one', 'one');
    const two = ca.issue('two', 'two');
    const cert = join(dir, 'tls.crt');
    const key = join(dir, 'tls.key');
    copyFileSync(one.cert, cert);
    copyFileSync(one.key, key);
    const { app, address } = await startLedgerServer({
      ...base,
      store: join(dir, 'tls.db'),
      host: '127.0.0.1',
      tls: { cert, key },
      intervalMs: 50,
    });
    try {
      expect(address).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const port = Number(new URL(address).port);
      expect(await servedCn(port, ca.caPem)).toBe('one');
      copyFileSync(two.key, key);
      copyFileSync(two.cert, cert);
      let cn = '';
      for (let i = 0; i < 100 && cn !== 'two'; i++) {
        await sleep(50);
        cn = await servedCn(port, ca.caPem);
      }
      expect(cn).toBe('two');
    } finally {
      await app.close();
    }
  });

  it('plain HTTP only on loopback; a bad TLS file, config or store is refused before anything is served', async () => {
    await expect(startLedgerServer({ ...base, store: join(dir, 'x.db'), host: '0.0.0.0' })).rejects.toThrow(
      /without --tls-cert and --tls-key the ledger serves plain HTTP on loopback only, not on 0\.0\.0\.0/,
    );
    writeFileSync(join(dir, 'bad.crt'), 'not a certificate');
    await expect(
      startLedgerServer({
        ...base,
        store: join(dir, 'x.db'),
        host: '127.0.0.1',
        tls: { cert: join(dir, 'bad.crt'), key: join(dir, 'bad.crt') },
      }),
    ).rejects.toThrow(/--tls-cert .*bad\.crt: not a PEM certificate/);
    writeFileSync(join(dir, 'bad.yaml'), 'version: 1\nproducts: [{ id: x }]\n');
    const bad = await cli(['ledger', 'serve', '--config', join(dir, 'bad.yaml'), '--store', join(dir, 'y.db'), '--port', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad\.yaml: the config has \d+ problems?\n {2}.*bad\.yaml:2:/);
    const noStore = await cli(['ledger', 'serve', '--config', TEST_CONFIG, '--store', 'postgres://nobody@127.0.0.1:1/none', '--port', '0']);
    expect(noStore.code).toBe(2);
    expect(noStore.stderr).toMatch(
      /^entitlegate: postgres:\/\/nobody@127\.0\.0\.1:1\/none: (migrating the schema failed|the store did not answer)/,
    );
    expect(noStore.stderr).not.toMatch(/\n\s+at /);
  });
});
