// The ledger's CLI commands against a real ledger on a socket.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../ledger/testing/postgres.ts';
import { TEST_CONFIG, type TestLedger, startTestLedger } from '../ledger/testing/harness.ts';
import { cli, tempFiles } from '../test/cli-harness.ts';

let now = new Date('2026-06-01T10:00:00Z');
let l: TestLedger;
let dir: string;
const tf = (name: string) => join(dir, name);

const claims = (quantity: number, name = 'orders-db') =>
  JSON.stringify({
    claims: [{ product: 'db', quantity, scope: { environment: 'prod' }, resource: { kind: 'Deployment', name, namespace: 'prod' } }],
  });

beforeAll(() => {
  dir = tempFiles({
    'six.json': claims(6),
    'five.json': claims(5, 'other'),
    'usage.yaml':
      'version: 1\nsource: sam\nobservedAt: 2026-06-01T09:00:00Z\nusage:\n  - product: db\n    quantity: 3\n    resource: Deployment/prod/orders-db\n',
    'bad-usage.yaml': 'version: 1\nobservedAt: 2026-06-01T09:00:00Z\nusage:\n  - product: nope\n    quantity: 3\n',
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await l?.close();
  now = new Date('2026-06-01T10:00:00Z');
});

async function start(): Promise<void> {
  l = await startTestLedger({ clock: () => now });
  for (const role of ['gate', 'reporter', 'admin'] as const) writeFileSync(tf(role), `${l.tokens[role]}\n`);
}

describe('entitlegate check --ledger', () => {
  it('reserves what fits (the id in the JSON and on the terminal), refuses what does not with exit 1', async () => {
    await start();
    const ok = await cli([
      'check',
      tf('six.json'),
      '--ledger',
      l.url,
      '--token-file',
      tf('gate'),
      '--reserve',
      '--ttl',
      '10m',
      '--format',
      'json',
    ]);
    expect(ok.code).toBe(0);
    const decision = JSON.parse(ok.stdout);
    expect(decision).toMatchObject({
      allowed: true,
      products: [{ product: 'db', used: 0, requested: 6 }],
      reservation: { expiresAt: '2026-06-01T10:10:00.000Z' },
    });
    expect(ok.stderr).toContain(`entitlegate ledger confirm ${decision.reservation.id}`);

    const over = await cli(['check', tf('five.json'), '--ledger', l.url, '--token-file', tf('gate'), '--reserve']);
    expect(over.code).toBe(1);
    expect(over.stdout).toContain('OVER_ENTITLEMENT');
    expect(over.stdout).not.toContain('reservation ');

    // A read-only check (a pull request) sees the reservation and holds nothing.
    const look = await cli(['check', tf('five.json'), '--ledger', l.url, '--token-file', tf('gate'), '--format', 'json']);
    expect(look.code).toBe(1);
    expect(JSON.parse(look.stdout).reservation).toBeUndefined();

    const released = await cli(['ledger', 'release', decision.reservation.id, '--ledger', l.url, '--token-file', tf('gate')]);
    expect(released).toMatchObject({ code: 0, stdout: `reservation ${decision.reservation.id}: released\n` });
    expect((await cli(['check', tf('five.json'), '--ledger', l.url, '--token-file', tf('gate')])).code).toBe(0);
  });

  it('confirm keeps the reservation past its TTL; confirming an expired one is refused (exit 1)', async () => {
    await start();
    const a = JSON.parse(
      (await cli(['check', tf('six.json'), '--ledger', l.url, '--token-file', tf('gate'), '--reserve', '--ttl', '1m', '--format', 'json']))
        .stdout,
    );
    const confirmed = await cli(['ledger', 'confirm', a.reservation.id, '--ledger', l.url, '--token-file', tf('gate')]);
    expect(confirmed).toMatchObject({ code: 0, stdout: `reservation ${a.reservation.id}: confirmed\n` });
    now = new Date('2026-06-01T11:00:00Z');
    expect((await cli(['check', tf('five.json'), '--ledger', l.url, '--token-file', tf('gate')])).code).toBe(1);
    await cli(['ledger', 'release', a.reservation.id, '--ledger', l.url, '--token-file', tf('gate')]);
    const b = JSON.parse(
      (await cli(['check', tf('five.json'), '--ledger', l.url, '--token-file', tf('gate'), '--reserve', '--ttl', '1m', '--format', 'json']))
        .stdout,
    );
    now = new Date('2026-06-01T11:01:00Z');
    const late = await cli(['ledger', 'confirm', b.reservation.id, '--ledger', l.url, '--token-file', tf('gate')]);
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/is expired .* decide and reserve again/);
  });

  it('a token without the role is refused (exit 1); none at all, or a ledger that is not there, is exit 2 with a clear message', async () => {
    await start();
    const asReporter = await cli(['check', tf('six.json'), '--ledger', l.url, '--token-file', tf('reporter')]);
    expect(asReporter.code).toBe(1);
    expect(asReporter.stderr).toMatch(/needs the role gate/);
    const noToken = await cli(['check', tf('six.json'), '--ledger', l.url]);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/needs a token: set \$ENTITLEGATE_TOKEN or pass --token-file/);
    const port = await freePort();
    const down = await cli(['check', tf('six.json'), '--ledger', `http://127.0.0.1:${port}`, '--token-file', tf('gate'), '--reserve']);
    expect(down.code).toBe(2);
    expect(down.stderr).toBe(
      `entitlegate: the ledger at http://127.0.0.1:${port} could not be reached (ECONNREFUSED); nothing was decided or recorded\n`,
    );
    expect((await cli(['check', tf('six.json'), '--config', TEST_CONFIG, '--reserve'])).stderr).toMatch(
      /--reserve, --ttl, --source and --token-file go with --ledger URL/,
    );
    expect((await cli(['check', tf('six.json'), '--ledger', l.url, '--config', 'x.yaml'])).code).toBe(2);
  });

  it('a config with ledger.url (and tokenFile, relative to it) sends check to that ledger; --usage is refused with it', async () => {
    await start();
    const config = tf('with-ledger.yaml');
    writeFileSync(config, `${readFileSync(TEST_CONFIG, 'utf8')}ledger:\n  url: ${l.url}\n  tokenFile: gate\n`);
    const r = await cli(['check', tf('six.json'), '--config', config, '--reserve', '--format', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).reservation.id).toEqual(expect.any(String));
    // The reservation is at the ledger: a second 6 does not fit.
    expect((await cli(['check', tf('five.json'), '--config', config])).code).toBe(1);
    writeFileSync(tf('plain-usage.yaml'), 'version: 1\nsource: sam\nobservedAt: 2026-06-01T09:00:00Z\nusage: []\n');
    const withUsage = await cli(['check', tf('six.json'), '--config', config, '--usage', tf('plain-usage.yaml')]);
    expect(withUsage).toMatchObject({ code: 2, stderr: expect.stringContaining('the usage comes from the ledger: drop --usage') });
  });
});

describe('a Terraform pipeline on the ledger', () => {
  it('the plan reserves by address; the state after apply, put as the workspace’s usage, settles the reservation and counts instead', async () => {
    await start();
    const plan = {
      format_version: '1.2',
      terraform_version: '1.5.7',
      resource_changes: [
        {
          address: 'module.data.aws_instance.db[0]',
          module_address: 'module.data',
          mode: 'managed',
          type: 'aws_instance',
          name: 'db',
          change: { actions: ['create'], before: null, after: { ami: 'ami-db-2026' }, after_unknown: {} },
        },
      ],
    };
    const state = {
      format_version: '1.0',
      terraform_version: '1.5.7',
      values: {
        root_module: {
          child_modules: [
            {
              address: 'module.data',
              resources: [
                {
                  address: 'module.data.aws_instance.db[0]',
                  mode: 'managed',
                  type: 'aws_instance',
                  name: 'db',
                  values: { ami: 'ami-db-2026' },
                },
              ],
            },
          ],
        },
      },
    };
    writeFileSync(tf('plan.json'), JSON.stringify(plan));
    writeFileSync(tf('state.json'), JSON.stringify(state));
    const reserve = ['check', tf('plan.json'), '--ledger', l.url, '--token-file', tf('gate'), '--reserve', '--format', 'json'];
    // Without the workspace's source no state report could settle it: refused, nothing reserved.
    const unnamed = await cli(reserve);
    expect(unnamed.code).toBe(2);
    expect(unnamed.stderr).toMatch(
      /reserving Terraform resources \(module\.data\.aws_instance\.db\[0\]\) needs --source NAME.*Nothing was reserved/,
    );
    expect((await l.call('GET', '/v1/reservations?state=held')).body.reservations).toEqual([]);
    // A read-only check needs none.
    expect((await cli(['check', tf('plan.json'), '--ledger', l.url, '--token-file', tf('gate')])).code).toBe(0);
    const reserved = await cli([...reserve, '--source', 'terraform:payments-prod']);
    expect(reserved.code).toBe(0);
    const id = JSON.parse(reserved.stdout).reservation.id;
    expect((await l.call('GET', `/v1/reservations/${id}`)).body.lines).toEqual([
      { product: 'db', quantity: 1, scope: {}, resource: 'terraform:payments-prod/module.data.aws_instance.db[0]', target: 1 },
    ]);
    const put = await cli([
      'ledger',
      'usage',
      'put',
      '--ledger',
      l.url,
      '--token-file',
      tf('reporter'),
      '--source',
      'terraform:payments-prod',
      tf('state.json'),
    ]);
    expect(put).toMatchObject({ code: 0, stdout: 'source terraform:payments-prod: 1 usage record stored; settled 1 reservation\n' });
    expect((await l.call('GET', `/v1/reservations/${id}`)).body.state).toBe('settled');
    const look = JSON.parse(
      (await cli(['check', tf('five.json'), '--ledger', l.url, '--token-file', tf('gate'), '--format', 'json'])).stdout,
    );
    expect(look.products[0]).toMatchObject({ used: 1 });
  });
});

describe('Terraform workspaces as sources', () => {
  const instances = (names: string[]) =>
    names.map((n) => ({ address: `aws_instance.${n}`, mode: 'managed', type: 'aws_instance', name: n, values: { ami: 'ami-db-2026' } }));
  const state = (names: string[]) => JSON.stringify({ format_version: '1.0', values: { root_module: { resources: instances(names) } } });
  const plan = (names: string[]) =>
    JSON.stringify({
      format_version: '1.2',
      resource_changes: instances(names).map(({ values, ...r }) => ({
        ...r,
        change: { actions: ['create'], before: null, after: values, after_unknown: {} },
      })),
    });
  const put = (source: string, file: string) =>
    cli(['ledger', 'usage', 'put', '--ledger', l.url, '--token-file', tf('reporter'), '--source', source, tf(file)]);
  const used = async () =>
    JSON.parse((await cli(['check', tf('one.json'), '--ledger', l.url, '--token-file', tf('gate'), '--format', 'json'])).stdout)
      .products[0];

  it('two workspaces with the same addresses are two sets of resources: both count, and together they are over capacity', async () => {
    await start();
    writeFileSync(tf('one.json'), claims(1, 'probe'));
    writeFileSync(tf('prod-state.json'), state(['db[0]', 'db[1]', 'db[2]', 'db[3]', 'db[4]', 'db[5]']));
    writeFileSync(tf('staging-state.json'), state(['db[0]', 'db[1]', 'db[2]', 'db[3]', 'db[4]']));
    expect((await put('terraform:prod', 'prod-state.json')).code).toBe(0);
    expect((await put('terraform:staging', 'staging-state.json')).code).toBe(0);
    // 6 + 5 = 11 of 10: counted once each, the same addresses would have been 6.
    expect(await used()).toMatchObject({ used: 11, capacity: 10 });
    const more = await cli(['check', tf('one.json'), '--ledger', l.url, '--token-file', tf('gate')]);
    expect(more.code).toBe(1);
    expect(more.stdout).toMatch(/OVER_ENTITLEMENT/);
  });

  it("a plan reserved with --source is settled by that workspace's state, not by another workspace's with the same address", async () => {
    await start();
    writeFileSync(tf('one.json'), claims(1, 'probe'));
    writeFileSync(tf('new-plan.json'), plan(['extra']));
    writeFileSync(tf('with-extra.json'), state(['extra']));
    const reserved = await cli([
      'check',
      tf('new-plan.json'),
      '--ledger',
      l.url,
      '--token-file',
      tf('gate'),
      '--reserve',
      '--source',
      'terraform:staging',
      '--format',
      'json',
    ]);
    expect(reserved.code).toBe(0);
    const id = JSON.parse(reserved.stdout).reservation.id;
    // prod reports aws_instance.extra of its own: staging's reservation still holds (1 reported + 1 held).
    expect(await put('terraform:prod', 'with-extra.json')).toMatchObject({
      code: 0,
      stdout: 'source terraform:prod: 1 usage record stored\n',
    });
    expect((await l.call('GET', `/v1/reservations/${id}`)).body.state).toBe('held');
    expect(await used()).toMatchObject({ used: 2 });
    expect(await put('terraform:staging', 'with-extra.json')).toMatchObject({ stdout: expect.stringContaining('settled 1 reservation') });
    expect((await l.call('GET', `/v1/reservations/${id}`)).body.state).toBe('settled');
    expect(await used()).toMatchObject({ used: 2 });
    // A plan that only destroys holds nothing, so it needs no source to be "reserved".
    writeFileSync(
      tf('destroy-plan.json'),
      JSON.stringify({
        format_version: '1.2',
        resource_changes: instances(['gone']).map(({ values, ...r }) => ({
          ...r,
          change: { actions: ['delete'], before: values, after: null, after_unknown: {} },
        })),
      }),
    );
    expect((await cli(['check', tf('destroy-plan.json'), '--ledger', l.url, '--token-file', tf('gate'), '--reserve'])).code).toBe(0);
    // A --source that is no source name is bad input.
    const bad = await cli([
      'check',
      tf('new-plan.json'),
      '--ledger',
      l.url,
      '--token-file',
      tf('gate'),
      '--reserve',
      '--source',
      'no spaces',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--source must be a source name/);
  });
});

describe('entitlegate ledger usage put / token create', () => {
  it('stores a usage snapshot for a source (settling the reservation of the resource it names); a bad one is refused at its lines', async () => {
    await start();
    const r = JSON.parse(
      (await cli(['check', tf('six.json'), '--ledger', l.url, '--token-file', tf('gate'), '--reserve', '--format', 'json'])).stdout,
    );
    const put = await cli([
      'ledger',
      'usage',
      'put',
      '--ledger',
      l.url,
      '--token-file',
      tf('reporter'),
      '--source',
      'sam:servicenow',
      tf('usage.yaml'),
    ]);
    expect(put).toMatchObject({ code: 0, stdout: 'source sam:servicenow: 1 usage record stored; settled 1 reservation\n' });
    const look = JSON.parse(
      (await cli(['check', tf('five.json'), '--ledger', l.url, '--token-file', tf('gate'), '--format', 'json'])).stdout,
    );
    expect(look.products[0]).toMatchObject({ used: 3 });
    expect((await l.call('GET', `/v1/reservations/${r.reservation.id}`)).body.state).toBe('settled');

    const bad = await cli([
      'ledger',
      'usage',
      'put',
      '--ledger',
      l.url,
      '--token-file',
      tf('reporter'),
      '--source',
      'x',
      tf('bad-usage.yaml'),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${tf('bad-usage.yaml')}:4:14 unknown product "nope"`);
  });

  it('a usage snapshot refuses scope flags (they are for a Terraform state): exit 2, nothing stored', async () => {
    await start();
    const put = await cli([
      'ledger',
      'usage',
      'put',
      '--ledger',
      l.url,
      '--token-file',
      tf('reporter'),
      '--source',
      'sam',
      '--environment',
      'prod',
      tf('usage.yaml'),
    ]);
    expect(put.code).toBe(2);
    expect(put.stderr).toContain('scope parameters (environment) go with a Terraform state');
    expect((await l.call('GET', '/v1/sources')).body.sources).toEqual([]);
  });

  it('creates a token once, stored hashed, that the server then accepts', async () => {
    await start();
    const created = await cli([
      'ledger',
      'token',
      'create',
      '--store',
      l.store,
      '--name',
      'deploy-job',
      '--role',
      'gate',
      '--role',
      'reporter',
    ]);
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^egl_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toContain('shown once');
    expect(readFileSync(l.store).includes(Buffer.from(token))).toBe(false);
    expect((await l.call('GET', '/v1/config', { token })).status).toBe(200);
    expect((await cli(['ledger', 'token', 'create', '--store', l.store, '--name', 'x', '--role', 'root'])).stderr).toMatch(
      /unknown role "root"/,
    );
  });

  it('limits a reporter token to its sources; the server then refuses it as any other source', async () => {
    await start();
    const base = ['ledger', 'token', 'create', '--store', l.store, '--name', 'eu', '--role', 'reporter'];
    const created = await cli([...base, '--source', 'cluster:eu-*']);
    expect(created.code).toBe(0);
    expect(created.stderr).toContain('sources: cluster:eu-*');
    const token = created.stdout.trim();
    const body = { version: 1, observedAt: '2026-06-01T09:00:00Z', usage: [] };
    expect((await l.call('PUT', '/v1/sources/cluster:eu-2/usage', { token, body })).status).toBe(200);
    expect((await l.call('PUT', '/v1/sources/cluster:us-1/usage', { token, body })).status).toBe(403);
    expect((await cli(['ledger', 'token', 'list', '--store', l.store])).stdout).toMatch(/eu {2}reporter {2}sources=cluster:eu-\*/);
    const bad = await cli([...base, '--source', 'cluster eu']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--source must be a source name or glob');
  });
});
