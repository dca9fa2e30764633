// The ledger's public entry points, started by the CLI (`entitlegate ledger
// serve`, `ledger token create`): it never starts serving with a config or a
// store it could not load; those end in exit 2 with every problem.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import type { FastifyInstance } from 'fastify';
import { EntitlegateError } from '../engine/errors.ts';
import { loadEngine } from '../config/load.ts';
import { loadSigningKey, newSigningKeyPem } from './audit/checkpoint.ts';
import { checkpointPolicy } from './audit/checkpointer.ts';
import { createToken } from './auth.ts';
import { tokenView } from './token-routes.ts';
import { Ledger } from './ledger.ts';
import { buildLedgerServer } from './server.ts';
import { openStore } from './store/open.ts';
import { ThreadedSqliteStore } from './store/sqlite-thread.ts';
import type { Role, TokenLimits, TokenRecord } from './store/types.ts';

export interface LedgerServeOptions {
  config: string;
  store: string;
  port: number;
  host: string;
  tls?: { cert: string; key: string };
  /** Plain HTTP on a non-loopback address (behind a TLS-terminating proxy). */
  insecureHttp?: boolean;
  clock: () => Date;
  logLevel: string;
  intervalMs?: number;
  /** Ed25519 private key (PEM) that signs the decision log's checkpoints. */
  signingKey?: string;
  checkpointEvery?: number;
  checkpointMinutes?: number;
  retainDays?: number;
}

export interface LedgerServeHooks {
  stop?: Promise<unknown>;
  listening?: (address: string) => void;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

function checkTls(cert: string, key: string): void {
  const read = (flag: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new EntitlegateError('EG_ERR_FILE_NOT_FOUND', `${flag} ${file}: cannot read it: ${(err as Error).message}`);
    }
  };
  const certPem = read('--tls-cert', cert);
  const keyPem = read('--tls-key', key);
  try {
    new X509Certificate(certPem);
  } catch {
    throw new EntitlegateError('EG_ERR_TLS_INVALID', `--tls-cert ${cert}: not a PEM certificate (expected "-----BEGIN CERTIFICATE-----")`);
  }
  try {
    createPrivateKey(keyPem);
  } catch {
    throw new EntitlegateError('EG_ERR_TLS_INVALID', `--tls-key ${key}: not an unencrypted PEM private key`);
  }
}

/** A ledger over its store, ready to decide (tests and the server). `check` refuses a config before the store is opened. */
export async function openLedger(opts: {
  config: string;
  store: string;
  clock: () => Date;
  check?: (config: Ledger['config']) => void;
}): Promise<Ledger> {
  const { config, engine } = await loadEngine(opts.config, []);
  opts.check?.(config);
  const store = await openStore(opts.store, { thread: true });
  try {
    const ledger = new Ledger({ store, engine, config, clock: opts.clock });
    await ledger.start();
    // The embedded store's thread decides too: a step then never waits on this thread's event loop.
    if (store instanceof ThreadedSqliteStore)
      ledger.decideIn(await store.decider({ config, policy: { path: engine.policy.path, bytes: engine.policy.bytes } }));
    return ledger;
  } catch (err) {
    await store.close();
    throw err;
  }
}

export async function startLedgerServer(opts: LedgerServeOptions): Promise<{ app: FastifyInstance; ledger: Ledger; address: string }> {
  if (opts.tls) checkTls(opts.tls.cert, opts.tls.key);
  else if (!isLoopback(opts.host) && !opts.insecureHttp)
    throw new EntitlegateError(
      'EG_ERR_USAGE',
      `without --tls-cert and --tls-key the ledger serves plain HTTP on loopback only, not on ${opts.host}: give the TLS files (or --insecure-http behind a TLS-terminating proxy)`,
    );
  if (opts.retainDays !== undefined && !opts.signingKey)
    throw new EntitlegateError(
      'EG_ERR_USAGE',
      '--retain-days needs --signing-key: the log is pruned at a signed checkpoint, so that what is left still verifies',
    );
  const key = opts.signingKey ? loadSigningKey(opts.signingKey) : undefined;
  // The flag wins over the config's ledger.audit.retainDays.
  let retainDays = opts.retainDays;
  const ledger = await openLedger({
    ...opts,
    check: (loaded) => {
      retainDays ??= loaded.config.ledger?.audit?.retainDays;
      if (retainDays !== undefined && !key)
        throw new EntitlegateError(
          'EG_ERR_USAGE',
          `${loaded.file}: ledger.audit.retainDays needs --signing-key: the log is pruned at a signed checkpoint, so that what is left still verifies`,
        );
    },
  });
  const app = await buildLedgerServer({
    ledger,
    audit: {
      ...(key ? { key } : {}),
      policy: checkpointPolicy({
        ...(opts.checkpointEvery !== undefined ? { every: opts.checkpointEvery } : {}),
        ...(opts.checkpointMinutes !== undefined ? { minutes: opts.checkpointMinutes } : {}),
        ...(retainDays !== undefined ? { retainDays } : {}),
      }),
    },
    ...(opts.tls ? { tls: opts.tls } : {}),
    logger: { level: opts.logLevel },
    ...(opts.intervalMs !== undefined ? { intervalMs: opts.intervalMs } : {}),
  });
  app.addHook('onClose', async () => ledger.store.close());
  try {
    const address = await app.listen({ port: opts.port, host: opts.host });
    if (!opts.tls)
      app.log.warn(
        `serving plain HTTP on ${address}: without --tls-cert and --tls-key tokens cross the wire in the clear; use it on loopback or behind TLS only`,
      );
    if (!key) app.log.warn('no --signing-key: the decision log is hash-chained but its checkpoints are not signed');
    app.log.info({ store: ledger.store.kind, config: ledger.config.digest, auditKey: key?.keyId }, 'ledger ready');
    return { app, ledger, address };
  } catch (err) {
    await app.close();
    throw new EntitlegateError('EG_ERR_USAGE', `cannot listen on ${opts.host}:${opts.port}: ${(err as Error).message}`);
  }
}

export async function serveLedger(opts: LedgerServeOptions, hooks: LedgerServeHooks = {}): Promise<number> {
  // As the webhook: the policy's WebAssembly straight to the optimising compiler, for a long-running server.
  setFlagsFromString('--no-liftoff');
  const { app, address } = await startLedgerServer(opts);
  hooks.listening?.(address);
  const stop =
    hooks.stop ??
    new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
  await stop;
  app.log.info('shutting down: finishing requests in flight');
  await app.close();
  return 0;
}

export async function createLedgerToken(opts: {
  store: string;
  name: string;
  roles: readonly Role[];
  now: Date;
  limits?: TokenLimits;
}): Promise<{ token: string; record: TokenRecord }> {
  const store = await openStore(opts.store);
  try {
    const made = await createToken(store, opts.name, opts.roles, opts.now, 'cli', opts.limits);
    return made;
  } finally {
    await store.close();
  }
}

export async function listLedgerTokens(spec: string): Promise<ReturnType<typeof tokenView>[]> {
  const store = await openStore(spec);
  try {
    return (await store.listTokens()).map(tokenView);
  } finally {
    await store.close();
  }
}

/** Revokes a token on the store (the ledgers' token caches forget it within 5 s). */
export async function revokeLedgerToken(opts: { store: string; id: string; now: Date }): Promise<ReturnType<typeof tokenView>> {
  const store = await openStore(opts.store);
  try {
    // The store logs the revocation (token.revoke) in the same transaction.
    await store.revokeToken(opts.id, opts.now.getTime(), 'cli');
    const t = (await store.listTokens()).find((x) => x.id === opts.id);
    if (!t)
      throw new EntitlegateError(
        'EG_ERR_LEDGER_NOT_FOUND',
        `--store ${opts.store}: no token with id ${opts.id} (entitlegate ledger token list shows them)`,
      );
    return tokenView(t);
  } finally {
    await store.close();
  }
}

/** `ledger key create FILE`: a new Ed25519 signing key, written readable by its owner only. */
export function createSigningKeyFile(file: string): { keyId: string; publicPem: string } {
  const k = newSigningKeyPem();
  try {
    writeFileSync(file, k.privatePem, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new EntitlegateError(
      'EG_ERR_USAGE',
      code === 'EEXIST'
        ? `${file} exists already; a signing key is never overwritten`
        : `${file}: cannot write it: ${code ?? (err as Error).message}`,
    );
  }
  return { keyId: k.keyId, publicPem: k.publicPem };
}

export { ROLES, type Role } from './store/types.ts';
export { isRole } from './auth.ts';
export { isSourcePattern } from './governance-settings.ts';
