// The bench's load generator (bench/loadgen) against local servers: what it
// counts, what it checks, and that an open loop counts a server's stall in
// full. No figure of speed is asserted.
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCa } from '../../webhook/test-support.ts';
import { loadgenBinary, runLoad } from './load.ts';
import { tempDir } from '../../test/temp.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const servers: Server[] = [];
async function serve(handler: Handler, https?: { cert: string; key: string }): Promise<string> {
  const s = https ? createHttps({ cert: readFileSync(https.cert), key: readFileSync(https.key) }, handler) : createHttp(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `${https ? 'https' : 'http'}://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

/** Reads the body, then answers `status` with `body`. */
const answer =
  (status: number, body: string, seen?: string[]): Handler =>
  (req, res) => {
    let got = '';
    req.setEncoding('utf8').on('data', (d: string) => (got += d));
    req.on('end', () => {
      seen?.push(`${req.method} ${req.url} ${req.headers['content-type']} ${got}`);
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    });
  };

const base = { concurrency: 2, warmupMs: 100, runMs: 400, runs: 1 };

beforeAll(() => {
  loadgenBinary(); // built once, outside the timed tests
}, 120_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

describe('load generator', () => {
  it('closed loop: sends the request as given and counts the answers', async () => {
    const seen: string[] = [];
    const url = await serve(answer(200, '{"allowed":true}', seen));
    const r = await runLoad({
      ...base,
      url: `${url}/validate?x=1`,
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
      expectBody: '"allowed":true',
    });
    expect(r.requests).toBeGreaterThan(10);
    expect(r.errors).toBe(0);
    expect(r.unexpected).toBe(0);
    expect(r.sample).toBe('{"allowed":true}');
    expect(r.opsPerSec).toBeGreaterThan(0);
    expect(r.p99Ms).toBeGreaterThanOrEqual(r.p50Ms);
    expect(seen[0]).toBe('POST /validate?x=1 application/json {"a":1}');
  });

  it('counts a wrong status as an error and a body without the expected text as unexpected', async () => {
    const failing = await runLoad({ ...base, url: await serve(answer(500, 'boom')) });
    expect(failing.errors).toBe(failing.requests);
    expect(failing.firstError).toBe('HTTP 500: boom');
    const denied = await runLoad({ ...base, url: await serve(answer(200, '{"allowed":false}')), expectBody: '"allowed":true' });
    expect(denied.errors).toBe(0);
    expect(denied.unexpected).toBe(denied.requests);
  });

  it('speaks HTTPS, trusting the given CA for localhost', async () => {
    const ca = testCa(tempDir('eg-loadgen-'));
    const url = await serve(answer(200, 'ok'), ca.issue('localhost'));
    const r = await runLoad({ ...base, url, ca: ca.ca });
    expect(r.errors).toBe(0);
    expect(r.requests).toBeGreaterThan(10);
    const untrusted = await runLoad({ ...base, url });
    expect(untrusted.errors).toBe(untrusted.requests);
    expect(untrusted.firstError).toMatch(/certificate/);
  });

  it('open loop: sends on schedule and counts a stall from when each request was due', async () => {
    // The server blocks its event loop for 300 ms at its 120th request, in the
    // measured second (400 a second, 40 of them in the warm-up). ~120 requests
    // fall due during the stall, each late by up to 300 ms. A client that
    // timed requests from when it sent them would see two slow ones (one per
    // connection) and a p99 of a few ms.
    let n = 0;
    const reply = answer(200, 'ok');
    const url = await serve((req, res) => {
      if (++n === 120) {
        const until = performance.now() + 300;
        while (performance.now() < until);
      }
      reply(req, res);
    });
    const r = await runLoad({ ...base, runMs: 1000, url, rate: 400 });
    expect(n).toBeGreaterThan(120);
    expect(r.errors).toBe(0);
    // the schedule, not the server, sets how many are sent
    expect(r.requests).toBeGreaterThanOrEqual(395);
    expect(r.requests).toBeLessThanOrEqual(410);
    expect(r.p99Ms).toBeGreaterThan(150);
  });
});
