// An in-process ledger on a free port with an embedded (or given) store, a
// token per role, and a small HTTP client: tests go through real sockets.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createToken } from '../auth.ts';
import type { Ledger } from '../ledger.ts';
import { type LedgerServeOptions, startLedgerServer } from '../serve.ts';

export const TEST_CONFIG = resolve(import.meta.dirname, '../testdata/ledger.yaml');

export interface TestLedger {
  url: string;
  app: FastifyInstance;
  ledger: Ledger;
  store: string;
  tokens: { gate: string; reporter: string; auditor: string; admin: string };
  // The body as JSON, loosely typed: tests read into it with expect().
  call(method: string, path: string, opts?: { token?: string | null; body?: unknown }): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export async function startTestLedger(opts: {
  clock: () => Date;
  store?: string;
  config?: string;
  tls?: { cert: string; key: string };
  /** The decision log's options (signing key, checkpoints, retention) and a sweep interval. */
  audit?: Pick<LedgerServeOptions, 'signingKey' | 'checkpointEvery' | 'checkpointMinutes' | 'retainDays' | 'intervalMs'>;
}): Promise<TestLedger> {
  const dir = opts.store ? undefined : mkdtempSync(join(tmpdir(), 'eg-ledger-'));
  const store = opts.store ?? join(dir!, 'ledger.db');
  const { app, ledger, address } = await startLedgerServer({
    config: opts.config ?? TEST_CONFIG,
    store,
    port: 0,
    host: '127.0.0.1',
    clock: opts.clock,
    logLevel: 'silent',
    intervalMs: 0,
    ...(opts.tls ? { tls: opts.tls } : {}),
    ...opts.audit,
  }).catch((err: unknown) => {
    // A test of a ledger that refuses to start gets no close() to call.
    if (dir) rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  const now = new Date('2026-01-01T00:00:00Z');
  const mk = async (role: 'gate' | 'reporter' | 'auditor' | 'admin') =>
    (await createToken(ledger.store, `${role}-${Math.random()}`, [role], now, 'test')).token;
  const tokens = { gate: await mk('gate'), reporter: await mk('reporter'), auditor: await mk('auditor'), admin: await mk('admin') };
  return {
    url: address,
    app,
    ledger,
    store,
    tokens,
    async call(method, path, o = {}) {
      const token = o.token === undefined ? tokens.admin : o.token;
      const headers: Record<string, string> = {};
      if (token) headers.authorization = `Bearer ${token}`;
      if (o.body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(address + path, {
        method,
        headers,
        ...(o.body !== undefined ? { body: typeof o.body === 'string' ? o.body : JSON.stringify(o.body) } : {}),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {}
      return { status: res.status, body };
    },
    async close() {
      await app.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
