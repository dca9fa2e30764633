// HCP Terraform / Terraform Enterprise run task: `POST /terraform/run-task`.
//
// Protocol (developer.hashicorp.com/terraform/cloud-docs/api-docs/run-tasks/run-tasks-integration):
// HCP Terraform POSTs a JSON payload, signed in `X-TFC-Task-Signature` (hex
// HMAC-SHA512 of the raw body) when the task has an HMAC key, and expects 200 at
// once. The result goes back later as a PATCH of `task_result_callback_url`
// (JSON:API, `application/vnd.api+json`, bearer `access_token`), with detailed
// outcomes under `data.relationships.outcomes.data` when the payload says
// `capabilities.outcomes`. The plan JSON is read from `plan_json_api_url` with
// the same token; the API answers 307 to a storage URL, and fetch drops the
// Authorization header when that redirect leaves the API's origin.
//
// The surface holds no licence logic: plan → claims (adapters/terraform) →
// engine → callback. Anything that stops an evaluation reports `failed` (fail
// safe). The access token and the HMAC key are never logged or reported.
//
// The payload names the URLs this server then requests, so the endpoint is
// only served with an HMAC key (an unsigned one would let any caller make the
// server send requests into its network), and the URLs must be https (http
// only on loopback, for local tests), on one host, and on a configured host
// when `terraform.runTaskHosts` is set. The plan body is read up to a limit.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyBaseLogger, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { claimsFromPlanJson, claimsFromPlanValue } from '../adapters/terraform/index.ts';
import type { Config } from '../engine/config/schema.ts';
import type { Engine } from '../engine/engine.ts';
import { EntitlegateError } from '../engine/errors.ts';
import type { Decision, Finding, ProductOutcome, Scope } from '../engine/types.ts';

export interface RunTaskOptions {
  getEngine: () => Engine;
  getConfig: () => Config;
  /**
   * The run task's HMAC key (required: the plugin refuses to register without
   * it); unsigned or wrongly signed requests get 401. A getter is called on
   * each request, so a config reload rotates the key; when it throws (an
   * `env:NAME` variable gone) or returns nothing, the request gets 500 and
   * nothing is fetched or called back.
   */
  hmacKey: string | (() => string | undefined);
  clock: () => Date;
  /**
   * Scope every plan is checked in (environment, account…); wins over the
   * plan's regions. A getter is called on each request. Default: the config's
   * `terraform.runTaskScope`, read on each request.
   */
  scope?: Scope | (() => Scope | undefined);
  /** Largest plan JSON read, in bytes (default PLAN_MAX_BYTES). */
  planMaxBytes?: number;
  fetchImpl?: typeof fetch;
}

export const RUN_TASK_PATH = '/terraform/run-task';
export const SIGNATURE_HEADER = 'x-tfc-task-signature';
export const JSON_API = 'application/vnd.api+json';
/**
 * Tokens of the test request HCP Terraform sends when a run task is created or
 * edited: HashiCorp's run task scaffolding treats `test-token` as that request;
 * `verification-token` is accepted too. Such a request is answered 200 and
 * nothing is fetched or called back.
 */
export const VERIFICATION_TOKENS: ReadonlySet<string> = new Set(['test-token', 'verification-token']);

const PLAN_STAGES = new Set(['post_plan', 'pre_apply']);
const NO_PLAN_STAGES = new Set(['pre_plan', 'post_apply']);
/** HCP Terraform errors a task with no update within 10 minutes; stay well inside it. */
const FETCH_TIMEOUT_MS = 120_000;
const CALLBACK_TIMEOUT_MS = 30_000;
const CALLBACK_ATTEMPTS = 3;
const MESSAGE_MAX = 500;
const BODY_MAX = 256 * 1024;
/**
 * The largest plan JSON fetched (bytes, after any content decoding). Plans of
 * big workspaces reach tens of MiB; a parsed plan takes several times its text
 * in memory, and V8 cannot hold a string much over 512 MiB, so reading stops at
 * 256 MiB and the task fails, saying so.
 */
export const PLAN_MAX_BYTES = 256 * 1024 * 1024;

/** The fields of the run task request read here (others are ignored). */
export interface RunTaskPayload {
  payload_version: number;
  stage: string;
  access_token: string;
  capabilities?: { outcomes?: boolean };
  is_speculative?: boolean;
  organization_name?: string;
  workspace_name?: string;
  run_id?: string;
  run_app_url?: string;
  task_result_id?: string;
  task_result_callback_url: string;
  task_result_enforcement_level?: string;
  plan_json_api_url?: string;
}

export type TaskStatus = 'passed' | 'failed';

export interface TagValue {
  label: string;
  level?: 'none' | 'info' | 'warning' | 'error';
}

export interface TaskOutcome {
  type: 'task-result-outcomes';
  attributes: {
    'outcome-id': string;
    description: string;
    body?: string;
    url?: string;
    tags?: Record<string, TagValue[]>;
  };
}

export interface TaskResult {
  data: {
    type: 'task-results';
    attributes: { status: TaskStatus; message: string; url?: string };
    relationships?: { outcomes: { data: TaskOutcome[] } };
  };
}

/** Constant-time check of the hex HMAC-SHA512 of the raw body. */
export function signatureValid(raw: Buffer, signature: string | undefined, key: string): boolean {
  if (!signature) return false;
  const expected = Buffer.from(createHmac('sha512', key).update(raw).digest('hex'), 'utf8');
  const given = Buffer.from(signature.trim().toLowerCase(), 'utf8');
  // The expected length is public (128 hex digits); only equal lengths are compared.
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The payload, or why it is not one this endpoint can act on. */
export function parsePayload(value: unknown): RunTaskPayload | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'the body is not a JSON object';
  const p = value as Record<string, unknown>;
  if (p.payload_version !== 1) return `payload_version ${JSON.stringify(p.payload_version)} is not supported (only 1)`;
  for (const key of ['stage', 'access_token', 'task_result_callback_url'] as const) {
    if (typeof p[key] !== 'string' || p[key] === '') return `${key} is missing or not a string`;
  }
  if (!isHttpUrl(p.task_result_callback_url as string)) return 'task_result_callback_url is not an http(s) URL';
  if (
    p.plan_json_api_url !== undefined &&
    p.plan_json_api_url !== null &&
    (typeof p.plan_json_api_url !== 'string' || !isHttpUrl(p.plan_json_api_url))
  ) {
    return 'plan_json_api_url is not an http(s) URL';
  }
  return p as unknown as RunTaskPayload;
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

/** localhost, 127.0.0.0/8 and ::1: the only hosts plain http is allowed to. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Why the URLs the payload names must not be requested, or undefined when they
 * may: each is https (http only on a loopback host), the plan URL is on the
 * callback URL's host (HCP Terraform's or the TFE instance's: host and port),
 * and that host is in `allowedHosts` when given (an entry is a host name, or
 * `host:port` to pin the port too).
 */
export function urlProblem(
  payload: Pick<RunTaskPayload, 'task_result_callback_url' | 'plan_json_api_url'>,
  allowedHosts?: readonly string[],
): string | undefined {
  const named: [string, string][] = [['task_result_callback_url', payload.task_result_callback_url]];
  if (payload.plan_json_api_url) named.push(['plan_json_api_url', payload.plan_json_api_url]);
  const urls: URL[] = [];
  for (const [field, text] of named) {
    let u: URL;
    try {
      u = new URL(text);
    } catch {
      return `${field} is not a URL`;
    }
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && isLoopbackHost(u.hostname))) {
      return `${field} must be an https URL (plain http only to a loopback host), not ${u.protocol}//${u.host}`;
    }
    if (u.username || u.password) return `${field} must not carry credentials`;
    urls.push(u);
  }
  const [callback, plan] = urls as [URL, URL | undefined];
  if (plan && plan.host !== callback.host) {
    return `plan_json_api_url (${plan.host}) and task_result_callback_url (${callback.host}) must be on the same host: the HCP Terraform or Terraform Enterprise host that sent the request`;
  }
  if (allowedHosts && !allowedHosts.some((h) => h.toLowerCase() === callback.hostname || h.toLowerCase() === callback.host)) {
    return `${callback.host} is not in terraform.runTaskHosts (${allowedHosts.join(', ')})`;
  }
  return undefined;
}

export const runTaskPlugin: FastifyPluginAsync<RunTaskOptions> = async (app, opts) => {
  // Never served unsigned: the payload names URLs this server then requests.
  if (!opts.hmacKey)
    throw new EntitlegateError('EG_ERR_CONFIG_INVALID', 'the run task is only served with an HMAC key (terraform.runTaskHmacKey)');
  const fetchImpl = opts.fetchImpl ?? fetch;
  const pending = new Set<Promise<void>>();
  const hmacKey = opts.hmacKey;

  // The signature covers the exact bytes, so this plugin (and only it: the
  // parser is encapsulated) keeps the raw body and parses the JSON itself.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_MAX }, (_req, body, done) => done(null, body));

  // Graceful shutdown waits for evaluations already accepted (and tests can
  // rely on `app.close()` to have every callback sent).
  app.addHook('onClose', async () => {
    await Promise.allSettled([...pending]);
  });

  app.post(RUN_TASK_PATH, async (req: FastifyRequest, reply: FastifyReply) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let key: string | undefined;
    try {
      key = typeof hmacKey === 'string' ? hmacKey : hmacKey();
      if (!key)
        throw new EntitlegateError(
          'EG_ERR_CONFIG_INVALID',
          'terraform.runTaskHmacKey is no longer set (the config was reloaded without it); restart to turn the run task off',
        );
    } catch (err) {
      const why = err instanceof EntitlegateError ? err.message : err instanceof Error ? err.message : String(err);
      req.log.error({ reason: why }, 'run task request refused: the HMAC key cannot be read; nothing fetched or called back');
      return reply
        .code(500)
        .send({ error: 'EG_ERR_CONFIG_INVALID', message: 'the run task HMAC key is not available on this server; see its log' });
    }
    const header = req.headers[SIGNATURE_HEADER];
    if (!signatureValid(raw, Array.isArray(header) ? header[0] : header, key)) {
      req.log.warn('run task request with a missing or wrong X-TFC-Task-Signature rejected');
      return reply.code(401).send({
        error: 'EG_ERR_SIGNATURE',
        message: 'the X-TFC-Task-Signature header is missing or does not match the configured HMAC key',
      });
    }
    let value: unknown;
    try {
      value = JSON.parse(raw.toString('utf8'));
    } catch {
      return reply.code(400).send({ error: 'EG_ERR_INPUT_INVALID', message: 'the run task request body is not JSON' });
    }
    if (
      typeof value === 'object' &&
      value !== null &&
      VERIFICATION_TOKENS.has((value as { access_token?: unknown }).access_token as string)
    ) {
      req.log.info('run task verification request answered');
      return reply.code(200).send();
    }
    const payload = parsePayload(value);
    if (typeof payload === 'string') {
      return reply.code(400).send({ error: 'EG_ERR_INPUT_INVALID', message: `not a run task request: ${payload}` });
    }
    let config: Config;
    try {
      config = opts.getConfig();
    } catch (err) {
      req.log.error({ err: safeError(err) }, 'run task request refused: no config');
      return reply.code(500).send({ error: 'EG_ERR_INTERNAL', message: 'internal error; see the server log' });
    }
    const unsafe = urlProblem(payload, config.terraform.runTaskHosts);
    if (unsafe) {
      req.log.warn({ runId: payload.run_id, reason: unsafe }, 'run task request refused: its URLs are not ones this server requests');
      return reply.code(400).send({ error: 'EG_ERR_INPUT_INVALID', message: `not a run task request this server acts on: ${unsafe}` });
    }

    const log = req.log.child({ runId: payload.run_id, taskResultId: payload.task_result_id, stage: payload.stage });
    const job = runTask(payload, opts, fetchImpl, log).catch((err: unknown) => {
      log.error({ err: safeError(err) }, 'run task evaluation crashed');
    });
    pending.add(job);
    void job.finally(() => pending.delete(job));
    return reply.code(200).send();
  });
};

/** Everything after the 200: fetch, evaluate, call back. Never throws for an expected failure. */
async function runTask(payload: RunTaskPayload, opts: RunTaskOptions, fetchImpl: typeof fetch, log: FastifyBaseLogger): Promise<void> {
  let result: TaskResult;
  try {
    result = await evaluatePayload(payload, opts, fetchImpl);
  } catch (err) {
    const why = err instanceof EntitlegateError ? err.describe() : err instanceof Error ? err.message : String(err);
    log.warn({ reason: why }, 'run task could not be evaluated; reporting failed');
    result = taskResult('failed', `entitlegate could not check this run, so it fails safe: ${why}`);
  }
  const status = await patchCallback(payload, result, fetchImpl);
  if (status.ok) log.info({ status: result.data.attributes.status }, 'run task result sent');
  else log.error({ callbackStatus: status.status, reason: status.reason }, 'run task result could not be sent to HCP Terraform');
}

async function evaluatePayload(payload: RunTaskPayload, opts: RunTaskOptions, fetchImpl: typeof fetch): Promise<TaskResult> {
  const { stage } = payload;
  if (NO_PLAN_STAGES.has(stage)) {
    return taskResult('passed', `entitlegate checks plans; there is no plan to check at the ${stage} stage`);
  }
  if (!PLAN_STAGES.has(stage)) throw new EntitlegateError('EG_ERR_INPUT_INVALID', `unknown run task stage "${stage}"`);
  if (!payload.plan_json_api_url) throw new EntitlegateError('EG_ERR_INPUT_INVALID', `the ${stage} request has no plan_json_api_url`);

  const text = await fetchPlan(payload.plan_json_api_url, payload.access_token, fetchImpl, opts.planMaxBytes ?? PLAN_MAX_BYTES);
  const config = opts.getConfig();
  const file = `plan of ${payload.run_id ?? 'the run'}`;
  const scope = typeof opts.scope === 'function' ? opts.scope() : (opts.scope ?? config.terraform.runTaskScope);
  const claimOpts = { file, ...(scope && Object.keys(scope).length > 0 ? { scope } : {}) };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Parses again only to name the line and column of the error.
    claimsFromPlanJson(text, config, claimOpts);
    throw new EntitlegateError('EG_ERR_INPUT_INVALID', `${file} is not valid JSON`);
  }
  const claims = claimsFromPlanValue(value, config, { ...claimOpts, text });
  const decision = opts.getEngine().decide(claims, { now: opts.clock() });
  return resultOf(decision, payload);
}

async function fetchPlan(url: string, token: string, fetchImpl: typeof fetch, maxBytes: number): Promise<string> {
  let res: Response;
  try {
    res = await fetchImpl(url, {
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
      redirect: 'follow',
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
  } catch (err) {
    throw new EntitlegateError('EG_ERR_INPUT_INVALID', `the plan JSON could not be fetched from ${redact(url)}: ${causeOf(err)}`);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new EntitlegateError(
      'EG_ERR_INPUT_INVALID',
      `the plan JSON could not be fetched from ${redact(url)}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`,
    );
  }
  const tooLarge = () =>
    new EntitlegateError(
      'EG_ERR_INPUT_INVALID',
      `the plan JSON from ${redact(url)} is larger than ${sizeText(maxBytes)}, the most this server reads; check this plan with \`entitlegate check\` in a pre-apply step instead`,
    );
  const declared = Number(res.headers.get('content-length'));
  if (!res.headers.get('content-encoding') && Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge();
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof EntitlegateError) throw err;
    throw new EntitlegateError('EG_ERR_INPUT_INVALID', `the plan JSON from ${redact(url)} could not be read: ${causeOf(err)}`);
  }
  try {
    return Buffer.concat(chunks, total).toString('utf8');
  } catch (err) {
    throw new EntitlegateError('EG_ERR_INPUT_INVALID', `the plan JSON from ${redact(url)} could not be read: ${causeOf(err)}`);
  }
}

function sizeText(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** The decision as a task result: status, a one-line message, and an outcome per finding. */
export function resultOf(decision: Decision, payload: Pick<RunTaskPayload, 'capabilities'>): TaskResult {
  const v = decision.violations.length;
  const w = decision.warnings.length;
  const counts = `${v} violation${v === 1 ? '' : 's'}, ${w} warning${w === 1 ? '' : 's'}, ${decision.claims.length} licensed change${decision.claims.length === 1 ? '' : 's'}`;
  const status: TaskStatus = decision.allowed ? 'passed' : 'failed';
  const head = !decision.allowed
    ? 'blocked: this plan exceeds licence entitlements'
    : v > 0
      ? `allowed in ${decision.mode} mode despite violations`
      : decision.claims.length === 0
        ? 'allowed: the plan changes no licensed resources'
        : 'allowed: within licence entitlements';
  const first = decision.violations[0] ?? decision.warnings[0];
  const message = `entitlegate ${head} (${counts})${first ? `. ${first.code}: ${first.message}` : ''}`;
  const result = taskResult(status, message);
  if (payload.capabilities?.outcomes) {
    const products = new Map(decision.products.map((p) => [p.product, p]));
    const outcomes = [
      ...decision.violations.map((f, i) => outcome(f, i, 'violation', decision, products.get(f.product ?? ''))),
      ...decision.warnings.map((f, i) => outcome(f, i, 'warning', decision, products.get(f.product ?? ''))),
    ];
    if (outcomes.length > 0) result.data.relationships = { outcomes: { data: outcomes } };
  }
  return result;
}

function outcome(
  f: Finding,
  i: number,
  kind: 'violation' | 'warning',
  decision: Decision,
  product: ProductOutcome | undefined,
): TaskOutcome {
  const blocking = kind === 'violation' && decision.mode === 'enforce';
  const tags: Record<string, TagValue[]> = {
    Status: [
      blocking
        ? { label: 'Denied', level: 'error' }
        : kind === 'violation'
          ? { label: `Reported (${decision.mode} mode)`, level: 'warning' }
          : { label: 'Warning', level: 'warning' },
    ],
    Severity: [kind === 'violation' ? { label: 'High', level: 'error' } : { label: 'Medium', level: 'warning' }],
    Code: [{ label: f.code }],
  };
  if (f.product) tags.Product = [{ label: f.product }];
  if (f.entitlement) tags.Entitlement = [{ label: f.entitlement }];
  return {
    type: 'task-result-outcomes',
    attributes: {
      'outcome-id': `entitlegate-${kind}-${i + 1}-${f.code}${f.product ? `-${f.product}` : ''}`,
      description: oneLine(`${f.code}${f.product ? ` ${f.product}` : ''}: ${f.message}`, 200),
      body: findingMarkdown(f, kind, product),
      tags,
    },
  };
}

function findingMarkdown(f: Finding, kind: 'violation' | 'warning', p: ProductOutcome | undefined): string {
  const lines = [`### ${kind === 'violation' ? 'Violation' : 'Warning'} \`${f.code}\``, '', mdEscape(f.message), ''];
  if (f.product) lines.push(`- **Product:** \`${f.product}\``);
  if (f.entitlement) lines.push(`- **Entitlement:** \`${f.entitlement}\``);
  if (p) {
    lines.push('', `| metric | capacity | in use | requested | projected | peak |`, '| --- | ---: | ---: | ---: | ---: | ---: |');
    lines.push(`| ${p.metric} | ${p.capacity} | ${p.used} | ${p.requested} | ${p.projected} | ${p.peak} |`);
  }
  if (f.resources.length > 0) {
    const shown = f.resources.slice(0, 100);
    lines.push('', '**Resources:**', '', ...shown.map((r) => `- \`${r.replaceAll('`', "'")}\``));
    if (f.resources.length > shown.length) lines.push(`- … and ${f.resources.length - shown.length} more`);
  }
  return lines.join('\n');
}

function taskResult(status: TaskStatus, message: string): TaskResult {
  return { data: { type: 'task-results', attributes: { status, message: oneLine(message, MESSAGE_MAX) } } };
}

async function patchCallback(
  payload: RunTaskPayload,
  result: TaskResult,
  fetchImpl: typeof fetch,
): Promise<{ ok: boolean; status?: number; reason?: string }> {
  const body = JSON.stringify(result);
  let last: { ok: boolean; status?: number; reason?: string } = { ok: false };
  for (let attempt = 1; attempt <= CALLBACK_ATTEMPTS; attempt++) {
    try {
      const res = await fetchImpl(payload.task_result_callback_url, {
        method: 'PATCH',
        headers: { 'Content-Type': JSON_API, Accept: JSON_API, Authorization: `Bearer ${payload.access_token}` },
        body,
        signal: AbortSignal.timeout(CALLBACK_TIMEOUT_MS),
      });
      await res.body?.cancel().catch(() => undefined);
      if (res.ok) return { ok: true, status: res.status };
      last = { ok: false, status: res.status };
      // 4xx (401 expired token, 422 rejected payload) will not change on a retry.
      if (res.status < 500 && res.status !== 429) return last;
    } catch (err) {
      last = { ok: false, reason: causeOf(err) };
    }
    if (attempt < CALLBACK_ATTEMPTS) await new Promise((r) => setTimeout(r, 250 * attempt));
  }
  return last;
}

function oneLine(s: string, max: number): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

function mdEscape(s: string): string {
  return s.replace(/[<>]/g, (c) => (c === '<' ? '&lt;' : '&gt;'));
}

/** A URL without its query (storage URLs carry signatures there). */
function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return 'the plan_json_api_url';
  }
}

function causeOf(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timed out';
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}

function safeError(err: unknown): { message: string } {
  return { message: err instanceof Error ? err.message : String(err) };
}
