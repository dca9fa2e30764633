// HCP Terraform / Terraform Enterprise run task: `POST /terraform/run-task`.
//
// HCP Terraform POSTs a signed payload and expects 200 at once; this server
// then fetches the plan JSON, decides, and PATCHes the result to the callback
// URL. The protocol, the signature and the URL rules are in
// run-task-protocol.ts, the HTTP in run-task-transport.ts, the result
// document in run-task-result.ts.
//
// The surface holds no licence logic: plan → claims (adapters/terraform) →
// engine → callback. Anything that stops an evaluation reports `failed` (fail
// safe). The access token and the HMAC key are never logged or reported. A
// request is acted on once per `task_result_id`: a repeated one (HCP
// Terraform retrying, or someone replaying a captured request) is answered
// 200 and nothing is fetched or called back again.
import type { FastifyBaseLogger, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { claimsFromPlanJson, claimsFromPlanValue } from '../adapters/terraform/index.ts';
import type { Config } from '../config/schema.ts';
import type { Engine } from '../engine/engine.ts';
import { EntitlegateError } from '../engine/errors.ts';
import type { Scope } from '../engine/types.ts';
import { failureText, inStep } from './failure.ts';
import {
  NO_PLAN_STAGES,
  PLAN_STAGES,
  RUN_TASK_PATH,
  SIGNATURE_HEADER,
  VERIFICATION_TOKENS,
  hostProblem,
  parsePayload,
  resolveProblem,
  signatureValid,
  urlProblem,
  type Resolve,
  type RunTaskPayload,
} from './run-task-protocol.ts';
import type { RunTaskLedger } from './run-task-ledger.ts';
import { resultOf, taskResult, type TaskResult } from './run-task-result.ts';
import {
  PLAN_MAX_BYTES,
  causeOf,
  defaultFetch,
  fetchPlan,
  guardedAgent,
  patchCallback,
  resolveAll,
  type FetchLike,
  type TransportOptions,
} from './run-task-transport.ts';

export { RUN_TASK_PATH, signatureValid, type RunTaskPayload } from './run-task-protocol.ts';
export { resultOf, type TaskResult } from './run-task-result.ts';
export { PLAN_MAX_BYTES } from './run-task-transport.ts';

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
  fetchImpl?: FetchLike;
  /** How host names are resolved, when a request is accepted and at each connection (tests stand in for DNS). */
  resolve?: Resolve;
  /** Monotonic milliseconds that remembered task_result_ids expire on (default performance.now). */
  elapsed?: () => number;
  /** Decide (and for a real run, reserve) at the ledger instead of the local engine (run-task-ledger.ts). */
  ledger?: RunTaskLedger;
}

const BODY_MAX = 256 * 1024;
/** How long a task_result_id is remembered: HCP Terraform gives a task 10 minutes; its token is dead long before this. */
const SEEN_TTL_MS = 60 * 60 * 1000;
/** Requests must be signed, so this many distinct ids within the TTL only come from HCP Terraform itself. */
const SEEN_MAX = 10_000;

/** task_result_ids already acted on, oldest first. */
class SeenTasks {
  readonly #at = new Map<string, number>();
  readonly #elapsed: () => number;
  constructor(elapsed: () => number) {
    this.#elapsed = elapsed;
  }
  /** True the first time an id is offered (and remembers it); false for a repeat within the TTL. */
  first(id: string): boolean {
    const now = this.#elapsed();
    for (const [key, at] of this.#at) {
      if (now - at < SEEN_TTL_MS && this.#at.size < SEEN_MAX) break;
      this.#at.delete(key);
    }
    if (this.#at.has(id)) return false;
    this.#at.set(id, now);
    return true;
  }
}

export const runTaskPlugin: FastifyPluginAsync<RunTaskOptions> = async (app, opts) => {
  // Never served unsigned: the payload names URLs this server then requests.
  if (!opts.hmacKey)
    throw new EntitlegateError('EG_ERR_CONFIG_INVALID', 'the run task is only served with an HMAC key (terraform.runTaskHmacKey)');
  const fetchImpl = opts.fetchImpl ?? defaultFetch;
  const resolve = opts.resolve ?? resolveAll;
  const seen = new SeenTasks(opts.elapsed ?? (() => performance.now()));
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
      const why = err instanceof Error ? err.message : String(err);
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
      req.log.error({ err: { message: causeOf(err) } }, 'run task request refused: no config');
      return reply.code(500).send({ error: 'EG_ERR_INTERNAL', message: 'internal error; see the server log' });
    }
    const hosts = config.terraform.runTaskHosts;
    const callbackUrl = new URL(payload.task_result_callback_url);
    const unsafe =
      urlProblem(payload, hosts) ??
      (payload.plan_json_api_url ? hostProblem(new URL(payload.plan_json_api_url), hosts, 'plan_json_api_url') : undefined) ??
      (await resolveProblem(callbackUrl, hosts, resolve, 'task_result_callback_url'));
    if (unsafe) {
      req.log.warn({ runId: payload.run_id, reason: unsafe }, 'run task request refused: its URLs are not ones this server requests');
      return reply.code(400).send({ error: 'EG_ERR_INPUT_INVALID', message: `not a run task request this server acts on: ${unsafe}` });
    }
    // The callback URL names the task result too, so a request without an id is still recognised when repeated.
    const id = payload.task_result_id ?? payload.task_result_callback_url;
    if (!seen.first(id)) {
      req.log.warn(
        { runId: payload.run_id, taskResultId: payload.task_result_id },
        'run task request repeated (same task_result_id): already acted on; nothing fetched or called back again',
      );
      return reply.code(200).send();
    }

    const log = req.log.child({ runId: payload.run_id, taskResultId: payload.task_result_id, stage: payload.stage });
    const job = runTask(payload, opts, { fetch: fetchImpl, resolve, hosts }, log).catch((err: unknown) => {
      log.error({ err: { message: causeOf(err) } }, 'run task evaluation crashed');
    });
    pending.add(job);
    void job.finally(() => pending.delete(job));
    return reply.code(200).send();
  });
};

interface Wiring {
  fetch: FetchLike;
  resolve: Resolve;
  hosts: readonly string[] | undefined;
}

/** Everything after the 200: fetch, evaluate, call back. Never throws for an expected failure. */
async function runTask(payload: RunTaskPayload, opts: RunTaskOptions, w: Wiring, log: FastifyBaseLogger): Promise<void> {
  const dispatcher = guardedAgent(w.hosts, w.resolve);
  const transport: TransportOptions = { fetch: w.fetch, dispatcher, allowedHosts: w.hosts };
  try {
    let result: TaskResult;
    try {
      result = await evaluatePayload(payload, opts, transport);
    } catch (err) {
      const why = failureText(err);
      log.warn({ reason: why }, 'run task could not be evaluated; reporting failed');
      result = taskResult('failed', `could not check this run, so it fails safe: ${why}`);
    }
    const status = await patchCallback(payload.task_result_callback_url, payload.access_token, JSON.stringify(result), transport);
    if (status.ok) log.info({ status: result.data.attributes.status }, 'run task result sent');
    else log.error({ callbackStatus: status.status, reason: status.reason }, 'run task result could not be sent to HCP Terraform');
  } finally {
    await dispatcher.close().catch(() => undefined);
  }
}

async function evaluatePayload(payload: RunTaskPayload, opts: RunTaskOptions, transport: TransportOptions): Promise<TaskResult> {
  const { stage } = payload;
  if (NO_PLAN_STAGES.has(stage)) {
    return taskResult('passed', `checks plans; there is no plan to check at the ${stage} stage`);
  }
  if (!PLAN_STAGES.has(stage)) throw new EntitlegateError('EG_ERR_INPUT_INVALID', `unknown run task stage "${stage}"`);
  if (!payload.plan_json_api_url) throw new EntitlegateError('EG_ERR_INPUT_INVALID', `the ${stage} request has no plan_json_api_url`);

  const text = await fetchPlan(payload.plan_json_api_url, payload.access_token, opts.planMaxBytes ?? PLAN_MAX_BYTES, transport);
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
  const claims = inStep('reading the plan', () => claimsFromPlanValue(value, config, { ...claimOpts, text }));
  if (opts.ledger) return opts.ledger.evaluate(payload, claims, opts.clock);
  const decision = inStep('evaluating the policy', () => opts.getEngine().decide(claims, { now: opts.clock() }));
  return resultOf(decision, payload.capabilities);
}
