// `entitlegate serve`: its flags, parsed here and handed to the webhook's
// public entry point as options.
import type { ServeHooks } from '../webhook/serve.ts';
import { nowFrom, parse, strings, usageError } from './args.ts';
import type { Io } from './io.ts';

export const SERVE_USAGE = `entitlegate serve --config FILE [--usage FILE]... [--tls-cert F --tls-key F [--client-ca F]] [--port N] [--host H]
    [--now ISO-8601] [--no-cluster] [--insecure-http] [--log-level L] [--reload-interval MS]
    [--shared-reservations NAMESPACE] [--replica-id ID] [--metrics-port N] [--ledger URL [--token-file F]]`;

function portFrom(value: unknown, flag = '--port'): number {
  if (value === undefined) return 8443;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw usageError(`${flag} must be a port number (0-65535), not "${String(value)}"`);
  return port;
}

export async function serve(args: string[], io: Io, hooks: ServeHooks = {}): Promise<number> {
  const { values } = parse(
    args,
    {
      config: { type: 'string', short: 'c' },
      usage: { type: 'string', short: 'u', multiple: true },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'client-ca': { type: 'string' },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      now: { type: 'string' },
      'no-cluster': { type: 'boolean' },
      'insecure-http': { type: 'boolean' },
      'log-level': { type: 'string' },
      'reload-interval': { type: 'string' },
      'shared-reservations': { type: 'string' },
      'replica-id': { type: 'string' },
      'metrics-port': { type: 'string' },
      ledger: { type: 'string' },
      'token-file': { type: 'string' },
    },
    false,
  );
  if (!values.config) throw usageError(`--config FILE is required\n\n  ${SERVE_USAGE}`);
  const cert = values['tls-cert'] as string | undefined;
  const key = values['tls-key'] as string | undefined;
  if (!!cert !== !!key) throw usageError('--tls-cert and --tls-key go together');
  const clientCa = values['client-ca'] as string | undefined;
  if (clientCa !== undefined && !cert)
    throw usageError('--client-ca authenticates the kube-apiserver by its TLS client certificate, so it needs --tls-cert and --tls-key');
  if (!cert && !values['insecure-http']) {
    throw usageError(
      'serve needs --tls-cert and --tls-key: the kube-apiserver only calls webhooks over HTTPS. For local testing only, --insecure-http serves plain HTTP.',
    );
  }
  const reloadIntervalMs = values['reload-interval'] === undefined ? 1000 : Number(values['reload-interval']);
  if (!Number.isFinite(reloadIntervalMs) || reloadIntervalMs < 0)
    throw usageError('--reload-interval must be milliseconds (0 turns reloading off)');
  const sharedNs = values['shared-reservations'] as string | undefined;
  if (sharedNs !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(sharedNs))
    throw usageError(`--shared-reservations takes the namespace of the Leases, not "${sharedNs}"`);
  // --now fixes the instant of every decision (what-if questions, tests).
  const fixed = values.now === undefined ? undefined : nowFrom(values.now, io.clock);
  const replica = values['replica-id'] as string | undefined;
  const ledger = values.ledger as string | undefined;
  const tokenFile = values['token-file'] as string | undefined;
  if (tokenFile !== undefined && ledger === undefined) throw usageError('--token-file goes with --ledger URL');
  const webhook = await import('../webhook/serve.ts');
  return webhook.serve(
    {
      config: values.config as string,
      usage: strings(values.usage),
      ...(cert && key ? { tls: { cert, key, ...(clientCa !== undefined ? { clientCa } : {}) } } : {}),
      port: portFrom(values.port),
      host: (values.host as string | undefined) ?? '0.0.0.0',
      clock: fixed ? () => fixed : io.clock,
      cluster: !values['no-cluster'],
      reloadIntervalMs,
      logLevel: (values['log-level'] as string | undefined) ?? 'info',
      ...(sharedNs !== undefined ? { sharedReservationsNamespace: sharedNs } : {}),
      ...(replica !== undefined ? { replicaId: replica } : {}),
      ...(values['metrics-port'] !== undefined ? { metricsPort: portFrom(values['metrics-port'], '--metrics-port') } : {}),
      ...(ledger !== undefined ? { ledger: { url: ledger, ...(tokenFile !== undefined ? { tokenFile } : {}) } } : {}),
    },
    hooks,
  );
}
