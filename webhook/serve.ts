// `entitlegate serve`: the admission webhook (and HCP Terraform run task)
// over HTTPS. It never starts serving with a config, usage snapshot or
// certificate it could not load: those end in exit 2 with every problem.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { setFlagsFromString } from 'node:v8';
import { EntitlegateError } from '../engine/errors.ts';
import { LedgerClient, ledgerUrl, tokenFrom } from '../ledger-client/client.ts';
import { Gate } from './gate.ts';
import { LedgerGate } from './ledger-gate.ts';
import { pooledSend } from './ledger-transport.ts';
import { startMetricsServer, type MetricsServer } from './metrics.ts';
import { buildServer } from './server.ts';
import { detectCluster } from './usage-source.ts';

/**
 * Reads and parses --tls-cert and --tls-key before anything starts, so a bad
 * file is named with its flag (instead of OpenSSL's "PEM routines::no start
 * line" from deep inside the HTTPS server).
 */
export function checkTlsFiles(cert: string, key: string, clientCa?: string): void {
  const read = (flag: string, file: string, what: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new EntitlegateError('EG_ERR_FILE_NOT_FOUND', `${flag} ${file}: cannot read the TLS ${what}: ${(err as Error).message}`);
    }
  };
  const reason = (err: unknown) => ((err as Error).message ?? String(err)).replace(/^error:[0-9A-Fa-f]+:/, '');
  const certPem = read('--tls-cert', cert, 'certificate');
  const keyPem = read('--tls-key', key, 'key');
  try {
    new X509Certificate(certPem);
  } catch (err) {
    throw new EntitlegateError(
      'EG_ERR_TLS_INVALID',
      `--tls-cert ${cert}: not a PEM certificate (expected "-----BEGIN CERTIFICATE-----"): ${reason(err)}`,
    );
  }
  try {
    createPrivateKey(keyPem);
  } catch (err) {
    throw new EntitlegateError(
      'EG_ERR_TLS_INVALID',
      `--tls-key ${key}: not a PEM private key (expected "-----BEGIN PRIVATE KEY-----" or similar, unencrypted): ${reason(err)}`,
    );
  }
  if (clientCa !== undefined) {
    const caPem = read('--client-ca', clientCa, 'client CA');
    try {
      new X509Certificate(caPem);
      createSecureContext({ ca: caPem });
    } catch (err) {
      throw new EntitlegateError(
        'EG_ERR_TLS_INVALID',
        `--client-ca ${clientCa}: not a PEM CA certificate (expected "-----BEGIN CERTIFICATE-----"): ${reason(err)}`,
      );
    }
  }
  try {
    createSecureContext({ cert: certPem, key: keyPem });
  } catch (err) {
    throw new EntitlegateError(
      'EG_ERR_TLS_INVALID',
      `--tls-cert ${cert} and --tls-key ${key} cannot be used together (is the key the certificate's?): ${reason(err)}`,
    );
  }
}

export interface ServeHooks {
  /** Resolves when the server should stop (default: SIGTERM or SIGINT). */
  stop?: Promise<unknown>;
  /** Called once listening, with the address (tests). */
  listening?: (address: string) => void;
  /** Called once the --metrics-port server listens, with its URL (tests). */
  metricsListening?: (url: string) => void;
}

/** What `entitlegate serve` was asked for, parsed from its flags by the CLI. */
export interface ServeOptions {
  config: string;
  usage: readonly string[];
  /**
   * Without it the server speaks plain HTTP (local testing only). `clientCa`:
   * POST /validate answers only clients with a certificate it signed.
   */
  tls?: { cert: string; key: string; clientCa?: string };
  port: number;
  host: string;
  /** The clock of decisions (a fixed one under --now). */
  clock: () => Date;
  /** false: do not look for a cluster to watch. */
  cluster: boolean;
  reloadIntervalMs: number;
  logLevel: string;
  /** Leases namespace given on the command line; the config's setting otherwise. */
  sharedReservationsNamespace?: string;
  replicaId?: string;
  /** Also serve /metrics alone, over plain HTTP, on this port. */
  metricsPort?: number;
  /** --ledger URL [--token-file F]; without it, the config's `ledger:` setting, if any. */
  ledger?: { url: string; tokenFile?: string };
}

/** How long the webhook waits for the ledger: well inside the kube-apiserver's webhook timeout (10 s by default). */
const LEDGER_TIMEOUT_MS = 5_000;

export async function serve(opts: ServeOptions, hooks: ServeHooks = {}): Promise<number> {
  const { tls, clock, port, host } = opts;
  if (tls) checkTlsFiles(tls.cert, tls.key, tls.clientCa);

  // The policy's WebAssembly straight to V8's optimising compiler. By default
  // V8 runs it first with its baseline compiler (Liftoff) and optimises a
  // function only after it has run a good while: a server reached full speed
  // only after ~100,000 admissions (the decision took ~38 µs at first, ~28 µs
  // then). Without Liftoff each function is optimised when first called
  // (~0.1 s in all, paid by the gate's warm-up decision), every later one runs
  // at full speed. Read when the policy is compiled, so set before the gate
  // loads it; only `serve` sets it — a one-off `check` is better off with Liftoff.
  setFlagsFromString('--no-liftoff');

  const gate = await Gate.create({ files: { config: opts.config, usage: opts.usage }, clock });
  const cluster = opts.cluster ? detectCluster() : null;
  const sharedNs = opts.sharedReservationsNamespace;
  const configured = gate.config.kubernetes.sharedReservations;
  const replica = opts.replicaId;
  const shared = sharedNs ? { namespace: sharedNs, ...(configured ? { maxAttempts: configured.maxAttempts } : {}) } : configured;
  const settings = gate.config.ledger;
  const ledgerAt =
    opts.ledger ??
    (settings
      ? { url: settings.url, ...(settings.tokenFile ? { tokenFile: resolve(dirname(opts.config), settings.tokenFile) } : {}) }
      : undefined);
  const transport = ledgerAt ? pooledSend() : undefined;
  const ledger = ledgerAt
    ? new LedgerGate({
        client: new LedgerClient({
          url: ledgerUrl(ledgerAt.url),
          token: tokenFrom(ledgerAt.tokenFile),
          timeoutMs: LEDGER_TIMEOUT_MS,
          send: transport!.send,
          surface: 'webhook',
        }),
        ...(gate.config.kubernetes.cluster ? { cluster: gate.config.kubernetes.cluster } : {}),
      })
    : null;
  const app = await buildServer({
    gate,
    ledger,
    sharedReservations: shared ? { ...shared, ...(replica ? { replica } : {}) } : null,
    ...(tls ? { tls } : {}),
    cluster,
    reloadIntervalMs: opts.reloadIntervalMs,
    logger: { level: opts.logLevel },
  });
  if (!tls) app.log.warn('serving plain HTTP (--insecure-http): for local testing only; the kube-apiserver requires HTTPS');
  else if (tls.clientCa)
    app.log.info({ clientCa: tls.clientCa }, 'POST /validate answers only clients with a certificate the client CA signed');
  else
    app.log.warn(
      'no --client-ca: any client that reaches this port can make admissions (and hold reservations); see docs/webhook.md, "Authenticating the kube-apiserver"',
    );
  if (!opts.cluster) app.log.info('--no-cluster: the cluster is not watched');
  try {
    const address = await app.listen({ port, host });
    hooks.listening?.(address);
  } catch (err) {
    await app.close();
    throw new EntitlegateError('EG_ERR_USAGE', `cannot listen on ${host}:${port}: ${(err as Error).message}`);
  }
  let metricsServer: MetricsServer | null = null;
  if (opts.metricsPort !== undefined) {
    try {
      metricsServer = await startMetricsServer(app.metrics, host, opts.metricsPort);
    } catch (err) {
      await app.close();
      throw new EntitlegateError(
        'EG_ERR_USAGE',
        `cannot listen on ${host}:${opts.metricsPort} (--metrics-port): ${(err as Error).message}`,
      );
    }
    app.log.info({ url: `${metricsServer.url}/metrics` }, 'serving /metrics on its own plain-HTTP port');
    hooks.metricsListening?.(metricsServer.url);
  }

  const stop =
    hooks.stop ??
    new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
  const reason = await stop;
  app.log.info({ reason: typeof reason === 'string' ? reason : 'stop' }, 'shutting down: finishing requests in flight');
  await metricsServer?.close();
  await app.close();
  await transport?.close();
  return 0;
}
