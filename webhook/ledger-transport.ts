// How the webhook talks to the ledger: Node's own HTTP client on one
// keep-alive agent per protocol. An admission waits on this call, and it
// shares the node's CPU with the ledger, so what it costs is paid twice.
//
// Measured at 1,000 requests a second against one server (a 1.5 KB answer,
// 4 s): Node's client 555 ms of CPU, undici's request() 665 ms, the global
// fetch more again. And undici kept each request's objects alive past the
// next young-generation GC, so some 3 MB were copied and then promoted at
// every one: in the webhook under load each such GC took 4-8 ms instead of
// about 1, a full GC followed every second or two, and every admission in
// flight waited through both. Node's client keeps nothing of an answered
// request.
//
// The deadline is a timer cleared with the answer: AbortSignal.timeout()
// would hold each request for the whole 5 s however soon the answer came.
import http from 'node:http';
import https from 'node:https';
import type { Send } from '../ledger-client/client.ts';

export interface PooledSend {
  send: Send;
  close(): Promise<void>;
}

/** Idle keep-alive connections are closed after this (the ledger's own idle limit is longer, so it rarely closes one under us). */
const IDLE_MS = 30_000;

export function pooledSend(): PooledSend {
  const options = { keepAlive: true, maxSockets: 64, timeout: IDLE_MS };
  const agents = { 'http:': new http.Agent(options), 'https:': new https.Agent(options) };
  return {
    send: (req) =>
      new Promise((resolve, reject) => {
        const url = new URL(req.url);
        if (url.protocol !== 'http:' && url.protocol !== 'https:') return reject(new Error(`${url.protocol} is not HTTP`));
        const headers: Record<string, string | number> = { ...req.headers };
        if (req.body !== undefined) headers['content-length'] = Buffer.byteLength(req.body);
        const call = (url.protocol === 'https:' ? https : http).request(
          url,
          { method: req.method, headers, agent: agents[url.protocol] },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              clearTimeout(timer);
              resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
            });
            res.on('error', fail);
          },
        );
        function fail(err: Error) {
          clearTimeout(timer);
          reject(err);
        }
        const timer = setTimeout(() => call.destroy(new Error(`no answer within ${req.timeoutMs} ms`)), req.timeoutMs);
        call.on('error', fail);
        call.end(req.body);
      }),
    async close() {
      for (const a of Object.values(agents)) a.destroy();
    },
  };
}
