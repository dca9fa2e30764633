// The run task endpoint against a local server that speaks HCP Terraform's
// side of the protocol: the plan JSON API (bearer token, 307 to a storage host
// on another origin, as the real API does) and the task result callback.
// Decisions come from the real compiled policy.
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { fetch as undiciFetch } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../engine/version.ts';
import { change, plan } from '../adapters/terraform/test-helpers.ts';
import { parseConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { Engine } from '../engine/engine.ts';
import { LedgerClient } from '../ledger-client/client.ts';
import { createLedgerToken } from '../ledger/serve.ts';
import { freePort } from '../ledger/testing/postgres.ts';
import { type LedgerProcess, startLedgerProcess } from '../ledger/testing/process.ts';
import { runTaskPlugin, signatureValid, type RunTaskOptions, type TaskResult } from './run-task.ts';
import { RunTaskLedger } from './run-task-ledger.ts';

const NOW = new Date('2026-11-28T10:00:00Z');
const TOKEN = 'atlasv1.secret-run-token-4QEuyyxug1f2rw';
const HMAC_KEY = 'hmac-key-never-logged';

const CONFIG = `version: 1
defaults:
  warnAt: 0.8
  unlicensed: deny
  unknownQuantity: deny
  peak: warn
products:
  - id: weblogic-ee
    vendor: Oracle
    name: WebLogic Server Enterprise Edition
    metric: vcpu
    match:
      terraform:
        - type: terraform_data
          where: { input.product: weblogic-ee }
          quantity: { attribute: input.vcpu }
entitlements:
  - id: WLS-PROD-2026
    product: weblogic-ee
    model: subscription
    quantity: 32
    validFrom: 2026-01-01
    validUntil: 2027-12-31
    scope: { environment: [prod] }
    owner: middleware@example.com
# The stand-in for HCP Terraform listens on loopback, which only a listed host may be.
terraform:
  runTaskHosts: ['127.0.0.1']
`;

const nodes = (n: number, vcpu: number, prefix = 'app') =>
  Array.from({ length: n }, (_, i) =>
    change(
      `terraform_data.${prefix}[${i}]`,
      ['create'],
      null,
      { input: { product: 'weblogic-ee', vcpu }, output: null, triggers_replace: null },
      { after_unknown: { id: true, output: true } },
    ),
  );

/** 20 vCPU in use of 32: 2 × 1 fits quietly, 2 × 4 fits with APPROACHING_LIMIT, 4 × 4 is over. */
const PLANS: Record<string, string> = {
  small: JSON.stringify(plan(nodes(2, 1)), null, 2),
  near: JSON.stringify(plan(nodes(2, 4)), null, 2),
  over: JSON.stringify(plan(nodes(4, 4)), null, 2),
  truncated: JSON.stringify(plan(nodes(2, 1))).slice(0, 120),
  notAPlan: JSON.stringify({ hello: 'world' }),
  /** Over the 16 KiB limit the size tests set (served with a Content-Length; `chunked` streams it without one). */
  huge: JSON.stringify(plan(nodes(300, 1, 'big'))),
  /** A quantity attribute nested 20,000 levels deep: more than the adapter's recursion can read. */
  deep: JSON.stringify(plan(nodes(1, 1))).replace('"vcpu":1', `"vcpu":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`),
};
const SMALL_LIMIT = 16 * 1024;

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** HCP Terraform's side: plan JSON API, storage host, callback. */
class FakeHcp {
  api!: Server;
  storage!: Server;
  apiUrl = '';
  storageUrl = '';
  requests: Recorded[] = [];
  storageRequests: Recorded[] = [];
  callbacks: Recorded[] = [];
  #waiters: ((r: Recorded) => void)[] = [];
  /** Status the callback answers with, per call (then 200). */
  callbackStatuses: number[] = [];

  async start(): Promise<void> {
    this.storage = createServer((req, res) => {
      void readBody(req).then((body) => {
        const rec = { method: req.method!, url: req.url!, headers: req.headers, body };
        this.storageRequests.push(rec);
        const name = /^\/archivist\/([A-Za-z]+)\?/.exec(req.url!)?.[1];
        if (name === 'chunked') {
          // No Content-Length: only a limit on the bytes actually read stops this one.
          res.writeHead(200, { 'content-type': 'application/json' });
          const text = PLANS.huge!;
          for (let i = 0; i < text.length; i += 4096) res.write(text.slice(i, i + 4096));
          return void res.end();
        }
        const text = name ? PLANS[name] : undefined;
        if (text === undefined) return void res.writeHead(404).end('no such object');
        res.writeHead(200, { 'content-type': 'application/json' }).end(text);
      });
    });
    this.api = createServer((req, res) => {
      void readBody(req).then((body) => {
        const rec = { method: req.method!, url: req.url!, headers: req.headers, body };
        this.requests.push(rec);
        const planMatch = /^\/api\/v2\/plans\/plan-([A-Za-z]+)\/json-output$/.exec(req.url!);
        if (req.method === 'GET' && planMatch) {
          if (req.headers.authorization !== `Bearer ${TOKEN}`) return void res.writeHead(401).end('{"errors":[{"status":"401"}]}');
          if (planMatch[1] === 'gone') return void res.writeHead(404).end('{"errors":[{"status":"404"}]}');
          // Hostile redirects: to another host name (the same machine, spelt otherwise), and to another scheme.
          const port = new URL(this.storageUrl).port;
          if (planMatch[1] === 'elsewhere')
            return void res.writeHead(307, { location: `http://localhost:${port}/archivist/small?signature=abc` }).end();
          if (planMatch[1] === 'upgrade')
            return void res.writeHead(307, { location: `https://127.0.0.1:${port}/archivist/small?signature=abc` }).end();
          // Like app.terraform.io: a temporary redirect to a signed storage URL on another host.
          return void res.writeHead(307, { location: `${this.storageUrl}/archivist/${planMatch[1]}?signature=abc` }).end();
        }
        if (req.method === 'PATCH' && /^\/api\/v2\/task-results\/[^/]+\/callback$/.test(req.url!)) {
          this.callbacks.push(rec);
          const status = this.callbackStatuses.shift() ?? 200;
          res.writeHead(status).end();
          if (status === 200) for (const w of this.#waiters.splice(0)) w(rec);
          return;
        }
        res.writeHead(404).end();
      });
    });
    this.apiUrl = await listen(this.api);
    this.storageUrl = await listen(this.storage);
  }

  nextCallback(): Promise<Recorded> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  reset(): void {
    this.requests = [];
    this.storageRequests = [];
    this.callbacks = [];
    this.callbackStatuses = [];
  }

  async stop(): Promise<void> {
    await Promise.all([this.api, this.storage].map((s) => new Promise((r) => s.close(r))));
  }
}

function readBody(req: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (s += c));
    req.on('end', () => resolve(s));
  });
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

const hcp = new FakeHcp();
let engine: Engine<Config>;
let logs = '';

beforeAll(async () => {
  await hcp.start();
  engine = await Engine.create(parseConfig('entitlegate.yaml', CONFIG), [
    {
      source: 'servicenow-sam-export',
      observedAt: '2026-11-28T06:00:00Z',
      usage: [{ product: 'weblogic-ee', quantity: 20, scope: { environment: 'prod' } }],
    },
  ]);
});
afterAll(() => hcp.stop());
afterEach(() => hcp.reset());

async function appWith(extra: Partial<RunTaskOptions> = {}): Promise<FastifyInstance> {
  logs = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs += chunk.toString();
      cb();
    },
  });
  const app = Fastify({ logger: { level: 'debug', stream } });
  await app.register(runTaskPlugin, {
    getEngine: () => engine,
    getConfig: () => engine.config,
    clock: () => NOW,
    scope: { environment: 'prod' },
    hmacKey: HMAC_KEY,
    ...extra,
  });
  return app;
}

function payload(stage: string, planName: string | null, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    payload_version: 1,
    stage,
    access_token: TOKEN,
    capabilities: { outcomes: true },
    configuration_version_download_url: `${hcp.apiUrl}/api/v2/configuration-versions/cv-1/download`,
    configuration_version_id: 'cv-ntv3HbhJqvFzamy7',
    is_speculative: false,
    organization_name: 'acme',
    ...(planName ? { plan_json_api_url: `${hcp.apiUrl}/api/v2/plans/plan-${planName}/json-output` } : {}),
    run_app_url: 'https://app.terraform.io/app/acme/payments/runs/run-i3Df5to9ELvibKpQ',
    run_created_at: '2026-11-28T09:59:00.000Z',
    run_created_by: 'alice',
    run_id: 'run-i3Df5to9ELvibKpQ',
    run_message: 'Triggered via UI',
    task_result_callback_url: `${hcp.apiUrl}/api/v2/task-results/5ea8d46c-2ceb-42cd-83f2-82e54697bddd/callback`,
    task_result_enforcement_level: 'mandatory',
    task_result_id: 'taskrs-2nH5dncYoXaMVQmJ',
    vcs_branch: 'main',
    workspace_app_url: 'https://app.terraform.io/app/acme/payments',
    workspace_id: 'ws-ck4G5bb1Yei5szRh',
    workspace_name: 'payments',
    workspace_working_directory: '',
    ...extra,
  };
}

function sign(body: string, key = HMAC_KEY): string {
  return createHmac('sha512', key).update(body).digest('hex');
}

/** POSTs the payload as HCP Terraform does, signed; returns the response and, when one is expected, the callback. */
async function send(app: FastifyInstance, body: Record<string, unknown> | string, headers: Record<string, string> | null = null) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return app.inject({
    method: 'POST',
    url: '/terraform/run-task',
    payload: text,
    headers: headers ?? {
      'content-type': 'application/json',
      'user-agent': 'TFC/1.0 (+https://app.terraform.io; TFC)',
      'x-tfc-task-signature': sign(text),
    },
  });
}

async function runAndCallback(
  app: FastifyInstance,
  body: Record<string, unknown>,
): Promise<{ status: number; callback: Recorded; result: TaskResult }> {
  const next = hcp.nextCallback();
  const res = await send(app, body);
  const callback = await next;
  await app.close();
  return { status: res.statusCode, callback, result: JSON.parse(callback.body) as TaskResult };
}

function expectNoSecretsLogged(): void {
  expect(logs.length).toBeGreaterThan(0);
  expect(logs).not.toContain(TOKEN);
  expect(logs).not.toContain(HMAC_KEY);
}

describe('POST /terraform/run-task', () => {
  it('post_plan within entitlements: 200 at once, plan fetched with the bearer token through the 307, callback passed', async () => {
    const app = await appWith();
    const { status, callback, result } = await runAndCallback(app, payload('post_plan', 'small'));
    expect(status).toBe(200);

    const planGet = hcp.requests.find((r) => r.method === 'GET')!;
    expect(planGet.url).toBe('/api/v2/plans/plan-small/json-output');
    expect(planGet.headers.authorization).toBe(`Bearer ${TOKEN}`);
    // The redirect leaves the API's origin: the token is not handed to the storage host.
    expect(hcp.storageRequests).toHaveLength(1);
    expect(hcp.storageRequests[0]!.url).toBe('/archivist/small?signature=abc');
    expect(hcp.storageRequests[0]!.headers.authorization).toBeUndefined();

    expect(callback.method).toBe('PATCH');
    expect(callback.url).toBe('/api/v2/task-results/5ea8d46c-2ceb-42cd-83f2-82e54697bddd/callback');
    expect(callback.headers['content-type']).toBe('application/vnd.api+json');
    expect(callback.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(result.data.type).toBe('task-results');
    expect(result.data.attributes.status).toBe('passed');
    // Without the outcomes capability the message is all a person sees: it names the version that decided.
    expect(result.data.attributes.message).toBe(
      `entitlegate ${VERSION} allowed: within licence entitlements (0 violations, 0 warnings, 2 licensed changes)`,
    );
    expect(result.data.relationships).toBeUndefined();
    expectNoSecretsLogged();
  });

  it('passed with a warning outcome when the plan nears the limit', async () => {
    const app = await appWith();
    const { result } = await runAndCallback(app, payload('post_plan', 'near'));
    expect(result.data.attributes.status).toBe('passed');
    const outcomes = result.data.relationships!.outcomes.data;
    expect(outcomes).toHaveLength(1);
    const o = outcomes[0]!;
    expect(o.type).toBe('task-result-outcomes');
    expect(o.attributes['outcome-id']).toBe('entitlegate-warning-1-APPROACHING_LIMIT-weblogic-ee');
    expect(o.attributes.tags!.Severity).toEqual([{ label: 'Medium', level: 'warning' }]);
    expect(o.attributes.tags!.Status).toEqual([{ label: 'Warning', level: 'warning' }]);
  });

  it('over the entitlement: callback failed with an outcome per violation (tags, markdown body)', async () => {
    const app = await appWith();
    const { result } = await runAndCallback(app, payload('post_plan', 'over'));
    const attrs = result.data.attributes;
    expect(attrs.status).toBe('failed');
    expect(attrs.message).toMatch(
      new RegExp(
        `^entitlegate ${VERSION.replaceAll('.', '\\.')} blocked: this plan exceeds licence entitlements \\(1 violation, \\d+ warnings?, 4 licensed changes\\)\\. OVER_ENTITLEMENT: `,
      ),
    );
    expect(attrs.message.length).toBeLessThanOrEqual(500);
    const outcomes = result.data.relationships!.outcomes.data;
    const violations = outcomes.filter((o) => o.attributes['outcome-id'].startsWith('entitlegate-violation-'));
    expect(violations).toHaveLength(1);
    const v = violations[0]!.attributes;
    expect(v['outcome-id']).toBe('entitlegate-violation-1-OVER_ENTITLEMENT-weblogic-ee');
    expect(v.description).toMatch(/^OVER_ENTITLEMENT weblogic-ee: /);
    expect(v.description).not.toContain('\n');
    expect(v.tags).toMatchObject({
      Status: [{ label: 'Denied', level: 'error' }],
      Severity: [{ label: 'High', level: 'error' }],
      Code: [{ label: 'OVER_ENTITLEMENT' }],
      Product: [{ label: 'weblogic-ee' }],
      Version: [{ label: `entitlegate ${VERSION}` }],
    });
    expect(v.body).toContain('### Violation `OVER_ENTITLEMENT`');
    expect(v.body).toContain('| vcpu | 32 | 20 | 16 | 36 | 36 |');
    // The policy names the claim that no longer fits.
    expect(v.body).toContain('**Resources:**\n\n- `terraform_data.app[3]`');
    // Warnings ride along with their own level.
    for (const w of outcomes.filter((o) => o.attributes['outcome-id'].startsWith('entitlegate-warning-'))) {
      expect(w.attributes.tags!.Severity![0]!.level).toBe('warning');
    }
    expectNoSecretsLogged();
  });

  it('no outcomes when the caller does not announce capabilities.outcomes', async () => {
    const app = await appWith();
    const { result } = await runAndCallback(app, payload('post_plan', 'over', { capabilities: { outcomes: false } }));
    expect(result.data.attributes.status).toBe('failed');
    expect(result.data.relationships).toBeUndefined();
  });

  it('pre_apply is checked like post_plan', async () => {
    const app = await appWith();
    const { status, result } = await runAndCallback(app, payload('pre_apply', 'over'));
    expect(status).toBe(200);
    expect(hcp.requests.some((r) => r.url === '/api/v2/plans/plan-over/json-output')).toBe(true);
    expect(result.data.attributes.status).toBe('failed');
  });

  it('warn mode in the config: violations are reported as outcomes and the task passes', async () => {
    const warnEngine = await Engine.create(parseConfig('warn.yaml', CONFIG.replace('defaults:\n', 'defaults:\n  mode: warn\n')), [
      {
        source: 'sam',
        observedAt: '2026-11-28T06:00:00Z',
        usage: [{ product: 'weblogic-ee', quantity: 20, scope: { environment: 'prod' } }],
      },
    ]);
    const app = await appWith({ getEngine: () => warnEngine, getConfig: () => warnEngine.config });
    const { result } = await runAndCallback(app, payload('post_plan', 'over'));
    expect(result.data.attributes.status).toBe('passed');
    expect(result.data.attributes.message).toMatch(/allowed in warn mode despite violations/);
    const v = result.data.relationships!.outcomes.data.find((o) => o.attributes['outcome-id'].startsWith('entitlegate-violation-'))!;
    expect(v.attributes.tags!.Status).toEqual([{ label: 'Reported (warn mode)', level: 'warning' }]);
  });

  it('a bad signature gets 401; nothing is fetched and nothing is called back', async () => {
    const app = await appWith();
    const body = JSON.stringify(payload('post_plan', 'over'));
    const wrongKey = await send(app, body, { 'content-type': 'application/json', 'x-tfc-task-signature': sign(body, 'another-key') });
    const tampered = await send(app, body.replace('"stage":"post_plan"', '"stage":"pre_apply"'), {
      'content-type': 'application/json',
      'x-tfc-task-signature': sign(body),
    });
    const missing = await send(app, body, { 'content-type': 'application/json' });
    const empty = await send(app, body, { 'content-type': 'application/json', 'x-tfc-task-signature': '' });
    const notHex = await send(app, body, { 'content-type': 'application/json', 'x-tfc-task-signature': 'z'.repeat(128) });
    await app.close();
    for (const r of [wrongKey, tampered, missing, empty, notHex]) {
      expect(r.statusCode).toBe(401);
      expect(r.json()).toMatchObject({ error: 'EG_ERR_SIGNATURE' });
    }
    expect(hcp.requests).toHaveLength(0);
    expect(hcp.storageRequests).toHaveLength(0);
    expectNoSecretsLogged();
  });

  it('the verification request sent when the task is created: 200, no fetch, no callback', async () => {
    const app = await appWith();
    for (const token of ['test-token', 'verification-token']) {
      const res = await send(app, payload('test', null, { access_token: token }));
      expect(res.statusCode).toBe(200);
    }
    await app.close();
    expect(hcp.requests).toHaveLength(0);
  });

  it('the verification request is signed too: a wrong signature on it is still 401', async () => {
    const app = await appWith();
    const res = await send(app, payload('test', null, { access_token: 'test-token' }), {
      'content-type': 'application/json',
      'x-tfc-task-signature': 'abc',
    });
    await app.close();
    expect(res.statusCode).toBe(401);
  });

  it('is never served without an HMAC key: registering the plugin without one fails', async () => {
    await expect(appWith({ hmacKey: undefined as unknown as string })).rejects.toThrow(/only served with an HMAC key/);
    await expect(appWith({ hmacKey: '' })).rejects.toThrow(/only served with an HMAC key/);
  });

  it('reads the key on each request: a rotated key applies at once, the old one gets 401', async () => {
    let key = HMAC_KEY;
    const app = await appWith({ hmacKey: () => key });
    const body = JSON.stringify(payload('test', null, { access_token: 'test-token' }));
    expect((await send(app, body)).statusCode).toBe(200);
    key = 'rotated-key';
    expect((await send(app, body)).statusCode).toBe(401);
    expect(
      (await send(app, body, { 'content-type': 'application/json', 'x-tfc-task-signature': sign(body, 'rotated-key') })).statusCode,
    ).toBe(200);
    await app.close();
  });

  it('a key that cannot be read at request time (env variable gone, key removed): 500, logged, nothing fetched or called back', async () => {
    for (const hmacKey of [
      () => {
        throw new Error('terraform.runTaskHmacKey reads the environment variable EG_KEY, which is not set');
      },
      () => undefined,
    ]) {
      const app = await appWith({ hmacKey });
      const res = await send(app, payload('post_plan', 'small'));
      await app.close();
      expect(res.statusCode).toBe(500);
      expect(res.json()).toMatchObject({ error: 'EG_ERR_CONFIG_INVALID' });
      expect(logs).toMatch(/HMAC key cannot be read/);
      expect(logs).toMatch(/EG_KEY, which is not set|no longer set/);
    }
    expect(hcp.requests).toHaveLength(0);
    expect(hcp.storageRequests).toHaveLength(0);
  });

  it('URLs this server must not request: 400 and no request at all (SSRF)', async () => {
    const app = await appWith();
    const cases: [Record<string, unknown>, RegExp][] = [
      // plan and callback on different hosts (here: another port of the same address)
      [payload('post_plan', null, { plan_json_api_url: `${hcp.storageUrl}/archivist/small?signature=abc` }), /must be on the same host/],
      [
        payload('post_plan', 'small', { task_result_callback_url: `${hcp.storageUrl}/api/v2/task-results/t/callback` }),
        /must be on the same host/,
      ],
      // plain http off loopback, e.g. a cloud metadata endpoint
      [
        payload('pre_plan', null, { task_result_callback_url: 'http://169.254.169.254/latest/meta-data/' }),
        /task_result_callback_url must be an https URL/,
      ],
      [
        payload('post_plan', null, {
          task_result_callback_url: 'http://kubernetes.default.svc/api',
          plan_json_api_url: 'http://kubernetes.default.svc/api/v1/secrets',
        }),
        /must be an https URL/,
      ],
      // credentials in the URL would be sent along
      [
        payload('post_plan', 'small', {
          task_result_callback_url: 'https://user:pw@app.terraform.io/api/v2/task-results/t/callback',
          plan_json_api_url: 'https://user:pw@app.terraform.io/api/v2/plans/p/json-output',
        }),
        /must not carry credentials/,
      ],
    ];
    for (const [body, why] of cases) {
      const res = await send(app, body);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: 'EG_ERR_INPUT_INVALID' });
      expect(res.json().message).toMatch(why);
    }
    await app.close();
    expect(hcp.requests).toHaveLength(0);
    expect(hcp.storageRequests).toHaveLength(0);
    expect(hcp.callbacks).toHaveLength(0);
  });

  it('terraform.runTaskHosts restricts the host (read on each request); a listed host works as before', async () => {
    let hosts: string[] | undefined = ['app.terraform.io', 'tfe.example.com:8443'];
    const app = await appWith({
      getConfig: () => ({ ...engine.config, terraform: { ...engine.config.terraform, ...(hosts ? { runTaskHosts: hosts } : {}) } }),
    });
    const refused = await send(app, payload('post_plan', 'small'));
    expect(refused.statusCode).toBe(400);
    expect(refused.json().message).toMatch(
      /127\.0\.0\.1:\d+ is not in terraform\.runTaskHosts \(app\.terraform\.io, tfe\.example\.com:8443\)/,
    );
    expect(hcp.requests).toHaveLength(0);

    hosts = ['127.0.0.1'];
    const { status, result } = await runAndCallback(app, payload('post_plan', 'small'));
    expect(status).toBe(200);
    expect(result.data.attributes.status).toBe('passed');
  });

  it('a plan over the size limit fails the task, saying so (with a Content-Length, and streamed without one)', async () => {
    for (const name of ['huge', 'chunked']) {
      const app = await appWith({ planMaxBytes: SMALL_LIMIT });
      const { status, result } = await runAndCallback(app, payload('post_plan', name));
      expect(status).toBe(200);
      expect(result.data.attributes.status).toBe('failed');
      expect(result.data.attributes.message).toMatch(
        new RegExp(
          `the plan JSON from http://127\\.0\\.0\\.1:\\d+/api/v2/plans/plan-${name}/json-output is larger than 16 KiB, the most this server reads`,
        ),
      );
      expect(result.data.attributes.message).not.toContain('signature=abc');
      hcp.reset();
    }
    // The limit is what refused them: a plan under it passes.
    expect(PLANS.small!.length).toBeLessThan(SMALL_LIMIT);
    expect(PLANS.huge!.length).toBeGreaterThan(SMALL_LIMIT);
    const app = await appWith({ planMaxBytes: SMALL_LIMIT });
    expect((await runAndCallback(app, payload('post_plan', 'small'))).result.data.attributes.status).toBe('passed');
  });

  it('scope from terraform.runTaskScope, read on each request (a config reload applies)', async () => {
    let scope: Record<string, string> | undefined;
    const app = await appWith({
      scope: undefined,
      getConfig: () => ({ ...engine.config, terraform: { ...engine.config.terraform, ...(scope ? { runTaskScope: scope } : {}) } }),
    });
    // No scope: the prod-only entitlement does not cover the plan.
    let next = hcp.nextCallback();
    await send(app, payload('post_plan', 'small'));
    const unscoped = JSON.parse((await next).body) as TaskResult;
    expect(unscoped.data.attributes.status).toBe('failed');
    expect(unscoped.data.attributes.message).toMatch(/OUT_OF_SCOPE|UNLICENSED/);

    scope = { environment: 'prod' };
    next = hcp.nextCallback();
    // Another run (a task_result_id is acted on once).
    await send(app, payload('post_plan', 'small', { task_result_id: 'taskrs-another-run' }));
    const scoped = JSON.parse((await next).body) as TaskResult;
    await app.close();
    expect(scoped.data.attributes.status).toBe('passed');
  });

  it('the plan cannot be fetched: callback failed with a clear message (fail safe)', async () => {
    const app = await appWith();
    const { status, result } = await runAndCallback(app, payload('post_plan', 'gone'));
    expect(status).toBe(200);
    expect(result.data.attributes.status).toBe('failed');
    expect(result.data.attributes.message).toMatch(
      /could not check this run, so it fails safe: the plan JSON could not be fetched from http:\/\/127\.0\.0\.1:\d+\/api\/v2\/plans\/plan-gone\/json-output: HTTP 404/,
    );
    expectNoSecretsLogged();
  });

  it('the plan API refuses the token: failed', async () => {
    const app = await appWith();
    const next = hcp.nextCallback();
    const body = JSON.stringify(payload('post_plan', 'small', { access_token: 'expired-token' }));
    await send(app, body);
    const result = JSON.parse((await next).body) as TaskResult;
    await app.close();
    expect(result.data.attributes).toMatchObject({ status: 'failed' });
    expect(result.data.attributes.message).toMatch(/HTTP 401/);
  });

  it('the plan host is unreachable: failed', async () => {
    // The plan must be on the callback's host, so the GET (only) is made to fail as a refused connection would.
    const refused: typeof undiciFetch = (input, init) =>
      (init?.method ?? 'GET') === 'GET'
        ? Promise.reject(new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') }))
        : undiciFetch(input, init);
    const app = await appWith({ fetchImpl: refused });
    const { result } = await runAndCallback(app, payload('post_plan', 'x'));
    expect(result.data.attributes.status).toBe('failed');
    expect(result.data.attributes.message).toMatch(
      /could not be fetched from http:\/\/127\.0\.0\.1:\d+\/api\/v2\/plans\/plan-x\/json-output: fetch failed \(connect ECONNREFUSED\)/,
    );
  });

  it('truncated or wrong-format plan JSON: failed, naming the problem', async () => {
    const app = await appWith();
    const truncated = await runAndCallback(app, payload('post_plan', 'truncated'));
    expect(truncated.result.data.attributes.status).toBe('failed');
    expect(truncated.result.data.attributes.message).toMatch(/plan of run-i3Df5to9ELvibKpQ:1:\d+/);

    const app2 = await appWith();
    const wrong = await runAndCallback(app2, payload('pre_apply', 'notAPlan'));
    expect(wrong.result.data.attributes.status).toBe('failed');
    expect(wrong.result.data.attributes.message).toMatch(/plan/i);
  });

  it('an evaluation error (engine throws) is reported as failed', async () => {
    const app = await appWith({
      getEngine: () => {
        throw new Error('policy not loaded');
      },
    });
    const { result } = await runAndCallback(app, payload('post_plan', 'small'));
    expect(result.data.attributes).toMatchObject({
      status: 'failed',
      message: `entitlegate ${VERSION} could not check this run, so it fails safe: an unexpected error while evaluating the policy (EG_ERR_INTERNAL, a bug in entitlegate; the server log has the details, please report it): policy not loaded`,
    });
  });

  it('post_apply and pre_plan: passed without fetching anything', async () => {
    for (const stage of ['post_apply', 'pre_plan']) {
      const app = await appWith();
      const { result } = await runAndCallback(app, payload(stage, stage === 'post_apply' ? 'over' : null));
      expect(result.data.attributes).toEqual({
        status: 'passed',
        message: `entitlegate ${VERSION} checks plans; there is no plan to check at the ${stage} stage`,
      });
      expect(hcp.requests.filter((r) => r.method === 'GET')).toHaveLength(0);
      hcp.reset();
    }
  });

  it('a plan nested too deeply to read fails safe saying so, not "Maximum call stack size exceeded"', async () => {
    const app = await appWith();
    const { result } = await runAndCallback(app, payload('post_plan', 'deep'));
    expect(result.data.attributes.status).toBe('failed');
    expect(result.data.attributes.message).toMatch(
      /could not check this run, so it fails safe: the input is nested too deeply to read while reading the plan/,
    );
    expect(result.data.attributes.message).not.toMatch(/Maximum call stack/);
  });

  it('an unknown stage fails safe', async () => {
    const app = await appWith();
    const { result } = await runAndCallback(app, payload('mid_apply', 'small'));
    expect(result.data.attributes.status).toBe('failed');
    expect(result.data.attributes.message).toMatch(/unknown run task stage "mid_apply"/);
  });

  it('a callback answered 5xx is retried', async () => {
    const app = await appWith();
    hcp.callbackStatuses = [503];
    const { result } = await runAndCallback(app, payload('post_plan', 'small'));
    expect(hcp.callbacks).toHaveLength(2);
    expect(result.data.attributes.status).toBe('passed');
  });

  it('malformed requests get 400 and no callback', async () => {
    const app = await appWith();
    const notJson = await send(app, '{"payload_version": 1,');
    const noCallback = await send(app, payload('post_plan', 'small', { task_result_callback_url: undefined }));
    const badVersion = await send(app, payload('post_plan', 'small', { payload_version: 2 }));
    const ftp = await send(app, payload('post_plan', 'small', { plan_json_api_url: 'file:///etc/passwd' }));
    await app.close();
    expect([notJson, noCallback, badVersion, ftp].map((r) => r.statusCode)).toEqual([400, 400, 400, 400]);
    expect(noCallback.json().message).toMatch(/task_result_callback_url/);
    expect(badVersion.json().message).toMatch(/payload_version 2/);
    expect(ftp.json().message).toMatch(/plan_json_api_url/);
    expect(hcp.requests).toHaveLength(0);
  });

  it('works through a real socket too (the raw body survives the HTTP stack)', async () => {
    const app = await appWith();
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const body = JSON.stringify(payload('post_plan', 'over'), null, 2);
    const next = hcp.nextCallback();
    const res = await fetch(`${url}/terraform/run-task`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'x-tfc-task-signature': sign(body) },
    });
    expect(res.status).toBe(200);
    const result = JSON.parse((await next).body) as TaskResult;
    await app.close();
    expect(result.data.attributes.status).toBe('failed');
  });
});

describe('hostile requests, against the server on a real socket', () => {
  /** The config without terraform.runTaskHosts: any host, as long as its addresses are public. */
  const anyHost = () => {
    const { runTaskHosts: _, ...terraform } = engine.config.terraform;
    return { ...engine.config, terraform };
  };

  async function listening(extra: Partial<RunTaskOptions> = {}) {
    const app = await appWith(extra);
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const post = async (body: Record<string, unknown>) => {
      const text = JSON.stringify(body);
      const res = await undiciFetch(`${url}/terraform/run-task`, {
        method: 'POST',
        body: text,
        headers: { 'content-type': 'application/json', 'x-tfc-task-signature': sign(text) },
      });
      return { status: res.status, json: (await res.text().then((t) => (t ? JSON.parse(t) : undefined))) as { message?: string } };
    };
    return { app, post };
  }

  it('a replayed request (same task_result_id) is acted on once: one plan fetched, one result sent', async () => {
    const { app, post } = await listening();
    const body = payload('post_plan', 'small');
    const next = hcp.nextCallback();
    expect((await post(body)).status).toBe(200);
    await next;
    expect((await post(body)).status).toBe(200);
    // Another signature-valid copy with a different stage is the same task result: still once.
    expect((await post({ ...body, stage: 'pre_apply' })).status).toBe(200);
    await app.close();
    expect(hcp.requests.filter((r) => r.method === 'GET')).toHaveLength(1);
    expect(hcp.callbacks).toHaveLength(1);
    expect(logs).toMatch(/run task request repeated \(same task_result_id\)/);
  });

  it('a redirect to another host or scheme is not followed: the task fails saying so, the storage host is never asked', async () => {
    for (const [name, why] of [
      ['elsewhere', /it redirected to another host \(localhost:\d+\); a redirect is followed only to the same host/],
      ['upgrade', /it redirected from http:\/\/ to https:\/\/127\.0\.0\.1:\d+, another scheme/],
    ] as const) {
      const { app, post } = await listening();
      const next = hcp.nextCallback();
      expect((await post(payload('post_plan', name))).status).toBe(200);
      const result = JSON.parse((await next).body) as TaskResult;
      await app.close();
      expect(result.data.attributes.status).toBe('failed');
      expect(result.data.attributes.message).toMatch(why);
      expect(hcp.storageRequests).toHaveLength(0);
      hcp.reset();
    }
  });

  it('loopback, link-local, private and reserved addresses are refused unless their host is listed: 400, nothing requested', async () => {
    const { app, post } = await listening({
      getConfig: anyHost,
      resolve: async (host) =>
        host === 'tfe.internal.example' ? [{ address: '10.20.30.40', family: 4 }] : [{ address: '93.184.216.34', family: 4 }],
    });
    const at = (origin: string) => payload('post_plan', null, { task_result_callback_url: `${origin}/api/v2/task-results/t/callback` });
    const cases: [string, RegExp][] = [
      ['https://169.254.169.254', /169\.254\.169\.254 is a link-local address/],
      ['https://10.0.0.7', /10\.0\.0\.7 is a private address/],
      ['https://192.168.1.1:8443', /192\.168\.1\.1 is a private address/],
      ['https://[::1]', /::1 is a loopback address/],
      ['https://[fe80::1]', /fe80::1 is a link-local address/],
      ['https://[fd00::1]', /fd00::1 is a private \(unique local\) address/],
      ['https://[::ffff:169.254.169.254]', /::ffff:a9fe:a9fe is a link-local address/],
      ['https://[64:ff9b::a9fe:a9fe]', /carries 169\.254\.169\.254, which is a link-local address/],
      ['https://0x7f000001', /127\.0\.0\.1 is a loopback address/],
      ['https://localhost:9', /localhost is a loopback host/],
      ['http://127.0.0.2:9', /127\.0\.0\.2 is a loopback address/],
      ['https://tfe.internal.example', /tfe\.internal\.example resolves to 10\.20\.30\.40 is a private address/],
    ];
    for (const [origin, why] of cases) {
      const { status, json } = await post(at(origin));
      expect(status, origin).toBe(400);
      expect(json.message, origin).toMatch(why);
      expect(json.message, origin).toMatch(/list its host in terraform\.runTaskHosts to allow it/);
    }
    await app.close();
    expect(hcp.requests).toHaveLength(0);
  });

  it('a name that resolves to a public address when the request is accepted and to loopback when connecting (DNS rebinding) is refused at connect time', async () => {
    let lookups = 0;
    const { app, post } = await listening({
      getConfig: anyHost,
      resolve: async () => (++lookups === 1 ? [{ address: '93.184.216.34', family: 4 }] : [{ address: '127.0.0.1', family: 4 }]),
    });
    const port = new URL(hcp.apiUrl).port;
    const origin = `https://rebind.example.test:${port}`;
    const res = await post(
      payload('post_plan', null, {
        plan_json_api_url: `${origin}/api/v2/plans/plan-small/json-output`,
        task_result_callback_url: `${origin}/api/v2/task-results/t/callback`,
      }),
    );
    expect(res.status).toBe(200);
    await app.close(); // waits for the task: its plan fetch and its callback are both refused
    expect(lookups).toBeGreaterThan(1);
    expect(hcp.requests).toHaveLength(0);
    expect(logs).toMatch(/rebind\.example\.test resolves to 127\.0\.0\.1 is a loopback address/);
    expect(logs).toMatch(/run task result could not be sent/);
  });
});

describe('signatureValid', () => {
  it('accepts the hex HMAC-SHA512 of the exact bytes, upper- or lower-case, and nothing else', () => {
    const raw = Buffer.from('{"a":1}');
    const sig = createHmac('sha512', 'k').update(raw).digest('hex');
    expect(signatureValid(raw, sig, 'k')).toBe(true);
    expect(signatureValid(raw, sig.toUpperCase(), 'k')).toBe(true);
    expect(signatureValid(raw, sig, 'other')).toBe(false);
    expect(signatureValid(Buffer.from('{"a": 1}'), sig, 'k')).toBe(false);
    expect(signatureValid(raw, sig.slice(0, 64), 'k')).toBe(false);
    expect(signatureValid(raw, undefined, 'k')).toBe(false);
  });
});

describe('POST /terraform/run-task with a ledger (a real ledger process)', { timeout: 60_000 }, () => {
  let dir: string;
  let ledgerProc: LedgerProcess;
  let t: { gate: string; admin: string; reporter: string };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'eg-runtask-ledger-'));
    const config = join(dir, 'entitlegate.yaml');
    writeFileSync(config, CONFIG);
    const store = join(dir, 'ledger.db');
    const now = new Date();
    const mk = async (role: 'gate' | 'admin' | 'reporter') => (await createLedgerToken({ store, name: role, roles: [role], now })).token;
    t = { gate: await mk('gate'), admin: await mk('admin'), reporter: await mk('reporter') };
    ledgerProc = await startLedgerProcess({ config, store });
    // The organisation's other usage is at the ledger, not in this server's engine: 20 of 32 in prod.
    const sam = {
      version: 1 as const,
      source: 'sam',
      observedAt: now.toISOString(),
      usage: [{ product: 'weblogic-ee', quantity: 20, scope: { environment: 'prod' } }],
    };
    await new LedgerClient({ url: ledgerProc.url, token: t.reporter }).putUsage(sam);
  });
  afterAll(async () => {
    await ledgerProc?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const ledgerWith = (url = ledgerProc.url) => new RunTaskLedger(new LedgerClient({ url, token: t.gate }));
  // biome-ignore lint/suspicious/noExplicitAny: test-only reader of JSON answers
  const held = async (): Promise<any[]> =>
    (
      (await (
        await fetch(`${ledgerProc.url}/v1/reservations?state=held,confirmed&limit=100`, { headers: { authorization: `Bearer ${t.admin}` } })
      ).json()) as { reservations: unknown[] }
    ).reservations;
  // An engine with no usage: whatever denies here, the ledger denied.
  const emptyEngine = async () => Engine.create(parseConfig('entitlegate.yaml', CONFIG), []);

  it('post_plan reserves the plan by address; pre_apply of the same run passes on that reservation; another run is decided against it', async () => {
    const local = await emptyEngine();
    const ledger = ledgerWith();
    const run1 = await runAndCallback(await appWith({ getEngine: () => local, ledger }), payload('post_plan', 'near'));
    expect(run1.result.data.attributes.status).toBe('passed');
    expect(run1.result.data.attributes.message).toMatch(
      /Reserved at the ledger as \S+ until .*--source terraform:acme\/payments state\.json/,
    );
    let open = await held();
    expect(open).toHaveLength(1);
    // Addresses within the workspace: another workspace of the same layout is other resources.
    expect(open[0].lines.map((l: { resource: string }) => l.resource).sort()).toEqual([
      'terraform:acme/payments/terraform_data.app[0]',
      'terraform:acme/payments/terraform_data.app[1]',
    ]);
    expect(open[0].key).toBe('run-task:run-i3Df5to9ELvibKpQ');

    const apply = await runAndCallback(
      await appWith({ getEngine: () => local, ledger }),
      payload('pre_apply', 'near', { task_result_id: 'taskrs-pre' }),
    );
    expect(apply.result.data.attributes.status).toBe('passed');
    expect(apply.result.data.attributes.message).toContain(`reservation ${open[0].id} at the ledger still holds`);
    expect(await held()).toHaveLength(1);

    // 20 used + 8 held + 8 more > 32: the ledger denies what the local engine (no usage) would allow.
    const run2 = await runAndCallback(
      await appWith({ getEngine: () => local, ledger }),
      payload('post_plan', 'near', { run_id: 'run-second', task_result_id: 'taskrs-2' }),
    );
    expect(run2.result.data.attributes.status).toBe('failed');
    expect(run2.result.data.attributes.message).toContain('OVER_ENTITLEMENT');
    open = await held();
    expect(open).toHaveLength(1);
    await fetch(`${ledgerProc.url}/v1/reservations/${open[0].id}`, { method: 'DELETE', headers: { authorization: `Bearer ${t.admin}` } });
  });

  it('two replicas, one ledger: post_plan on one and pre_apply (or post_plan again) on the other make one reservation', async () => {
    const local = await emptyEngine();
    const [a, b] = [ledgerWith(), ledgerWith()];
    const run = { run_id: 'run-two-replicas', task_result_id: 'taskrs-r1' };
    const plan = await runAndCallback(await appWith({ getEngine: () => local, ledger: a }), payload('post_plan', 'near', run));
    expect(plan.result.data.attributes.status).toBe('passed');
    const [first] = await held();
    expect(first).toMatchObject({ key: 'run-task:run-two-replicas' });

    const apply = await runAndCallback(await appWith({ getEngine: () => local, ledger: b }), payload('pre_apply', 'near', run));
    expect(apply.result.data.attributes.status).toBe('passed');
    expect(apply.result.data.attributes.message).toContain(`reservation ${first.id} at the ledger still holds`);
    // post_plan delivered again (HCP Terraform retries a stage), to the other replica: the run's reservation, not a second.
    const again = await runAndCallback(await appWith({ getEngine: () => local, ledger: b }), payload('post_plan', 'near', run));
    expect(again.result.data.attributes.status).toBe('passed');
    expect(again.result.data.attributes.message).toContain(`The run already holds reservation ${first.id}`);
    expect((await held()).map((r) => r.id)).toEqual([first.id]);

    // Released (the apply failed): pre_apply reserves anew, under the same key.
    await fetch(`${ledgerProc.url}/v1/reservations/${first.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${t.admin}` } });
    const retry = await runAndCallback(await appWith({ getEngine: () => local, ledger: a }), payload('pre_apply', 'near', run));
    expect(retry.result.data.attributes.message).toMatch(/Reserved at the ledger as/);
    const now = await held();
    expect(now).toHaveLength(1);
    expect(now[0].id).not.toBe(first.id);
    await fetch(`${ledgerProc.url}/v1/reservations/${now[0].id}`, { method: 'DELETE', headers: { authorization: `Bearer ${t.admin}` } });
  });

  it('a real run of a request without a workspace name fails safe: nothing is reserved that no state could settle', async () => {
    const local = await emptyEngine();
    const res = await runAndCallback(
      await appWith({ getEngine: () => local, ledger: ledgerWith() }),
      payload('post_plan', 'near', { run_id: 'run-nows', task_result_id: 'taskrs-nows', workspace_name: undefined }),
    );
    expect(res.result.data.attributes.status).toBe('failed');
    expect(res.result.data.attributes.message).toMatch(/names no workspace \(workspace_name\).*Nothing was reserved/);
    expect(await held()).toHaveLength(0);
  });

  it('a speculative plan only reads; an unreachable ledger fails the run safe', async () => {
    const local = await emptyEngine();
    const spec = await runAndCallback(
      await appWith({ getEngine: () => local, ledger: ledgerWith() }),
      payload('post_plan', 'near', { is_speculative: true, run_id: 'run-spec', task_result_id: 'taskrs-spec' }),
    );
    expect(spec.result.data.attributes.status).toBe('passed');
    expect(await held()).toHaveLength(0);

    const down = await runAndCallback(
      await appWith({ getEngine: () => local, ledger: ledgerWith(`http://127.0.0.1:${await freePort()}`) }),
      payload('post_plan', 'small', { run_id: 'run-down', task_result_id: 'taskrs-down' }),
    );
    expect(down.result.data.attributes.status).toBe('failed');
    expect(down.result.data.attributes.message).toMatch(/fails safe: the ledger at .* could not be reached/);
  });
});
