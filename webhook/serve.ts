// `entitlegate serve`: the admission webhook (and HCP Terraform run task)
// over HTTPS. It never starts serving with a config, usage snapshot or
// certificate it could not load: those end in exit 2 with every problem.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { setFlagsFromString } from 'node:v8';
import { EntitlegateError } from '../engine/errors.ts';
import { nowFrom, parse, strings, usageError } from '../cli/args.ts';
import type { Io } from '../cli/io.ts';
import { Gate } from './gate.ts';
import { buildServer } from './server.ts';
import { detectCluster } from './usage-source.ts';

export const SERVE_USAGE = `entitlegate serve --config FILE [--usage FILE]... [--tls-cert F --tls-key F] [--port N] [--host H]
    [--now ISO-8601] [--no-cluster] [--insecure-http] [--log-level L] [--reload-interval MS]
    [--shared-reservations NAMESPACE] [--replica-id ID]`;

function portFrom(value: unknown): number {
  if (value === undefined) return 8443;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError(`--port must be a port number (0-65535), not "${String(value)}"`);
  return port;
}

/**
 * Reads and parses --tls-cert and --tls-key before anything starts, so a bad
 * file is named with its flag (instead of OpenSSL's "PEM routines::no start
 * line" from deep inside the HTTPS server).
 */
export function checkTlsFiles(cert: string, key: string): void {
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
    throw new EntitlegateError('EG_ERR_TLS_INVALID', `--tls-cert ${cert}: not a PEM certificate (expected "-----BEGIN CERTIFICATE-----"): ${reason(err)}`);
  }
  try {
    createPrivateKey(keyPem);
  } catch (err) {
    throw new EntitlegateError('EG_ERR_TLS_INVALID', `--tls-key ${key}: not a PEM private key (expected "-----BEGIN PRIVATE KEY-----" or similar, unencrypted): ${reason(err)}`);
  }
  try {
    createSecureContext({ cert: certPem, key: keyPem });
  } catch (err) {
    throw new EntitlegateError('EG_ERR_TLS_INVALID', `--tls-cert ${cert} and --tls-key ${key} cannot be used together (is the key the certificate's?): ${reason(err)}`);
  }
}

export interface ServeHooks {
  /** Resolves when the server should stop (default: SIGTERM or SIGINT). */
  stop?: Promise<unknown>;
  /** Called once listening, with the address (tests). */
  listening?: (address: string) => void;
}

export async function serve(args: string[], io: Io, hooks: ServeHooks = {}): Promise<number> {
  const { values } = parse(
    args,
    {
      config: { type: 'string', short: 'c' },
      usage: { type: 'string', short: 'u', multiple: true },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      now: { type: 'string' },
      'no-cluster': { type: 'boolean' },
      'insecure-http': { type: 'boolean' },
      'log-level': { type: 'string' },
      'reload-interval': { type: 'string' },
      'shared-reservations': { type: 'string' },
      'replica-id': { type: 'string' },
    },
    false,
  );
  if (!values.config) throw usageError(`--config FILE is required\n\n  ${SERVE_USAGE}`);
  const cert = values['tls-cert'] as string | undefined;
  const key = values['tls-key'] as string | undefined;
  if (!!cert !== !!key) throw usageError('--tls-cert and --tls-key go together');
  if (!cert && !values['insecure-http']) {
    throw usageError('serve needs --tls-cert and --tls-key: the kube-apiserver only calls webhooks over HTTPS. For local testing only, --insecure-http serves plain HTTP.');
  }
  const port = portFrom(values.port);
  const host = (values.host as string | undefined) ?? '0.0.0.0';
  const reloadIntervalMs = values['reload-interval'] === undefined ? 1000 : Number(values['reload-interval']);
  if (!Number.isFinite(reloadIntervalMs) || reloadIntervalMs < 0) throw usageError('--reload-interval must be milliseconds (0 turns reloading off)');
  // --now fixes the instant of every decision (what-if questions, tests).
  const fixed = values.now === undefined ? undefined : nowFrom(values.now, io.clock);
  const clock = fixed ? () => fixed : io.clock;

  if (cert && key) checkTlsFiles(cert, key);

  // The policy's WebAssembly straight to V8's optimising compiler. By default
  // V8 runs it first with its baseline compiler (Liftoff) and optimises a
  // function only after it has run a good while: a server reached full speed
  // only after ~100,000 admissions (the decision took ~38 µs at first, ~28 µs
  // then). Without Liftoff each function is optimised when first called
  // (~0.1 s in all, paid by the gate's warm-up decision), every later one runs
  // at full speed. Read when the policy is compiled, so set before the gate
  // loads it; only `serve` sets it — a one-off `check` is better off with Liftoff.
  setFlagsFromString('--no-liftoff');

  const gate = await Gate.create({ files: { config: values.config as string, usage: strings(values.usage) }, clock });
  const cluster = values['no-cluster'] ? null : detectCluster();
  const sharedNs = values['shared-reservations'] as string | undefined;
  if (sharedNs !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(sharedNs)) throw usageError(`--shared-reservations takes the namespace of the Leases, not "${sharedNs}"`);
  const configured = gate.config.kubernetes.sharedReservations;
  const replica = values['replica-id'] as string | undefined;
  const shared = sharedNs ? { namespace: sharedNs, ...(configured ? { maxAttempts: configured.maxAttempts } : {}) } : configured;
  const app = await buildServer({
    gate,
    sharedReservations: shared ? { ...shared, ...(replica ? { replica } : {}) } : null,
    ...(cert && key ? { tls: { cert, key } } : {}),
    cluster,
    reloadIntervalMs,
    logger: { level: (values['log-level'] as string | undefined) ?? 'info' },
  });
  if (!cert) app.log.warn('serving plain HTTP (--insecure-http): for local testing only; the kube-apiserver requires HTTPS');
  if (values['no-cluster']) app.log.info('--no-cluster: the cluster is not watched');
  try {
    const address = await app.listen({ port, host });
    hooks.listening?.(address);
  } catch (err) {
    await app.close();
    throw new EntitlegateError('EG_ERR_USAGE', `cannot listen on ${host}:${port}: ${(err as Error).message}`);
  }

  const stop =
    hooks.stop ??
    new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
  const reason = await stop;
  app.log.info({ reason: typeof reason === 'string' ? reason : 'stop' }, 'shutting down: finishing requests in flight');
  await app.close();
  return 0;
}
