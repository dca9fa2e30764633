// `entitlegate ledger serve` and `ledger token create`: their flags, parsed
// here and handed to the ledger's public entry points (ledger/serve.ts).
import { nowFrom, parse, strings, usageError } from './args.ts';
import type { Io } from './io.ts';

export const LEDGER_SERVE_USAGE =
  'entitlegate ledger serve --config FILE --store STORE [--port N] [--host H] [--tls-cert F --tls-key F] [--insecure-http] [--log-level L] [--now ISO-8601]\n      [--signing-key FILE [--checkpoint-every N] [--checkpoint-minutes T] [--retain-days N]]';
export const TOKEN_CREATE_USAGE =
  'entitlegate ledger token create --store STORE --name NAME --role ROLE... [--product P]... [--scope DIM=VALUE]... [--source NAME|GLOB]...   (roles: gate, reporter, viewer, finance, procurement, auditor, approver, admin)';
export const TOKEN_LIST_USAGE = 'entitlegate ledger token list --store STORE [--format text|json]';
export const TOKEN_REVOKE_USAGE = 'entitlegate ledger token revoke ID --store STORE';
export const KEY_CREATE_USAGE = 'entitlegate ledger key create FILE   (an Ed25519 key that signs the decision log’s checkpoints)';

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
      'signing-key': { type: 'string' },
      'checkpoint-every': { type: 'string' },
      'checkpoint-minutes': { type: 'string' },
      'retain-days': { type: 'string' },
    },
    false,
  );
  const positive = (flag: 'checkpoint-every' | 'checkpoint-minutes' | 'retain-days'): number | undefined => {
    const v = values[flag];
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw usageError(`--${flag} must be a whole number of at least 1, not "${String(v)}"`);
    return n;
  };
  const audit = {
    ...(values['signing-key'] ? { signingKey: values['signing-key'] as string } : {}),
    ...(positive('checkpoint-every') !== undefined ? { checkpointEvery: positive('checkpoint-every')! } : {}),
    ...(positive('checkpoint-minutes') !== undefined ? { checkpointMinutes: positive('checkpoint-minutes')! } : {}),
    ...(positive('retain-days') !== undefined ? { retainDays: positive('retain-days')! } : {}),
  };
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
      ...audit,
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
  const { values } = parse(
    args,
    {
      store: { type: 'string' },
      name: { type: 'string' },
      role: { type: 'string', multiple: true },
      product: { type: 'string', multiple: true },
      scope: { type: 'string', multiple: true },
      source: { type: 'string', multiple: true },
    },
    false,
  );
  const roles = strings(values.role);
  const products = strings(values.product);
  const sources = strings(values.source);
  const scope: Record<string, string> = {};
  for (const p of strings(values.scope)) {
    const m = /^(environment|cluster|namespace|account|region)=(.+)$/.exec(p);
    if (!m) throw usageError(`--scope must be DIM=VALUE with DIM one of environment, cluster, namespace, account, region, not "${p}"`);
    scope[m[1]!] = m[2]!;
  }
  if (!values.store || !values.name || roles.length === 0)
    throw usageError(`--store, --name and at least one --role are required\n\n  ${TOKEN_CREATE_USAGE}`);
  const ledger = await import('../ledger/serve.ts');
  const bad = roles.filter((r) => !ledger.isRole(r));
  if (bad.length) throw usageError(`unknown role "${bad[0]}": roles are ${ledger.ROLES.join(', ')}`);
  const badSource = sources.find((s) => !ledger.isSourcePattern(s));
  if (badSource)
    throw usageError(
      `--source must be a source name or glob (letters, digits and . _ : / - *, such as cluster:prod-*), not "${badSource}"`,
    );
  const { token, record } = await ledger.createLedgerToken({
    store: values.store as string,
    name: values.name as string,
    roles: roles as never,
    now: io.clock(),
    limits: {
      ...(products.length ? { products } : {}),
      ...(Object.keys(scope).length ? { scope } : {}),
      ...(sources.length ? { sources } : {}),
    },
  });
  const limits = [
    record.products ? `products: ${record.products.join(', ')}` : '',
    record.scope ? `scope: ${JSON.stringify(record.scope)}` : '',
    record.sources ? `sources: ${record.sources.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  io.stderr(
    `created token "${record.name}" (id ${record.id}; roles: ${record.roles.join(', ')}${limits ? `; ${limits}` : ''}); it is shown once, keep it secret:\n`,
  );
  io.stdout(`${token}\n`);
  return 0;
}

export async function ledgerTokenList(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, { store: { type: 'string' }, format: { type: 'string', short: 'f' } }, false);
  if (!values.store) throw usageError(`--store is required\n\n  ${TOKEN_LIST_USAGE}`);
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw usageError(`--format must be text or json, not "${format}"`);
  const ledger = await import('../ledger/serve.ts');
  const tokens = await ledger.listLedgerTokens(values.store);
  if (format === 'json') io.stdout(`${JSON.stringify({ tokens }, null, 2)}\n`);
  else
    io.stdout(
      tokens.length
        ? `${tokens.map((t) => `${t.id}  ${t.name}  ${t.roles.join(',')}${t.products ? `  products=${t.products.join(',')}` : ''}${t.scope ? `  scope=${JSON.stringify(t.scope)}` : ''}${t.sources ? `  sources=${t.sources.join(',')}` : ''}  created ${t.createdAt}${t.revokedAt ? `  REVOKED ${t.revokedAt}` : ''}`).join('\n')}\n`
        : 'no tokens\n',
    );
  return 0;
}

export async function ledgerTokenRevoke(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { store: { type: 'string' } }, true);
  if (!values.store || positionals.length !== 1) throw usageError(`usage: ${TOKEN_REVOKE_USAGE}`);
  const ledger = await import('../ledger/serve.ts');
  const t = await ledger.revokeLedgerToken({ store: values.store, id: positionals[0]!, now: io.clock() });
  io.stdout(`token ${t.id} ("${t.name}") revoked at ${t.revokedAt}; ledgers refuse it within 5 s\n`);
  return 0;
}

export async function ledgerKeyCreate(args: string[], io: Io): Promise<number> {
  const { positionals } = parse(args, {}, true);
  if (positionals.length !== 1) throw usageError(`usage: ${KEY_CREATE_USAGE}`);
  const ledger = await import('../ledger/serve.ts');
  const { keyId, publicPem } = ledger.createSigningKeyFile(positionals[0]!);
  io.stderr(`wrote the signing key ${positionals[0]} (${keyId}); keep it secret, pass it to ledger serve --signing-key. Its public key:\n`);
  io.stdout(publicPem);
  return 0;
}
