// `entitlegate report --ledger URL` against a real ledger on a socket.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type TestLedger, startTestLedger } from '../ledger/testing/harness.ts';
import { cli, tempFiles } from '../test/cli-harness.ts';

const now = new Date('2026-06-01T10:00:00Z');
let l: TestLedger;
let dir: string;

beforeAll(() => {
  dir = tempFiles({});
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => l?.close());

async function start(): Promise<{ reporter: string; gate: string }> {
  l = await startTestLedger({ clock: () => now });
  const put = (source: string, usage: object[]) =>
    l.call('PUT', `/v1/sources/${source}/usage`, {
      token: l.tokens.reporter,
      body: { version: 1, observedAt: '2026-06-01T09:00:00Z', usage },
    });
  await put('sam:servicenow', [{ product: 'db', quantity: 4, scope: { environment: 'prod' } }]);
  await put('cluster:a', [{ product: 'db', quantity: 3, scope: { environment: 'prod', namespace: '=cmd|calc' } }]);
  const reporter = join(dir, 'reporter');
  const gate = join(dir, 'gate');
  writeFileSync(reporter, l.tokens.reporter);
  writeFileSync(gate, l.tokens.gate);
  return { reporter, gate };
}

describe('entitlegate report --ledger', () => {
  it('prints the reconciliation as JSON, Markdown and CSV (a scope with a comma quoted)', async () => {
    const t = await start();
    const json = await cli(['report', '--ledger', l.url, '--token-file', t.reporter, '--format', 'json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).products[0]).toMatchObject({ product: 'db', entitled: 10, declared: 4, discovered: 3, gap: 1 });

    const md = await cli(['report', '--ledger', l.url, '--token-file', t.reporter]);
    expect(md.code).toBe(0);
    expect(md.stdout).toContain('| db | instances | 10 | 4 | 3 | 0 | 0 | 1 |');
    expect(md.stdout).toContain('## Dormant entitlements (nothing counted for 90 days)\n\n| entitlement');
    expect(md.stdout).toContain('| OS-2026 | os | 100 | platform@example.com | 2026-12-31 |');

    const csv = await cli(['report', '--ledger', l.url, '--token-file', t.reporter, '--format', 'csv', '--dormant-days', '30']);
    expect(csv.code).toBe(0);
    expect(csv.stdout.split('\r\n')).toEqual(
      [
        'product,metric,scope,entitled,declared,discovered,other,reserved,gap',
        'db,instances,*,10,4,3,0,0,1',
        'db,instances,"environment=prod,namespace==cmd|calc",,0,3,0,0,-3',
        'db,instances,environment=prod,,4,0,0,0,4',
        'os,instances,*,100,0,0,0,0,0',
        '',
      ].map((row) => row.replace('os,instances', 'os,vcpu')),
    );
  });

  it('bad input exits 2 with the reason: a token without the role, flags that belong to the local report, an unknown format', async () => {
    const t = await start();
    const refused = await cli(['report', '--ledger', l.url, '--token-file', t.gate]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/needs the role reporter/);
    const mixed = await cli(['report', '--ledger', l.url, '--token-file', t.reporter, '--now', '2026-01-01']);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/--now cannot be used with --ledger/);
    const fmt = await cli(['report', '--ledger', l.url, '--token-file', t.reporter, '--format', 'sarif']);
    expect(fmt.code).toBe(2);
    expect(fmt.stderr).toMatch(/--format must be one of json, markdown, csv/);
    const down = await cli(['report', '--ledger', 'http://127.0.0.1:1', '--token-file', t.reporter]);
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/could not be reached/);
  });
});
