// How the webhook talks to the ledger: undici's request() on one keep-alive
// agent, instead of the global fetch. An admission waits on this call, and
// fetch's WHATWG streams and per-call setup cost the webhook (and the CPU it
// shares with the ledger on a small node) noticeably more per admission.
import { Agent, request } from 'undici';
import type { Send } from '../ledger-client/client.ts';

export interface PooledSend {
  send: Send;
  close(): Promise<void>;
}

export function pooledSend(): PooledSend {
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 64 });
  return {
    async send(req) {
      const res = await request(req.url, {
        method: req.method as 'GET',
        headers: req.headers,
        ...(req.body !== undefined ? { body: req.body } : {}),
        dispatcher: agent,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
        signal: AbortSignal.timeout(req.timeoutMs),
      });
      return { status: res.statusCode, text: await res.body.text() };
    },
    close: () => agent.close(),
  };
}
