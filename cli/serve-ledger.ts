// `entitlegate ledger serve` and `ledger token create`: their flags, parsed
// here and handed to the ledger's public entry points (ledger/serve.ts).
import { nowFrom, parse, strings, usageError } from './args.ts';
import type { Io } from './io.ts';

export const LEDGER_SERVE_USAGE =
  'entitlegate ledger serve --config FILE --store STORE [--port N] [--host H] [--tls-cert F --tls-key F] [--insecure-http] [--log-level L] [--now ISO-8601]';
export const TOKEN_CREATE_USAGE =
  'entitlegate ledger token create --store STORE --name NAME --role ROLE...   (roles: gate, reporter, viewer, finance, procurement, auditor, approver, admin)';

export interface LedgerServeHooks {
  stop?: Promise<unknown>;
  listening?: (address: string) => void;
}

export async function ledgerServe(args: string[], io: Io, hooks: LedgerServeHooks = {}): Promise<number> {
  const { values } = parse(
    args,
    {
      config: { type: 'string', short: 'c' },
      store: { type: 'string' },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'insecure-http': { type: 'boolean' },
      'log-level': { type: 'string' },
      now: { type: 'string' },
    },
    false,
  );
  if (!values.config || !values.store) throw usageError(`--config FILE and --store STORE are required\n\n  ${LEDGER_SERVE_USAGE}`);
  const cert = values['tls-cert'] as string | undefined;
  const key = values['tls-key'] as string | undefined;
  if (!!cert !== !!key) throw usageError('--tls-cert and --tls-key go together');
  const port = values.port === undefined ? 8480 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw usageError(`--port must be a port number (0-65535), not "${String(values.port)}"`);
  const fixed = values.now === undefined ? undefined : nowFrom(values.now, io.clock);
  const ledger = await import('../ledger/serve.ts');
  return ledger.serveLedger(
    {
      config: values.config as string,
      store: values.store as string,
      port,
      host: (values.host as string | undefined) ?? '127.0.0.1',
      ...(cert && key ? { tls: { cert, key } } : {}),
      insecureHttp: !!values['insecure-http'],
      clock: fixed ? () => fixed : io.clock,
      logLevel: (values['log-level'] as string | undefined) ?? 'info',
    },
    {
      ...hooks,
      listening: (address) => {
        // A person starting it wants the page: on stderr, beside the log.
        io.stderr(`entitlegate ledger: dashboard at ${address}/ui (sign in with a token from entitlegate ledger token create)\n`);
        hooks.listening?.(address);
      },
    },
  );
}

export async function ledgerTokenCreate(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, { store: { type: 'string' }, name: { type: 'string' }, role: { type: 'string', multiple: true } }, false);
  const roles = strings(values.role);
  if (!values.store || !values.name || roles.length === 0)
    throw usageError(`--store, --name and at least one --role are required\n\n  ${TOKEN_CREATE_USAGE}`);
  const ledger = await import('../ledger/serve.ts');
  const bad = roles.filter((r) => !ledger.isRole(r));
  if (bad.length) throw usageError(`unknown role "${bad[0]}": roles are ${ledger.ROLES.join(', ')}`);
  const { token, record } = await ledger.createLedgerToken({
    store: values.store as string,
    name: values.name as string,
    roles: roles as never,
    now: io.clock(),
  });
  io.stderr(`created token "${record.name}" (roles: ${record.roles.join(', ')}); it is shown once, keep it secret:\n`);
  io.stdout(`${token}\n`);
  return 0;
}
