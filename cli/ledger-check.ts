// `entitlegate check --ledger URL [--reserve [--ttl 30m]]`: the ledger's
// config makes the claims and the ledger decides them with the whole
// organisation's usage and reservations. A pull-request check reads; a deploy
// job reserves, then confirms or releases (`entitlegate ledger confirm|release ID`).
import { dirname, resolve } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { Mode, Scope } from '../engine/types.ts';
import { claimsFromPaths, type InputWarning } from '../inputs/read.ts';
import { type Format, renderDecision } from '../render/index.ts';
import { usageError } from './args.ts';
import type { Io } from './io.ts';
import {
  checkReservationSource,
  claimsOfSource,
  LedgerClient,
  type LedgerDecision,
  LedgerRefusal,
  ledgerUrl,
  tokenFrom,
} from '../ledger-client/client.ts';
import { writeReport } from './output.ts';

/** check's options that belong to the ledger, for its parse table. */
export const ledgerCheckOptions = {
  ledger: { type: 'string' },
  reserve: { type: 'boolean' },
  ttl: { type: 'string' },
  source: { type: 'string' },
  'token-file': { type: 'string' },
} as const;

export interface LedgerCheck {
  values: Record<string, unknown>;
  /** The local config's `ledger:` setting, when --config names one (--ledger wins). */
  settings?: { url: string; tokenFile?: string; configFile: string };
  paths: string[];
  scope: Scope;
  mode: Mode | undefined;
  format: Format;
  /** The run's own files (config, usage): never read as inputs. */
  notInputs?: readonly string[];
  /** Where input warnings go (stderr). */
  warn?: (w: InputWarning) => void;
}

/** Refuses local sources of truth with --ledger (before anything is read). */
export function checkLedgerFlags(values: Record<string, unknown>): void {
  if (!values.ledger) return;
  if (values.config || values.usage) throw usageError('with --ledger the config and usage come from the ledger: drop --config and --usage');
}

/** Whether check goes to a ledger: --ledger, a config with `ledger:`, or a ledger flag (which then needs one of those). */
export function wantsLedger(values: Record<string, unknown>, configured: boolean): boolean {
  return !!values.ledger || configured || !!values.reserve || !!values.ttl || !!values.source || !!values['token-file'];
}

export async function checkWithLedger(c: LedgerCheck, io: Io): Promise<number> {
  const v = c.values;
  if (!v.ledger && !c.settings)
    throw usageError('--reserve, --ttl, --source and --token-file go with --ledger URL (or a config with ledger.url)');
  if (v.usage) throw usageError('with a ledger the usage comes from the ledger: drop --usage');
  if (v.now) throw usageError('with a ledger the ledger decides at its own clock: drop --now');
  if (v.ttl && !v.reserve) throw usageError('--ttl goes with --reserve');
  const url = v.ledger ? ledgerUrl(v.ledger) : ledgerUrl(c.settings!.url);
  const tokenFile =
    (v['token-file'] as string | undefined) ??
    (c.settings?.tokenFile ? resolve(dirname(c.settings.configFile), c.settings.tokenFile) : undefined);
  const client = new LedgerClient({ url, token: tokenFrom(tokenFile) });
  try {
    const { digest, config } = await client.call<{ digest: string; config: Config }>('GET', '/v1/config');
    const claims = claimsFromPaths(
      c.paths,
      { config, scope: c.scope, ...(c.notInputs ? { notInputs: c.notInputs } : {}), ...(c.warn ? { warn: c.warn } : {}) },
      io.readStdin,
    );
    const source = v.source as string | undefined;
    if (v.reserve || source !== undefined) checkReservationSource(claims, source, '--source');
    const request = {
      claims: source === undefined ? claims : claimsOfSource(claims, source),
      configDigest: digest,
      ...(c.mode ? { mode: c.mode } : {}),
      ...(c.values.reserve ? { reserve: true, ...(c.values.ttl ? { ttl: c.values.ttl } : {}) } : {}),
    };
    const decision = await client.call<LedgerDecision>('POST', '/v1/decisions', JSON.stringify(request));
    const out = renderDecision(decision, c.format);
    const note = decision.reservation
      ? `reservation ${decision.reservation.id} holds this change ${decision.reservation.expiresAt === null ? '(confirmed)' : `until ${decision.reservation.expiresAt}`}: run \`entitlegate ledger confirm ${decision.reservation.id}\` once deployed, or \`entitlegate ledger release ${decision.reservation.id}\`\n`
      : '';
    if (c.values.output) {
      writeReport(c.values.output as string, out);
      io.stdout(renderDecision(decision, 'text') + note);
    } else {
      io.stdout(out);
      if (note) (c.format === 'text' ? io.stdout : io.stderr)(note);
    }
    return decision.allowed ? 0 : 1;
  } catch (err) {
    if (!(err instanceof LedgerRefusal)) throw err;
    io.stderr(`entitlegate: ${err.describe()}\n`);
    return 1;
  }
}
