// The admission bypass corpus (README.md beside this file): each case's
// AdmissionReview posted to the real HTTPS server on loopback, as the
// kube-apiserver — or someone who is not it — would.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Gate } from '../../../webhook/gate.ts';
import { buildServer } from '../../../webhook/server.ts';
import { Client, testCa } from '../../../webhook/test-support.ts';
import { tempDir } from '../../temp.ts';

interface Case {
  why: string;
  review: string;
  client?: 'apiserver' | 'none' | 'stranger';
  nest?: { replace: string; depth: number };
  status?: number;
  allowed?: boolean;
  violations?: string[];
  requested?: Record<string, number>;
  message?: string[];
  notMessage?: string[];
  reserved?: number;
}

const CASES = join(import.meta.dirname, 'cases');
const CONFIG = join(import.meta.dirname, '..', 'entitlegate.yaml');
const NOW = new Date('2026-11-28T10:00:00Z');

const names = readdirSync(CASES, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

let tmp: ReturnType<typeof tempDir>;
let app: FastifyInstance;
let gate: Gate;
let clients: Record<NonNullable<Case['client']>, Client>;

beforeAll(async () => {
  tmp = tempDir('eg-admission-bypass-');
  const ca = testCa(tmp);
  const apiserverCa = testCa(tmp, 'apiserver-ca');
  const otherCa = testCa(tmp, 'other-ca');
  const tls = { ...ca.issue('webhook'), clientCa: apiserverCa.ca };
  const usage = join(tmp, 'usage.yaml');
  writeFileSync(usage, 'version: 1\nsource: none\nobservedAt: 2026-11-28T06:00:00Z\nusage: []\n');
  gate = await Gate.create({ files: { config: CONFIG, usage: [usage] }, clock: () => NOW });
  app = await buildServer({ gate, tls, cluster: null, reloadIntervalMs: 0, defaultMetrics: false, logger: false });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  clients = {
    apiserver: new Client(base, ca.caPem, 2, apiserverCa.issueClient('kube-apiserver')),
    none: new Client(base, ca.caPem, 2),
    stranger: new Client(base, ca.caPem, 2, otherCa.issueClient('kube-apiserver', 'stranger')),
  };
});

afterAll(async () => {
  for (const c of Object.values(clients ?? {})) await c.close();
  await app?.close();
});

function body(dir: string, c: Case): string {
  const text = readFileSync(join(dir, c.review), 'utf8');
  let json = JSON.stringify(c.review.endsWith('.json') ? JSON.parse(text) : parse(text));
  if (c.nest) {
    const key = c.nest.replace.slice(0, c.nest.replace.indexOf(':') + 1);
    expect(json, `nest.replace ${c.nest.replace} is in the review`).toContain(c.nest.replace);
    json = json.replace(c.nest.replace, `${key}${'{"a":'.repeat(c.nest.depth)}1${'}'.repeat(c.nest.depth)}`);
  }
  return json;
}

describe('admission bypass corpus', () => {
  it('has cases (a corpus that reads nothing proves nothing)', () => {
    expect(names.length).toBeGreaterThan(0);
  });

  for (const name of names) {
    const dir = join(CASES, name);
    const c = parse(readFileSync(join(dir, 'case.yaml'), 'utf8')) as Case;
    it(`${name}: ${c.why}`, async () => {
      gate.reservations.clear();
      const { status, json } = await clients[c.client ?? 'apiserver'].post('/validate', body(dir, c));
      const context = JSON.stringify(json).slice(0, 2000);
      expect(status, context).toBe(c.status ?? 200);
      const response = json?.response;
      const message: string = String(status === 200 ? (response?.status?.message ?? '') : (json?.message ?? ''));
      expect(message, 'no stack trace reaches a user').not.toMatch(/\n\s+at .+:\d+:\d+\)?/);
      if (c.allowed !== undefined) expect(response?.allowed, context).toBe(c.allowed);
      const audit: Record<string, string> = response?.auditAnnotations ?? {};
      for (const code of c.violations ?? []) expect(audit.violations ?? '', context).toContain(`${code}:`);
      for (const [product, q] of Object.entries(c.requested ?? {})) {
        expect(audit.products ?? '', context).toMatch(new RegExp(`(^|,)${product}:-?\\d+\\+${q}/`));
      }
      for (const s of c.message ?? []) expect(message, context).toContain(s);
      for (const s of c.notMessage ?? []) expect(message, context).not.toContain(s);
      if (c.reserved !== undefined) expect(gate.reservations.size, context).toBe(c.reserved);
    });
  }
});
