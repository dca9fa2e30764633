// `entitlegate serve` as a user runs it: refuses to start without TLS or with
// a config it cannot load (exit 2, every problem), serves otherwise.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from './run.ts';
import type { Io } from './io.ts';
import { serve } from './serve.ts';
import { startTestLedger } from '../ledger/testing/harness.ts';
import { Client, configYaml, deployment, review, testCa, usageYaml, type TestCa } from '../webhook/test-support.ts';
import { tempDir } from '../test/temp.ts';

let tmp: ReturnType<typeof tempDir>;
let ca: TestCa;
let tls: { cert: string; key: string };
let config: string;
let usage: string;
beforeAll(() => {
  tmp = tempDir();
  ca = testCa(tmp);
  tls = ca.issue('serve');
  config = join(tmp, 'entitlegate.yaml');
  usage = join(tmp, 'usage.yaml');
  writeFileSync(config, configYaml(64));
  writeFileSync(usage, usageYaml(54));
});

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function io() {
  const out: string[] = [];
  const err: string[] = [];
  const value: Io = {
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    readStdin: () => '',
    clock: () => new Date('2026-11-28T10:00:00Z'),
  };
  return { io: value, out, err };
}

describe('entitlegate serve', () => {
  it('refuses to start without --tls-cert/--tls-key unless --insecure-http is given', async () => {
    const t = io();
    expect(await run(['serve', '--config', config], t.io)).toBe(2);
    expect(t.err.join('')).toContain('serve needs --tls-cert and --tls-key');
    expect(t.err.join('')).toContain('--insecure-http');
  });

  it('never serves a config it could not load: exit 2 with each problem at file:line:col', async () => {
    const bad = join(tmp, 'bad.yaml');
    writeFileSync(bad, configYaml(64).replace('model: subscription', 'model: forever'));
    const t = io();
    expect(await run(['serve', '--config', bad, '--tls-cert', tls.cert, '--tls-key', tls.key, '--port', '0'], t.io)).toBe(2);
    expect(t.err.join('')).toMatch(new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+ .*model`));
  });

  it('refuses a TLS file it cannot read (exit 2)', async () => {
    const t = io();
    expect(await run(['serve', '--config', config, '--tls-cert', join(tmp, 'nope.crt'), '--tls-key', tls.key], t.io)).toBe(2);
    expect(t.err.join('')).toContain('cannot read the TLS certificate');
  });

  it('refuses a TLS file that is not a usable PEM: exit 2 naming the flag and the file, never an OpenSSL internal error', async () => {
    const notPem = join(tmp, 'not-pem.txt');
    writeFileSync(notPem, 'this is not a certificate\n');
    const other = ca.issue('other');
    const cases: [string[], string, RegExp][] = [
      [['--tls-cert', notPem, '--tls-key', tls.key], 'EG_ERR_TLS_INVALID', new RegExp(`--tls-cert ${esc(notPem)}: not a PEM certificate`)],
      [
        ['--tls-cert', tls.key, '--tls-key', tls.key],
        'EG_ERR_TLS_INVALID',
        new RegExp(`--tls-cert ${esc(tls.key)}: not a PEM certificate`),
      ],
      [['--tls-cert', tls.cert, '--tls-key', notPem], 'EG_ERR_TLS_INVALID', new RegExp(`--tls-key ${esc(notPem)}: not a PEM private key`)],
      [
        ['--tls-cert', tls.cert, '--tls-key', other.key],
        'EG_ERR_TLS_INVALID',
        new RegExp(`--tls-cert ${esc(tls.cert)} and --tls-key ${esc(other.key)} cannot be used together`),
      ],
      [
        ['--tls-cert', tls.cert, '--tls-key', join(tmp, 'nope.key')],
        'EG_ERR_FILE_NOT_FOUND',
        new RegExp(`--tls-key ${esc(join(tmp, 'nope.key'))}: cannot read the TLS key`),
      ],
    ];
    for (const [flags, code, message] of cases) {
      const t = io();
      expect(await run(['serve', '--config', config, ...flags, '--port', '0', '--no-cluster'], t.io)).toBe(2);
      const text = t.err.join('');
      expect(text).toMatch(message);
      expect(text).not.toContain('internal error');
      await expect(serve(['--config', config, ...flags, '--port', '0', '--no-cluster'], io().io)).rejects.toMatchObject({ code });
    }
  });

  it('--client-ca: refused without TLS, and a file that is not a PEM CA certificate is exit 2 naming the flag', async () => {
    const t = io();
    expect(await run(['serve', '--config', config, '--insecure-http', '--client-ca', ca.ca], t.io)).toBe(2);
    expect(t.err.join('')).toContain(
      '--client-ca authenticates the kube-apiserver by its TLS client certificate, so it needs --tls-cert and --tls-key',
    );
    const notPem = join(tmp, 'not-a-ca.txt');
    writeFileSync(notPem, 'nothing here\n');
    for (const [file, message] of [
      [notPem, `--client-ca ${notPem}: not a PEM CA certificate`],
      [join(tmp, 'missing-ca.crt'), `--client-ca ${join(tmp, 'missing-ca.crt')}: cannot read the TLS client CA`],
    ] as const) {
      const u = io();
      const code = await run(
        ['serve', '--config', config, '--tls-cert', tls.cert, '--tls-key', tls.key, '--client-ca', file, '--port', '0', '--no-cluster'],
        u.io,
      );
      expect(code).toBe(2);
      expect(u.err.join('')).toContain(message);
      expect(u.err.join('')).not.toContain('internal error');
    }
  });

  it('refuses --shared-reservations without a cluster connection, and a namespace that is not a name (exit 2)', async () => {
    const t = io();
    expect(
      await run(
        [
          'serve',
          '--config',
          config,
          '--tls-cert',
          tls.cert,
          '--tls-key',
          tls.key,
          '--port',
          '0',
          '--no-cluster',
          '--shared-reservations',
          'entitlegate',
        ],
        t.io,
      ),
    ).toBe(2);
    expect(t.err.join('')).toContain(
      'shared reservations (namespace entitlegate) are kept in the Kubernetes API, but there is no cluster connection',
    );
    const u = io();
    expect(
      await run(
        ['serve', '--config', config, '--tls-cert', tls.cert, '--tls-key', tls.key, '--shared-reservations', 'Not_A_Namespace'],
        u.io,
      ),
    ).toBe(2);
    expect(u.err.join('')).toContain('--shared-reservations takes the namespace of the Leases');
  });

  it('serves HTTPS with --now fixing the decision instant, and stops cleanly', async () => {
    let stop!: () => void;
    let address!: string;
    const listening = new Promise<void>((resolve) => {
      void serve(
        [
          '--config',
          config,
          '--usage',
          usage,
          '--tls-cert',
          tls.cert,
          '--tls-key',
          tls.key,
          '--port',
          '0',
          '--host',
          '127.0.0.1',
          '--no-cluster',
          '--now',
          '2026-11-28T10:00:00Z',
          '--log-level',
          'silent',
        ],
        io().io,
        {
          stop: new Promise<void>((r) => (stop = r)),
          listening: (a) => {
            address = a;
            resolve();
          },
        },
      ).then((code) => expect(code).toBe(0));
    });
    await listening;
    const client = new Client(address, ca.caPem);
    const res = await client.post('/validate', review({ operation: 'CREATE', object: deployment({ name: 'a', cpu: '12' }) }));
    expect(res.json.response.status.message).toContain('(54 used + 12 requested)');
    expect(res.json.response.auditAnnotations.products).toBe('oracle-db-ee:54+12/64');
    await client.close();
    stop();
  });

  it("decides at the ledger its config's ledger: names (token file relative to the config); --token-file alone is refused", async () => {
    const t = io();
    expect(await run(['serve', '--config', config, '--insecure-http', '--token-file', join(tmp, 'x')], t.io)).toBe(2);
    expect(t.err.join('')).toContain('--token-file goes with --ledger URL');

    const ledgerConfig = join(tmp, 'ledger.yaml');
    writeFileSync(ledgerConfig, configYaml(64));
    const ledger = await startTestLedger({ clock: () => new Date(), config: ledgerConfig });
    try {
      writeFileSync(join(tmp, 'ledger-token'), `${ledger.tokens.gate}\n`);
      const withLedger = join(tmp, 'with-ledger.yaml');
      writeFileSync(withLedger, `${configYaml(64)}ledger:\n  url: ${ledger.url}\n  tokenFile: ledger-token\n`);
      let stop!: () => void;
      let address!: string;
      const listening = new Promise<void>((resolve) => {
        void serve(
          [
            '--config',
            withLedger,
            '--tls-cert',
            tls.cert,
            '--tls-key',
            tls.key,
            '--port',
            '0',
            '--host',
            '127.0.0.1',
            '--no-cluster',
            '--log-level',
            'silent',
          ],
          io().io,
          {
            stop: new Promise<void>((r) => (stop = r)),
            listening: (a) => {
              address = a;
              resolve();
            },
          },
        ).then((code) => expect(code).toBe(0));
      });
      await listening;
      const client = new Client(address, ca.caPem);
      const res = await client.post('/validate', review({ operation: 'CREATE', object: deployment({ name: 'a', cpu: '12' }) }));
      expect(res.json.response.allowed).toBe(true);
      const id = res.json.response.auditAnnotations.reservation as string;
      expect((await ledger.call('GET', `/v1/reservations/${id}`)).body).toMatchObject({ state: 'held' });
      await client.close();
      stop();
    } finally {
      await ledger.close();
    }
  });
});
