// The webhook against clients that are not a well-behaved kube-apiserver, over
// real HTTPS on loopback: one that stalls its request, and one that is not the
// kube-apiserver at all when the server authenticates it by client certificate.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { Gate } from './gate.ts';
import { buildServer } from './server.ts';
import { configYaml, deployment, httpsTestbed, NOW, review, testCa, usageYaml, type TestCa } from './test-support.ts';
import type { Timeouts } from './timeouts.ts';

const bed = httpsTestbed();
let clientCa: TestCa;
let otherCa: TestCa;
beforeAll(() => {
  clientCa = testCa(bed.dir, 'apiserver-ca');
  otherCa = testCa(bed.dir, 'other-ca');
});

async function start(o: { clientCa?: string; timeouts?: Partial<Timeouts> } = {}) {
  const dir = bed.runDir();
  const files = { config: join(dir, 'entitlegate.yaml'), usage: join(dir, 'usage.yaml') };
  writeFileSync(files.config, configYaml(64));
  writeFileSync(files.usage, usageYaml(54));
  const gate = await Gate.create({ files: { config: files.config, usage: [files.usage] }, clock: () => NOW });
  const logs: string[] = [];
  const app = await buildServer({
    gate,
    tls: { ...bed.tls, ...(o.clientCa ? { clientCa: o.clientCa } : {}) },
    cluster: null,
    reloadIntervalMs: 0,
    defaultMetrics: false,
    ...(o.timeouts ? { timeouts: o.timeouts } : {}),
    logger: { level: 'info', stream: { write: (line: string) => void logs.push(line) } },
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  bed.defer(() => app.close());
  const client = (identity?: { certPem: Buffer; keyPem: Buffer }) => bed.client(address, 4, identity);
  return { app, gate, logs, port: Number(new URL(address).port), client };
}

const create = (name: string, cpu: string) => review({ operation: 'CREATE', object: deployment({ name, cpu }) });

/** Sends `text` over a raw TLS connection and returns all the server sends back until it closes the connection. */
function rawExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const socket = connect({ host: '127.0.0.1', port, ca: bed.ca.caPem, servername: 'localhost' }, () => socket.write(text));
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (received += d));
    socket.on('close', () => resolve(received));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? resolve(received) : reject(err)));
  });
}

describe('a client that stalls', () => {
  const short = { handshakeMs: 300, headersMs: 300, requestMs: 600, checkIntervalMs: 50 };

  it('is cut off when it opens TCP and never starts the TLS handshake', async () => {
    const { port } = await start({ timeouts: short });
    const { connect: tcp } = await import('node:net');
    const closed = await new Promise<boolean>((resolve) => {
      const socket = tcp({ host: '127.0.0.1', port });
      socket.on('close', () => resolve(true));
      socket.on('error', () => undefined);
    });
    expect(closed).toBe(true);
  });

  it('is cut off when its body stops arriving: 408 and the connection closed, and the server serves on', async () => {
    const { port, client } = await start({ timeouts: short });
    // Announces 1 MiB, sends one byte of it, then nothing.
    const head = 'POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n{';
    const answer = await rawExchange(port, head);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect((await client().post('/validate', create('orders', '2'))).json.response.allowed).toBe(true);
  });

  it('is cut off when it connects and sends nothing', async () => {
    const { port } = await start({ timeouts: short });
    expect(await rawExchange(port, '')).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('is cut off when its headers never end', async () => {
    const { port } = await start({ timeouts: short });
    const answer = await rawExchange(port, 'POST /validate HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('the defaults fit the kube-apiserver: nothing waits longer than its longest webhook timeout (30 s)', async () => {
    const { TIMEOUTS } = await import('./timeouts.ts');
    expect(TIMEOUTS.requestMs).toBeLessThanOrEqual(30_000);
    expect(TIMEOUTS.headersMs).toBeLessThanOrEqual(TIMEOUTS.requestMs);
    const { app } = await start();
    expect(app.server.requestTimeout).toBe(TIMEOUTS.requestMs);
    expect(app.server.headersTimeout).toBe(TIMEOUTS.headersMs);
  });
});

describe('--client-ca: only the kube-apiserver makes admissions', () => {
  it('refuses an admission from a client without a certificate or with one of another CA: 401, no reservation held', async () => {
    const { client, gate, logs } = await start({ clientCa: clientCa.ca });
    const apiserver = client(clientCa.issueClient('kube-apiserver'));
    const nobody = client();
    const stranger = client(otherCa.issueClient('kube-apiserver', 'stranger'));

    for (const c of [nobody, stranger]) {
      // 10 vCPU would take every remaining one, were it reserved.
      const { status, json } = await c.post('/validate', create('grab', '10'));
      expect(status).toBe(401);
      expect(json).toMatchObject({ statusCode: 401, code: 'EG_ERR_UNAUTHENTICATED' });
      expect(json.message).toMatch(/no certificate|not signed by the --client-ca bundle/);
      expect(json.message).not.toMatch(/\n\s+at /);
    }
    expect(gate.reservations.size).toBe(0);
    expect(logs.some((l) => l.includes('admission refused: the client is not the kube-apiserver'))).toBe(true);

    // The 10 vCPU are still there for the real apiserver, which is answered as usual and holds them.
    const real = await apiserver.post('/validate', create('orders', '10'));
    expect(real.status).toBe(200);
    expect(real.json.response.allowed).toBe(true);
    expect(gate.reservations.size).toBe(1);
  });

  it('keeps probes and metrics open without a certificate', async () => {
    const { client } = await start({ clientCa: clientCa.ca });
    const nobody = client();
    expect((await nobody.get('/healthz')).status).toBe(200);
    expect((await nobody.get('/readyz')).status).toBe(200);
    expect((await nobody.get('/metrics')).status).toBe(200);
  });

  it('still checks client certificates after the TLS files are reloaded', async () => {
    const { app, client } = await start({ clientCa: clientCa.ca });
    // The reloader exists only with an interval; reload through a second server's reloader is not needed:
    // setSecureContext with what readTls gives is what a reload does.
    const { readTls } = await import('./reload.ts');
    (app.server as unknown as { setSecureContext(o: object): void }).setSecureContext(readTls({ ...bed.tls, clientCa: clientCa.ca }));
    expect((await client().post('/validate', create('grab', '1'))).status).toBe(401);
    expect((await client(clientCa.issueClient('kube-apiserver', 'apiserver-2')).post('/validate', create('o', '1'))).status).toBe(200);
  });
});
