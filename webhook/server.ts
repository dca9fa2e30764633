// The webhook's fastify app: one encapsulated plugin per concern (admission,
// health, metrics, run task), the usage source, the reloader, JSON logs with
// secrets redacted, and errors as JSON without stack traces.
import type { Server as HttpsServer } from 'node:https';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Config } from '../config/schema.ts';
import { EntitlegateError } from '../engine/errors.ts';
import { admissionPlugin } from './admission.ts';
import type { Gate } from './gate.ts';
import { healthPlugin, type Readiness } from './health.ts';
import type { LedgerGate } from './ledger-gate.ts';
import { registerLedgerMetrics } from './ledger-metrics.ts';
import { Metrics, metricsPlugin } from './metrics.ts';
import { Reloader, readTls, type TlsFiles } from './reload.ts';
import { RUN_TASK_PATH, runTaskPlugin } from './run-task.ts';
import { RunTaskLedger } from './run-task-ledger.ts';
import { SharedReservations, defaultReplicaId } from './shared-reservations.ts';
import { TIMEOUTS, type Timeouts } from './timeouts.ts';
import { ClusterUsage, SnapshotUsage, type ClusterConnection, type UsageSourceOptions } from './usage-source.ts';

/** Log paths that may hold secrets: pino replaces them before a line is written. */
export const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'hmacKey',
  'token',
  '*.hmacKey',
  '*.runTaskHmacKey',
  '*.token',
  '*.password',
  '*.authorization',
];

export interface ServerOptions {
  gate: Gate;
  /**
   * HTTPS with these files; without, plain HTTP (entitlegate serve only allows that with --insecure-http).
   * With `clientCa`, POST /validate answers only clients with a certificate that CA signed (the kube-apiserver).
   */
  tls?: TlsFiles;
  /** How long a client may take (tests shorten them); default TIMEOUTS. */
  timeouts?: Partial<Timeouts>;
  /** The cluster to take live usage from; null or absent: snapshots only. */
  cluster?: ClusterConnection | null;
  usage?: UsageSourceOptions;
  /** fastify logger options (pino); false for none. Redaction is added. */
  logger?: boolean | Record<string, unknown>;
  /** A pino logger to use as is (tests capture lines with it). */
  loggerInstance?: FastifyServerOptions['loggerInstance'];
  /** Poll interval of the TLS, config and usage files; 0 turns reloading off. */
  reloadIntervalMs?: number;
  /** prom-client's process metrics (CPU, memory, event-loop lag). */
  defaultMetrics?: boolean;
  /**
   * Reservations shared across replicas in Leases of this namespace; absent:
   * the config's `kubernetes.sharedReservations`; null: off (in-memory).
   * Needs a cluster connection. Read once at start (a reload does not switch modes).
   */
  sharedReservations?: { namespace: string; replica?: string; maxAttempts?: number } | null;
  /** Admissions decided and reserved at this ledger, the inventory reported to it (ledger-gate.ts); absent: no ledger. */
  ledger?: LedgerGate | null;
}

/** The HMAC key of the HCP Terraform run task: the value, or `env:NAME` read from the environment. */
export function runTaskHmacKey(config: Config, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = config.terraform.runTaskHmacKey;
  if (!value) return undefined;
  if (!value.startsWith('env:')) return value;
  const name = value.slice(4);
  const key = env[name];
  if (!key)
    throw new EntitlegateError(
      'EG_ERR_CONFIG_INVALID',
      `terraform.runTaskHmacKey reads the environment variable ${name}, which is not set`,
    );
  return key;
}

function loggerOptions(logger: ServerOptions['logger']): FastifyServerOptions['logger'] {
  if (logger === false) return false;
  const base = logger === true || logger === undefined ? {} : logger;
  return { level: 'info', ...base, redact: { paths: REDACT, censor: '[redacted]' } };
}

declare module 'fastify' {
  interface FastifyInstance {
    /** How usage is sourced and whether it is complete (cluster synced). */
    readiness: Readiness;
    metrics: Metrics;
    reloader: Reloader | undefined;
  }
}

export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const { gate } = opts;
  const fastifyOpts: FastifyServerOptions & { https?: object } = {
    // One line per denial instead (admission.ts); two lines per request would cost throughput.
    logController: new LogController({ disableRequestLogging: true }),
    // No child logger per request: with redaction configured, pino's child()
    // cost about 50 µs a request, a third of an admission. The lines we log
    // (admission.ts) name the admission's uid themselves.
    childLoggerFactory: (logger) => logger,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  };
  if (opts.loggerInstance) fastifyOpts.loggerInstance = opts.loggerInstance;
  else fastifyOpts.logger = loggerOptions(opts.logger);
  const timeouts = { ...TIMEOUTS, ...opts.timeouts };
  // fastify sets requestTimeout on the server it makes; the other limits are
  // read by Node's server constructor, so they go into its options.
  fastifyOpts.requestTimeout = timeouts.requestMs;
  const serverTimeouts = {
    headersTimeout: Math.min(timeouts.headersMs, timeouts.requestMs),
    requestTimeout: timeouts.requestMs,
    connectionsCheckingInterval: timeouts.checkIntervalMs,
  };
  if (opts.tls) {
    fastifyOpts.https = {
      ...readTls(opts.tls),
      ...serverTimeouts,
      handshakeTimeout: timeouts.handshakeMs,
      // Asked for, not required: the kubelet's probes and Prometheus reach
      // /healthz, /readyz and /metrics without a client certificate, and a
      // refused handshake would tell a misconfigured apiserver only "EOF".
      // POST /validate checks the result itself (admission.ts).
      ...(opts.tls.clientCa ? { requestCert: true, rejectUnauthorized: false } : {}),
    };
  } else (fastifyOpts as { http?: object }).http = serverTimeouts;
  const app = Fastify(fastifyOpts) as unknown as FastifyInstance;

  const sharedSettings: ServerOptions['sharedReservations'] =
    opts.sharedReservations !== undefined ? opts.sharedReservations : gate.config.kubernetes.sharedReservations;
  if (sharedSettings) {
    if (!opts.cluster) {
      throw new EntitlegateError(
        'EG_ERR_USAGE',
        `shared reservations (namespace ${sharedSettings.namespace}) are kept in the Kubernetes API, but there is no cluster connection (no kubeconfig, not in a pod, or --no-cluster)`,
      );
    }
    gate.shared = new SharedReservations({
      kubeConfig: opts.cluster.kubeConfig,
      namespace: sharedSettings.namespace,
      replica: sharedSettings.replica ?? defaultReplicaId(),
      ...(sharedSettings.maxAttempts ? { maxAttempts: sharedSettings.maxAttempts } : {}),
      ttlMs: () => gate.config.kubernetes.reservationTTLSeconds * 1000,
      counted: (key) => gate.counted(key),
    });
  } else gate.shared = undefined;
  gate.ledger = opts.ledger ?? undefined;
  if (gate.ledger) gate.ledger.log = app.log;
  if (gate.ledger && opts.cluster && !gate.ledger.cluster) {
    throw new EntitlegateError(
      'EG_ERR_USAGE',
      "with a ledger, the cluster's usage is reported as the source cluster:NAME: set kubernetes.cluster in the config to this cluster's name",
    );
  }
  const usage = opts.cluster ? new ClusterUsage(gate, opts.cluster, app.log, opts.usage) : new SnapshotUsage();
  const metrics = new Metrics(gate, { defaultMetrics: opts.defaultMetrics ?? true, ready: () => usage.ready() });
  if (gate.ledger) registerLedgerMetrics(metrics.registry, gate.ledger);
  app.decorate('readiness', usage as Readiness);
  app.decorate('metrics', metrics);
  app.decorate('reloader', undefined);

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status >= 500) {
      req.log.error({ err: { message: err.message, code: err.code } }, 'request failed');
      return reply.code(500).send({ statusCode: 500, error: 'Internal Server Error', message: 'internal error; see the server log' });
    }
    // fastify's body parser errors (not JSON, empty body, wrong content type) are the client's: 400 with the reason.
    const code = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 413 : err.code?.startsWith('FST_ERR_CTP_') ? 400 : status;
    if (req.url.startsWith('/validate')) metrics.badRequests.inc();
    return reply
      .code(code)
      .send({ statusCode: code, error: code === 413 ? 'Payload Too Large' : 'Bad Request', code: err.code, message: err.message });
  });

  await app.register(healthPlugin, { readiness: usage });
  await app.register(metricsPlugin, { metrics });
  await app.register(admissionPlugin, { gate, metrics, readiness: usage, clientAuth: !!opts.tls?.clientCa });

  // The run task makes this server request URLs its payload names, so it is
  // served only when requests can be authenticated: with an HMAC key. The key
  // (an `env:NAME` variable must be set now, or serve refuses to start) and the
  // scope are read again on each request, so a config reload applies them.
  if (runTaskHmacKey(gate.config)) {
    await app.register(runTaskPlugin, {
      getEngine: () => gate.engine,
      getConfig: () => gate.config,
      clock: gate.clock,
      hmacKey: () => runTaskHmacKey(gate.config),
      scope: () => gate.config.terraform.runTaskScope,
      ...(gate.ledger ? { ledger: new RunTaskLedger(gate.ledger.client) } : {}),
    });
    const t = gate.config.terraform;
    app.log.info(
      {
        path: RUN_TASK_PATH,
        hosts: t.runTaskHosts ?? 'any with public addresses (plan and callback URLs on one host)',
        scope: t.runTaskScope ?? {},
      },
      'HCP Terraform run task served (signed requests only)',
    );
  } else {
    app.log.info(
      `HCP Terraform run task off: terraform.runTaskHmacKey is not set, and ${RUN_TASK_PATH} is only served with one (its payload names URLs this server requests, so it must be signed)`,
    );
  }

  if (gate.ledger) {
    app.log.info(
      { ledger: gate.ledger.client.url, source: gate.ledger.source ?? '(no cluster: nothing reported)' },
      'admissions that add licensed quantity are decided and reserved at the ledger',
    );
  }
  if (gate.shared) {
    app.log.info(
      { namespace: gate.shared.namespace, replica: gate.shared.replica, maxAttempts: gate.shared.maxAttempts },
      'reservations shared across replicas: one Lease per product',
    );
  }
  if (usage instanceof ClusterUsage) {
    app.log.info(
      { cluster: opts.cluster!.from },
      'live usage from the cluster inventory (plus usage snapshots); ready after the first sync',
    );
  } else {
    app.log.info({ usage: gate.files.usage }, 'no cluster connection: deciding from the usage snapshots alone');
  }
  app.addHook('onReady', async () => {
    if (usage instanceof ClusterUsage) {
      usage.start();
      gate.ledger?.report(usage.inventory);
    }
    const interval = opts.reloadIntervalMs ?? 1000;
    if (interval > 0) {
      app.reloader = new Reloader({
        gate,
        metrics,
        log: app.log,
        intervalMs: interval,
        ...(opts.tls ? { tls: { files: opts.tls, server: app.server as unknown as HttpsServer } } : {}),
      });
    }
  });
  app.addHook('onClose', async () => {
    app.reloader?.close();
    await gate.ledger?.stop();
    await usage.stop();
  });
  return app;
}
