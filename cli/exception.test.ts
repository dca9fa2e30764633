// `entitlegate exception …` and `ledger token create|list|revoke` against a real ledger on a socket.
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type TestLedger, startTestLedger } from '../ledger/testing/harness.ts';
import { cli, tempFiles } from '../test/cli-harness.ts';

const CONFIG = resolve(import.meta.dirname, '../ledger/testdata/ledger-governance.yaml');
let now = new Date('2026-06-01T10:00:00Z');
let l: TestLedger;
let dir: string;
const tf = (name: string) => join(dir, name);

beforeAll(() => {
  dir = tempFiles({
    'three.json': JSON.stringify({ claims: [{ product: 'db', quantity: 13, scope: { environment: 'prod' } }] }),
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await l?.close();
  now = new Date('2026-06-01T10:00:00Z');
});

/** A token made with the CLI on the ledger's store, kept in a file named after it. */
async function token(name: string, ...args: string[]): Promise<string> {
  const made = await cli(['ledger', 'token', 'create', '--store', l.store, '--name', name, ...args]);
  expect(made.code, made.stderr).toBe(0);
  writeFileSync(tf(name), made.stdout);
  expect(made.stderr).not.toContain(made.stdout.trim());
  return tf(name);
}

describe('entitlegate exception', () => {
  it('request, approve by another identity, list; the requester approving is refused with exit 1', async () => {
    l = await startTestLedger({ clock: () => now, config: CONFIG });
    const alice = await token('alice', '--role', 'gate');
    const bob = await token('bob', '--role', 'approver', '--product', 'db');
    const at = ['--ledger', l.url];
    expect((await cli(['check', tf('three.json'), ...at, '--token-file', alice])).code).toBe(1);

    const req = await cli([
      'exception',
      'request',
      ...at,
      '--token-file',
      alice,
      '--product',
      'db',
      '--quantity',
      '3',
      '--until',
      '2026-06-15',
      '--scope',
      'environment=prod',
      '--reason',
      'migration',
      '--ticket',
      'CHG-9',
      '--format',
      'json',
    ]);
    expect(req.code, req.stderr).toBe(0);
    const x = JSON.parse(req.stdout);
    expect(x).toMatchObject({
      id: expect.stringMatching(/^exc-\d+$/),
      state: 'pending',
      requestedBy: 'token:alice',
      scope: { environment: 'prod' },
    });

    const own = await cli(['exception', 'approve', x.id, ...at, '--token-file', alice]);
    expect(own.code).toBe(1);
    expect(own.stderr).toMatch(/needs the role approver/);
    const ok = await cli(['exception', 'approve', x.id, ...at, '--token-file', bob, '--reason', 'fine']);
    expect(ok).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(new RegExp(`^${x.id}  active  db \\+3 \\[environment=prod\\] until 2026-06-15`)),
    });
    expect((await cli(['check', tf('three.json'), ...at, '--token-file', alice])).code).toBe(0);

    const list = await cli(['exception', 'list', ...at, '--token-file', bob, '--state', 'active']);
    expect(list.stdout).toContain(`${x.id}  active`);
    expect((await cli(['exception', 'list', ...at, '--token-file', bob, '--state', 'pending'])).stdout).toBe('no pending exceptions\n');
    const revoked = await cli(['exception', 'revoke', x.id, ...at, '--token-file', alice, '--reason', 'done early', '--format', 'json']);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ state: 'revoked', endedBy: 'token:alice', endReason: 'done early' });
    expect((await cli(['check', tf('three.json'), ...at, '--token-file', alice])).code).toBe(1);

    const missing = await cli([
      'exception',
      'request',
      ...at,
      '--token-file',
      alice,
      '--product',
      'db',
      '--quantity',
      '3',
      '--until',
      '2026-06-15',
      '--reason',
      'x',
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/a ticket reference is required/);
    expect((await cli(['exception', 'list', ...at, '--token-file', bob, '--state', 'open'])).code).toBe(2);
  });

  it('ledger token list shows no secrets; a revoked token is refused (exit 2: the credential is no good)', async () => {
    l = await startTestLedger({ clock: () => now, config: CONFIG });
    const carol = await token('carol', '--role', 'gate', '--scope', 'environment=prod');
    const list = await cli(['ledger', 'token', 'list', '--store', l.store, '--format', 'json']);
    const { tokens } = JSON.parse(list.stdout);
    const mine = tokens.find((t: { name: string }) => t.name === 'carol');
    expect(mine).toMatchObject({ roles: ['gate'], scope: { environment: 'prod' }, revokedAt: null });
    expect(list.stdout).not.toContain('egl_');
    expect(list.stdout).not.toContain('sha256');
    const revoked = await cli(['ledger', 'token', 'revoke', mine.id, '--store', l.store]);
    expect(revoked).toMatchObject({ code: 0, stdout: expect.stringContaining(`token ${mine.id} ("carol") revoked at`) });
    const refused = await cli(['exception', 'list', '--ledger', l.url, '--token-file', carol]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/token "carol" was revoked at .*; ask for a new one/);
    expect((await cli(['ledger', 'token', 'revoke', 'no-such-id', '--store', l.store])).code).toBe(2);
  });
});
