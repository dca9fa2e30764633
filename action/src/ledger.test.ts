// The action with a ledger, run as the runner runs it (from source and as the
// bundle) against a real ledger process: a pull request decides with the
// organisation's usage, a deploy job reserves and gets the reservation id as
// an output, and an unreachable ledger fails the step with nothing recorded.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedgerToken } from '../../ledger/serve.ts';
import { TEST_CONFIG } from '../../ledger/testing/harness.ts';
import { freePort } from '../../ledger/testing/postgres.ts';
import { type LedgerProcess, startLedgerProcess } from '../../ledger/testing/process.ts';
import { run } from './run.ts';
import { startFakeGitHub, type FakeGitHub } from './testing/fake-github.ts';
import { runBundled, runInProcess, type StepOptions, type StepResult } from './testing/runner.ts';

let dir: string;
let workspace: string;
let ledger: LedgerProcess;
let gh: FakeGitHub;
let tokens: { gate: string; admin: string };

/** A workspace with the ledger's config and a change asking for `quantity` vCPU of the product `os` (100 entitled). */
function claimsFile(name: string, quantity: number): string {
  const claims = {
    claims: [{ product: 'os', quantity, scope: {}, resource: { kind: 'Deployment', name, namespace: 'web' } }],
  };
  writeFileSync(join(workspace, 'changes', `${name}.json`), JSON.stringify(claims));
  return `changes/${name}.json`;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eg-action-ledger-'));
  workspace = join(dir, 'ws');
  mkdirSync(join(workspace, 'changes'), { recursive: true });
  copyFileSync(TEST_CONFIG, join(workspace, 'entitlegate.yaml'));
  const store = join(dir, 'ledger.db');
  const now = new Date();
  tokens = {
    gate: (await createLedgerToken({ store, name: 'ci', roles: ['gate'], now })).token,
    admin: (await createLedgerToken({ store, name: 'admin', roles: ['admin'], now })).token,
  };
  ledger = await startLedgerProcess({ config: TEST_CONFIG, store });
  gh = await startFakeGitHub();
});

afterAll(async () => {
  await ledger?.kill();
  await gh?.close();
  rmSync(dir, { recursive: true, force: true });
});

// biome-ignore lint/suspicious/noExplicitAny: test-only reader of JSON answers
async function held(): Promise<any[]> {
  const res = await fetch(`${ledger.url}/v1/reservations?state=held,confirmed&limit=100`, {
    headers: { authorization: `Bearer ${tokens.admin}` },
  });
  return ((await res.json()) as { reservations: unknown[] }).reservations;
}

const runners: [string, (o: StepOptions) => Promise<StepResult>][] = [
  ['from source, in process', (o) => runInProcess(o, run)],
  ['bundled action/dist/index.js, as a node process', runBundled],
];

describe.each(runners)('the action with a ledger, %s', (name, step) => {
  const tag = name.startsWith('bundled') ? 'b' : 's';
  const base = () => ({ config: 'entitlegate.yaml', comment: 'false', 'check-run': 'false', 'ledger-url': ledger.url });

  it('a deploy job reserves: the reservation id is an output, the ledger holds it, and the next change is decided against it', async () => {
    const before = (await held()).length;
    const r = await step({
      apiUrl: gh.url,
      workspace,
      inputs: { ...base(), paths: claimsFile(`web-${tag}`, 60), reserve: 'true', ttl: '10m', 'ledger-token': tokens.gate },
    });
    expect(r.exitCode).toBe(0);
    expect(r.outputs).toMatchObject({ allowed: 'true', violations: '0' });
    expect(r.outputs['reservation-id']).toMatch(/\S/);
    expect(Date.parse(r.outputs['reservation-expires-at']!)).toBeGreaterThan(Date.now() + 9 * 60_000);
    const now = await held();
    expect(now).toHaveLength(before + 1);
    expect(now.map((x: { id: string }) => x.id)).toContain(r.outputs['reservation-id']);
    expect(
      r.stdout
        .split('\n')
        .filter((l) => !l.startsWith('::add-mask::'))
        .join('\n'),
    ).not.toContain(tokens.gate);

    // 60 held + 60 more > 100: the ledger denies, nothing more is held, no reservation output.
    const over = await step({
      apiUrl: gh.url,
      workspace,
      inputs: { ...base(), paths: claimsFile(`web2-${tag}`, 60), reserve: 'true', 'ledger-token': tokens.gate },
    });
    expect(over.exitCode).toBe(1);
    expect(over.outputs).toMatchObject({ allowed: 'false', violations: '1' });
    expect(over.outputs['reservation-id']).toBeUndefined();
    expect(await held()).toHaveLength(before + 1);

    // Free it again for the next runner.
    await fetch(`${ledger.url}/v1/reservations/${r.outputs['reservation-id']}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${tokens.admin}` },
    });
  });

  it('a pull request decides with what others hold at the ledger (token from $ENTITLEGATE_TOKEN) and holds nothing', async () => {
    // Another gate holds 70 of the 100: 40 more would fit the files alone, not the organisation.
    const other = await fetch(`${ledger.url}/v1/decisions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.gate}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        claims: [{ product: 'os', quantity: 70, scope: {}, resource: { kind: 'Deployment', name: `other-${tag}`, namespace: 'x' } }],
        reserve: true,
      }),
    });
    const { reservation } = (await other.json()) as { reservation: { id: string } };
    const before = (await held()).length;
    const r = await step({
      apiUrl: gh.url,
      workspace,
      env: { ENTITLEGATE_TOKEN: tokens.gate },
      inputs: { ...base(), paths: claimsFile(`pr-${tag}`, 40) },
    });
    expect(r.exitCode).toBe(1);
    expect(r.outputs).toMatchObject({ allowed: 'false', violations: '1' });
    expect(r.summary).toContain('OVER_ENTITLEMENT');
    expect(r.outputs['reservation-id']).toBeUndefined();
    expect(await held()).toHaveLength(before);
    await fetch(`${ledger.url}/v1/reservations/${reservation.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${tokens.admin}` },
    });
    const fits = await step({
      apiUrl: gh.url,
      workspace,
      env: { ENTITLEGATE_TOKEN: tokens.gate },
      inputs: { ...base(), paths: claimsFile(`pr-${tag}`, 40) },
    });
    expect(fits.exitCode).toBe(0);
    expect(await held()).toHaveLength(before - 1);
  });

  it('an unreachable ledger fails the step with a clear message and no decision outputs', async () => {
    const port = await freePort();
    const r = await step({
      apiUrl: gh.url,
      workspace,
      inputs: {
        ...base(),
        'ledger-url': `http://127.0.0.1:${port}`,
        paths: claimsFile(`down-${tag}`, 1),
        reserve: 'true',
        'ledger-token': tokens.gate,
      },
    });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('could not be reached');
    expect(r.stdout).toContain('nothing was decided or recorded');
    expect(r.outputs.allowed).toBeUndefined();
  });

  it("without ledger-url, the config's ledger: names the ledger (and its tokenFile the token)", async () => {
    writeFileSync(join(workspace, 'ledger-token'), `${tokens.gate}\n`);
    writeFileSync(
      join(workspace, 'with-ledger.yaml'),
      `${readFileSync(TEST_CONFIG, 'utf8')}ledger:\n  url: ${ledger.url}\n  tokenFile: ledger-token\n`,
    );
    const before = (await held()).length;
    const { 'ledger-url': _url, ...inputs } = base();
    const r = await step({
      apiUrl: gh.url,
      workspace,
      inputs: { ...inputs, config: 'with-ledger.yaml', paths: claimsFile(`cfg-${tag}`, 10), reserve: 'true' },
    });
    expect(r.exitCode).toBe(0);
    expect(r.outputs['reservation-id']).toMatch(/\S/);
    expect(await held()).toHaveLength(before + 1);
    await fetch(`${ledger.url}/v1/reservations/${r.outputs['reservation-id']}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${tokens.admin}` },
    });
  });

  it('a Terraform plan is reserved only with input source, its addresses within that workspace', async () => {
    const plan = {
      format_version: '1.2',
      resource_changes: [
        {
          address: 'aws_instance.db',
          mode: 'managed',
          type: 'aws_instance',
          name: 'db',
          change: { actions: ['create'], before: null, after: { ami: 'ami-db-2026' }, after_unknown: {} },
        },
      ],
    };
    writeFileSync(join(workspace, 'changes', `plan-${tag}.json`), JSON.stringify(plan));
    const inputs = { ...base(), paths: `changes/plan-${tag}.json`, reserve: 'true', 'ledger-token': tokens.gate };
    const before = (await held()).length;
    const unnamed = await step({ apiUrl: gh.url, workspace, inputs });
    expect(unnamed.exitCode).toBe(1);
    expect(unnamed.stdout).toMatch(/reserving Terraform resources \(aws_instance\.db\) needs input source NAME/);
    expect(await held()).toHaveLength(before);
    const r = await step({ apiUrl: gh.url, workspace, inputs: { ...inputs, source: `terraform:ws-${tag}` } });
    expect(r.exitCode).toBe(0);
    const mine = (await held()).find((x: { id: string }) => x.id === r.outputs['reservation-id']);
    expect(mine.lines.map((l: { resource: string }) => l.resource)).toEqual([`terraform:ws-${tag}/aws_instance.db`]);
    await fetch(`${ledger.url}/v1/reservations/${r.outputs['reservation-id']}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${tokens.admin}` },
    });
  });

  it('refuses usage files and a missing token before asking the ledger', async () => {
    const usage = await step({
      apiUrl: gh.url,
      workspace,
      inputs: { ...base(), usage: 'entitlegate.yaml', paths: claimsFile(`u-${tag}`, 1), 'ledger-token': tokens.gate },
    });
    expect(usage.exitCode).toBe(1);
    expect(usage.stdout).toContain('with a ledger the usage comes from the ledger');
    const none = await step({ apiUrl: gh.url, workspace, inputs: { ...base(), paths: claimsFile(`t-${tag}`, 1) } });
    expect(none.exitCode).toBe(1);
    expect(none.stdout).toContain('the ledger needs a token');
  });
});
