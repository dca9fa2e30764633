// The ledger's fastify app: the versioned JSON API under /v1 (every call with
// a bearer token), its OpenAPI document, health, readiness and metrics.
// Bodies are read as text and parsed here, so a bad one is answered with
// `request:line:col` problems like a bad file on the command line.
import { readFileSync, statSync } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Counter, Histogram, Registry } from 'prom-client';
import { EntitlegateError, type ErrorCode } from '../engine/errors.ts';
import { SCOPE_DIMENSIONS, type Scope } from '../engine/types.ts';
import { type CheckpointPolicy, checkpointPolicy } from './audit/checkpointer.ts';
import type { SigningKey } from './audit/checkpoint.ts';
import { auditRoutes } from './audit/routes.ts';
import { chainStatusRoutes } from './audit/chain-routes.ts';
import { AuthError } from './auth.ts';
import { exceptionRoutes } from './exceptions-routes.ts';
import { findingsRoutes } from './findings-routes.ts';
import { type Identity, Authenticator, assertMayReplace, assertSource, assertWithin, hasRole, isLimited } from './identity.ts';
import { OidcVerifier } from './oidc.ts';
import { READ_ROLES, tokenRoutes } from './token-routes.ts';
import { reconcile, parseDormantDays } from './dashboard/reconciliation.ts';
import { dashboardRoutes, READERS } from './dashboard/routes.ts';
import { type Ledger, viewOf } from './ledger.ts';
import { SOURCE_NAME } from '../ledger-client/client.ts';
import { seenOr404, seesReservation, visibleConfig, visibleReports } from './visible.ts';
import { openapi } from './openapi.ts';
import { parseDecisionRequest, parseDuration, parseUsageBody, RESERVATION_KEY } from './requests.ts';
import type { Role } from './store/types.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** `METHOD /v1/path/{param}` of every API route (the OpenAPI document must name each). */
    ledgerRoutes: string[];
  }
}

export interface LedgerServerOptions {
  ledger: Ledger;
  tls?: { cert: string; key: string };
  logger?: boolean | Record<string, unknown>;
  /** Poll interval of the TLS files (reload on change) and of the expiry sweep; 0 turns both off. */
  intervalMs?: number;
  /** The decision log's signing key (checkpoints), checkpoint policy and retention. */
  audit?: { key?: SigningKey; policy?: CheckpointPolicy };
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  EG_ERR_INPUT_INVALID: 400,
  EG_ERR_USAGE_INVALID: 400,
  EG_ERR_USAGE: 400,
  EG_ERR_LEDGER_CONFLICT: 409,
  EG_ERR_LEDGER_NOT_FOUND: 404,
  EG_ERR_LEDGER_STORE: 503,
};

function errorBody(code: string, message: string, problems: unknown[] = []) {
  return { error: { code, message, problems } };
}

class LedgerMetrics {
  readonly registry = new Registry();
  readonly decisions = new Counter({
    name: 'entitlegate_ledger_decisions_total',
    help: 'Decisions by result (allowed, denied) and whether a reservation was asked for',
    labelNames: ['result', 'reserve'],
    registers: [this.registry],
  });
  readonly reservations = new Counter({
    name: 'entitlegate_ledger_reservation_changes_total',
    help: 'Reservations confirmed, released, settled by a usage report, and expired',
    labelNames: ['change'],
    registers: [this.registry],
  });
  readonly storeErrors = new Counter({
    name: 'entitlegate_ledger_store_errors_total',
    help: 'Requests answered 503 because the store did not answer',
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'entitlegate_ledger_request_duration_seconds',
    help: 'Time to answer a /v1 request, by route',
    labelNames: ['route'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
}

export async function buildLedgerServer(opts: LedgerServerOptions): Promise<FastifyInstance> {
  const { ledger } = opts;
  const tls = opts.tls ? { https: { cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key) } } : {};
  const logger =
    opts.logger === false
      ? false
      : {
          level: 'info',
          ...(opts.logger === true || !opts.logger ? {} : opts.logger),
          redact: { paths: ['req.headers.authorization', '*.token', '*.password'], censor: '[redacted]' },
        };
  const app = Fastify({
    ...tls,
    logger,
    logController: new LogController({ disableRequestLogging: true }),
    // No child logger per request (as the webhook): with redaction it costs more than the rest of a request.
    childLoggerFactory: (l) => l,
    // A Terraform state put as usage can be tens of MB.
    bodyLimit: 64 * 1024 * 1024,
  }) as unknown as FastifyInstance;
  const routes: string[] = [];
  app.addHook('onRoute', (r) => {
    for (const m of [r.method].flat())
      if (m !== 'HEAD' && r.url.startsWith('/v1/')) routes.push(`${m} ${r.url.replace(/:(\w+)/g, '{$1}')}`);
  });
  app.decorate('ledgerRoutes', routes);
  const oidc = ledger.config.config.ledger?.oidc;
  const auth = new Authenticator(ledger.store, oidc ? new OidcVerifier(oidc, ledger.clock) : undefined);
  const metrics = new LedgerMetrics();

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: FastifyError | EntitlegateError, req, reply) => {
    if (err instanceof AuthError) return reply.code(err.status).send(errorBody(err.code, err.message));
    if (err instanceof EntitlegateError) {
      const status = STATUS[err.code] ?? 500;
      if (status === 503) {
        metrics.storeErrors.inc();
        req.log.warn({ err: err.message }, 'store unavailable');
      }
      return reply.code(status).send(errorBody(err.code, err.message, err.problems));
    }
    const status = (err as FastifyError).statusCode;
    if (status && status >= 400 && status < 500) return reply.code(status).send(errorBody('EG_ERR_INPUT_INVALID', err.message));
    req.log.error({ err }, 'internal error');
    return reply.code(500).send(errorBody('EG_ERR_INTERNAL', 'internal error; see the ledger log'));
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send(errorBody('EG_ERR_LEDGER_NOT_FOUND', `no such endpoint: ${req.method} ${req.url.split('?')[0]}`)),
  );

  const text = (req: FastifyRequest): string => (typeof req.body === 'string' ? req.body : '');
  /** The route's handler after the caller's roles are checked; `actor` names the caller for the store. */
  const guarded =
    <P>(
      route: string,
      roles: readonly Role[],
      handler: (
        req: FastifyRequest<{ Params: P; Querystring: Record<string, string | undefined> }>,
        actor: string,
        reply: FastifyReply,
        who: Identity,
      ) => Promise<unknown>,
    ) =>
    async (req: FastifyRequest<{ Params: P; Querystring: Record<string, string | undefined> }>, reply: FastifyReply) => {
      const end = metrics.latency.startTimer({ route });
      try {
        const who = await auth.authorise(req.headers.authorization, roles);
        return await handler(req, who.actor, reply, who);
      } finally {
        end();
      }
    };

  /** A limited gate confirms or releases only reservations it may read: another is a 404, as for reads. */
  const assertSeesReservation = async (who: Identity, id: string) => {
    if (isLimited(who)) seenOr404(seesReservation(who, await ledger.reservation(id)), null, `reservation ${id}`);
  };

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    try {
      await ledger.store.ping();
      return { status: 'ready', store: ledger.store.kind };
    } catch (err) {
      return reply.code(503).send({ status: 'unavailable', store: ledger.store.kind, message: (err as Error).message });
    }
  });
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  app.get(
    '/v1/openapi.json',
    guarded('openapi', READ_ROLES, async () => openapi),
  );

  app.get(
    '/v1/config',
    guarded('config', READ_ROLES, async (_req, _actor, _reply, who) => ({
      digest: ledger.config.digest,
      config: visibleConfig(who, ledger.config.config),
    })),
  );

  app.post(
    '/v1/decisions',
    guarded('decisions', ['gate'], async (req, actor, _reply, who) => {
      const body = parseDecisionRequest(text(req), ledger.products);
      assertWithin(who, body.claims, 'the change');
      const decision = await ledger.decide(body, actor, req.headers['user-agent']);
      metrics.decisions.inc({ result: decision.allowed ? 'allowed' : 'denied', reserve: String(body.reserve) });
      return decision;
    }),
  );

  app.get<{ Params: { id: string }; Querystring: Record<string, string | undefined> }>(
    '/v1/reservations/:id',
    guarded<{ id: string }>('reservation', ['gate'], async (req, _a, _r, who) => {
      const r = await ledger.reservation(req.params.id);
      return seenOr404(seesReservation(who, r), r, `reservation ${req.params.id}`);
    }),
  );
  app.post<{ Params: { id: string }; Querystring: Record<string, string | undefined> }>(
    '/v1/reservations/:id/confirm',
    guarded<{ id: string }>('confirm', ['gate'], async (req, actor, _reply, who) => {
      await assertSeesReservation(who, req.params.id);
      const r = await ledger.confirm(req.params.id, actor);
      metrics.reservations.inc({ change: 'confirmed' });
      return r;
    }),
  );
  app.delete<{ Params: { id: string }; Querystring: Record<string, string | undefined> }>(
    '/v1/reservations/:id',
    guarded<{ id: string }>('release', ['gate'], async (req, actor, _reply, who) => {
      await assertSeesReservation(who, req.params.id);
      const r = await ledger.release(req.params.id, actor);
      metrics.reservations.inc({ change: 'released' });
      return r;
    }),
  );
  app.get(
    '/v1/reservations',
    // A gate may look up its own reservation by key (the run task's stages, on any replica); listing needs a reader's role.
    guarded('reservations', ['viewer', 'auditor', 'gate'], async (req, _actor, _reply, who) => {
      const key = req.query.key;
      if (key === undefined && !hasRole(who, ['viewer', 'auditor']))
        throw new AuthError(403, `${who.actor} may not do this; it needs the role viewer or auditor (a gate may look up ?key=)`);
      if (key !== undefined && !RESERVATION_KEY.test(key))
        throw new EntitlegateError('EG_ERR_INPUT_INVALID', 'key must be 1 to 200 characters: letters, digits and . _ : / - @');
      const states = (req.query.state ?? '').split(',').filter(Boolean);
      const bad = states.filter((s) => !['held', 'confirmed', 'released', 'expired', 'settled'].includes(s));
      if (bad.length)
        throw new EntitlegateError('EG_ERR_INPUT_INVALID', `state must be held, confirmed, released, expired or settled, not "${bad[0]}"`);
      const limit = Math.min(Number(req.query.limit ?? 100) || 100, 1000);
      const list = await ledger.store.listReservations(ledger.clock().getTime(), states as never, isLimited(who) ? 10_000 : limit, key);
      return {
        reservations: list
          .filter((r) => seesReservation(who, r))
          .slice(0, limit)
          .map(viewOf),
      };
    }),
  );

  app.put<{ Params: { name: string }; Querystring: Record<string, string | undefined> }>(
    '/v1/sources/:name/usage',
    guarded<{ name: string }>('usage', ['reporter'], async (req, actor, _reply, who) => {
      const name = req.params.name;
      if (!SOURCE_NAME.test(name))
        throw new EntitlegateError(
          'EG_ERR_INPUT_INVALID',
          `source name "${name}" must be letters, digits and . _ : / - (such as cluster:prod-eu-1), at most 200`,
        );
      let staleAfterMs: number | null = null;
      if (req.query.staleAfter !== undefined) {
        staleAfterMs = parseDuration(req.query.staleAfter);
        if (staleAfterMs === null)
          throw new EntitlegateError(
            'EG_ERR_INPUT_INVALID',
            `staleAfter must be a duration such as 15m, 2h or 1d, not "${req.query.staleAfter}"`,
          );
      }
      const scope: Scope = {};
      for (const d of SCOPE_DIMENSIONS) {
        const v = req.query[d];
        if (typeof v === 'string' && v) scope[d] = v;
      }
      assertSource(who, name);
      const body = parseUsageBody(text(req), ledger.config.config, ledger.clock(), scope, name);
      assertWithin(who, body.usage, 'the usage report');
      const result = await ledger.putUsage(
        name,
        body,
        staleAfterMs,
        actor,
        isLimited(who) ? (current) => assertMayReplace(who, name, current) : undefined,
      );
      metrics.reservations.inc({ change: 'settled' }, result.settled.length);
      return result;
    }),
  );
  app.get(
    '/v1/sources',
    guarded('sources', ['gate', 'reporter', 'viewer', 'finance', 'procurement', 'auditor'], async (_req, _actor, _reply, who) => {
      await ledger.refresh();
      if (!isLimited(who)) return { sources: ledger.sources };
      // Each source with the count of the records it sees; sources with none left out.
      const seen = new Map(
        visibleReports(who, await ledger.store.withProducts([], (tx) => tx.currentUsage())).map((r) => [r.source, r.usage.length]),
      );
      return { sources: ledger.sources.filter((s) => seen.has(s.source)).map((s) => ({ ...s, records: seen.get(s.source)! })) };
    }),
  );
  app.get(
    '/v1/reconciliation',
    guarded('reconciliation', ['reporter', ...READERS], async (req, _actor, _reply, who) =>
      reconcile(ledger, parseDormantDays(req.query.dormantDays), isLimited(who) ? who : undefined),
    ),
  );
  app.get<{ Params: { name: string }; Querystring: Record<string, string | undefined> }>(
    '/v1/sources/:name/usage/history',
    guarded<{ name: string }>('history', ['viewer', 'auditor'], async (req, _actor, _reply, who) => {
      const limit = Math.min(Number(req.query.limit ?? 20) || 20, 500);
      const reports = visibleReports(who, await ledger.store.usageHistory(req.params.name, limit));
      return { source: req.params.name, reports: reports.map((r) => ({ ...r, reportedAt: new Date(r.reportedAt).toISOString() })) };
    }),
  );

  exceptionRoutes(app, { ledger, guarded, text });
  tokenRoutes(app, { ledger, guarded, text, forget: () => auth.forget() });
  findingsRoutes(app, { ledger, guarded, text }, metrics.registry, opts.intervalMs ?? 1000);
  await app.register(dashboardRoutes, { ledger, guarded });

  const interval = opts.intervalMs ?? 1000;
  await app.register(auditRoutes, {
    store: ledger.store,
    authorise: (header, roles) => auth.authorise(header, roles),
    clock: ledger.clock,
    key: opts.audit?.key,
    policy: opts.audit?.policy ?? checkpointPolicy({}),
    intervalMs: interval,
  });
  chainStatusRoutes(app, {
    store: ledger.store,
    authorise: (header, roles) => auth.authorise(header, roles),
    key: opts.audit?.key?.publicKey ?? null,
    clock: ledger.clock,
  });
  if (interval > 0) {
    // Expired reservations already do not count; the sweep only marks them for readers and the metric.
    const sweep = setInterval(() => {
      ledger.store
        .expire(ledger.clock().getTime())
        .then((n) => metrics.reservations.inc({ change: 'expired' }, n))
        .catch((err: Error) => app.log.warn({ err: err.message }, 'expiry sweep failed; will retry'));
    }, Math.max(interval, 1000) * 5);
    sweep.unref();
    if (opts.tls) {
      const files = [opts.tls.cert, opts.tls.key];
      const sig = () =>
        files
          .map((f) => {
            try {
              const s = statSync(f);
              return `${s.ino}:${s.size}:${s.mtimeMs}`;
            } catch {
              return 'missing';
            }
          })
          .join('|');
      let applied = sig();
      const watch = setInterval(() => {
        const now = sig();
        if (now === applied) return;
        try {
          (app.server as HttpsServer).setSecureContext({ cert: readFileSync(opts.tls!.cert), key: readFileSync(opts.tls!.key) });
          applied = now;
          app.log.info('TLS certificate reloaded');
        } catch (err) {
          app.log.warn({ err: (err as Error).message }, 'TLS files changed but could not be used; the previous certificate keeps serving');
        }
      }, interval);
      watch.unref();
      app.addHook('onClose', async () => clearInterval(watch));
    }
    app.addHook('onClose', async () => clearInterval(sweep));
  }
  return app;
}
