import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pooledSend } from './ledger-transport.ts';
import { testCa } from './test-support.ts';
import { tempDir } from '../test/temp.ts';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('eg-ledger-transport-');
});

let servers: Server[] = [];
afterEach(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  servers = [];
});

/** A server on a free port that echoes the method and body, or never answers (`hang`). */
async function serve(o: { hang?: boolean; tls?: { cert: string; key: string } } = {}): Promise<string> {
  const handler: Parameters<typeof createServer>[1] = (req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d));
    req.on('end', () => {
      if (!o.hang) res.writeHead(201).end(JSON.stringify({ method: req.method, body, auth: req.headers.authorization }));
    });
  };
  const s: Server = o.tls
    ? createTlsServer({ cert: readFileSync(o.tls.cert), key: readFileSync(o.tls.key) }, handler)
    : createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `${o.tls ? 'https' : 'http'}://127.0.0.1:${(s.address() as AddressInfo).port}/v1/decisions`;
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapAfterGc = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

describe('the webhook’s transport to the ledger', () => {
  it('sends the method, headers and body, and gives back the status and the text', async () => {
    const url = await serve();
    const t = pooledSend();
    try {
      const res = await t.send({ method: 'POST', url, headers: { authorization: 'Bearer tok' }, body: '{"é":1}', timeoutMs: 5_000 });
      expect(res.status).toBe(201);
      expect(JSON.parse(res.text)).toEqual({ method: 'POST', body: '{"é":1}', auth: 'Bearer tok' });
    } finally {
      await t.close();
    }
  });

  it('keeps nothing of an answered request', async () => {
    // A deadline made with AbortSignal.timeout() kept each request's signal
    // and timer for the whole deadline: about 450 bytes a request here.
    const url = await serve();
    const t = pooledSend();
    try {
      const send = async (n: number) => {
        for (let i = 0; i < n; i++)
          expect((await t.send({ method: 'POST', url, headers: {}, body: '{}', timeoutMs: 60_000 })).status).toBe(201);
      };
      await send(200);
      const base = heapAfterGc();
      await send(500);
      const few = heapAfterGc() - base;
      await send(3000);
      const many = heapAfterGc() - base;
      // What 3,000 more requests left, per request.
      expect((many - few) / 3000).toBeLessThan(250);
    } finally {
      await t.close();
    }
  });

  it('gives up on a ledger that does not answer at the deadline', async () => {
    const url = await serve({ hang: true });
    const t = pooledSend();
    try {
      const started = performance.now();
      await expect(t.send({ method: 'POST', url, headers: {}, body: '{}', timeoutMs: 200 })).rejects.toThrow('no answer within 200 ms');
      expect(performance.now() - started).toBeLessThan(5_000);
    } finally {
      await t.close();
    }
  });

  it('says why when nothing listens', async () => {
    const url = await serve();
    for (const s of servers) await new Promise((r) => s.close(r));
    servers = [];
    const t = pooledSend();
    try {
      await expect(t.send({ method: 'GET', url, headers: {}, timeoutMs: 2_000 })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      await t.close();
    }
  });

  it('speaks HTTPS to an https URL and checks the certificate (a token never goes to a server it cannot verify)', async () => {
    const ca = testCa(tmp);
    const url = await serve({ tls: ca.issue('localhost') });
    const t = pooledSend();
    try {
      // The test CA is not trusted by this process (a deployment trusts its CA with NODE_EXTRA_CA_CERTS).
      await expect(t.send({ method: 'POST', url, headers: {}, body: '{}', timeoutMs: 5_000 })).rejects.toMatchObject({
        code: expect.stringMatching(/CERT|SELF_SIGNED|UNABLE_TO/),
      });
    } finally {
      await t.close();
    }
  });
});
