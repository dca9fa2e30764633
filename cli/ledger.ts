// `entitlegate ledger …`: the ledger's commands (docs/ledger.md). Exit codes
// as for check: 0 done, 1 refused (not allowed for this token, an ended
// reservation), 2 bad input or the ledger unreachable.
import { EntitlegateError } from '../engine/errors.ts';
import { decodeText, readTextFile } from '../engine/text-file.ts';
import { SCOPE_DIMENSIONS } from '../engine/types.ts';
import { HelpRequested, parse, usageError } from './args.ts';
import type { Io } from './io.ts';
import { LedgerClient, LedgerRefusal, ledgerUrl, tokenFrom } from '../ledger-client/client.ts';
import {
  KEY_CREATE_USAGE,
  LEDGER_SERVE_USAGE,
  TOKEN_CREATE_USAGE,
  TOKEN_LIST_USAGE,
  TOKEN_REVOKE_USAGE,
  ledgerKeyCreate,
  ledgerServe,
  ledgerTokenCreate,
  ledgerTokenList,
  ledgerTokenRevoke,
} from './serve-ledger.ts';

export const LEDGER_USAGE = `  ${LEDGER_SERVE_USAGE}
  ${TOKEN_CREATE_USAGE}
  ${TOKEN_LIST_USAGE}
  ${TOKEN_REVOKE_USAGE}
  ${KEY_CREATE_USAGE}
  entitlegate ledger usage put --ledger URL --source NAME FILE [--stale-after 2h] [--environment E] [--account A] [--region R] [--token-file F]
  entitlegate ledger confirm|release ID --ledger URL [--token-file F]`;

const clientOptions = { ledger: { type: 'string' }, 'token-file': { type: 'string' } } as const;

function client(values: Record<string, unknown>): LedgerClient {
  if (!values.ledger) throw usageError('--ledger URL is required');
  return new LedgerClient({ url: ledgerUrl(values.ledger), token: tokenFrom(values['token-file'] as string | undefined) });
}

/** A refusal by the ledger is exit 1, with its message; everything else goes to the one place errors end. */
async function refusalIsOne(io: Io, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof LedgerRefusal)) throw err;
    io.stderr(`entitlegate: ${err.describe()}\n`);
    return 1;
  }
}

interface ReservationView {
  id: string;
  state: string;
  expiresAt: string | null;
}

async function reservationStep(verb: 'confirm' | 'release', args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, clientOptions, true);
  if (positionals.length !== 1) throw usageError(`usage: entitlegate ledger ${verb} ID --ledger URL`);
  const id = positionals[0]!;
  const c = client(values);
  return refusalIsOne(io, async () => {
    const path = `/v1/reservations/${encodeURIComponent(id)}`;
    const r = verb === 'confirm' ? await c.call<ReservationView>('POST', `${path}/confirm`) : await c.call<ReservationView>('DELETE', path);
    io.stdout(`reservation ${r.id}: ${r.state}${r.state === 'held' && r.expiresAt ? ` (expires ${r.expiresAt})` : ''}\n`);
    return 0;
  });
}

async function usagePut(args: string[], io: Io): Promise<number> {
  const scopeOptions = Object.fromEntries(SCOPE_DIMENSIONS.map((d) => [d, { type: 'string' }] as const));
  const { values, positionals } = parse(
    args,
    { ...clientOptions, ...scopeOptions, source: { type: 'string' }, 'stale-after': { type: 'string' } },
    true,
  );
  if (positionals.length !== 1 || !values.source)
    throw usageError(
      'usage: entitlegate ledger usage put --ledger URL --source NAME FILE   (a usage snapshot, or terraform show -json of a state)',
    );
  const file = positionals[0]!;
  // Read and decoded as check reads its inputs (regular files only; BOM, UTF-16, CRLF).
  const text = file === '-' ? decodeText(io.readStdin(), '<stdin>') : readTextFile(file, 'EG_ERR_FILE_NOT_FOUND');
  const c = client(values);
  // The scope a Terraform state's resources run in (a state knows their regions only).
  const params = new URLSearchParams();
  if (values['stale-after']) params.set('staleAfter', values['stale-after'] as string);
  const given = values as Record<string, unknown>;
  for (const d of SCOPE_DIMENSIONS) if (typeof given[d] === 'string') params.set(d, given[d] as string);
  const query = params.size ? `?${params}` : '';
  return refusalIsOne(io, async () => {
    try {
      // Sent as written: the ledger reads YAML and JSON, and its problems then point at the file's own lines.
      const r = await c.call<{ source: string; records: number; settled: string[] }>(
        'PUT',
        `/v1/sources/${encodeURIComponent(values.source as string)}/usage${query}`,
        text,
        /^\s*[{[]/.test(text) ? 'application/json' : 'application/yaml',
      );
      io.stdout(
        `source ${r.source}: ${r.records} usage record${r.records === 1 ? '' : 's'} stored${r.settled.length ? `; settled ${r.settled.length} reservation${r.settled.length === 1 ? '' : 's'}` : ''}\n`,
      );
      return 0;
    } catch (err) {
      if (err instanceof EntitlegateError && err.problems.length && !(err instanceof LedgerRefusal)) {
        throw new EntitlegateError(
          err.code,
          `${file}: the ledger refused it: ${err.problems.length} problem${err.problems.length === 1 ? '' : 's'}`,
          err.problems.map((p) => ({ ...p, file })),
        );
      }
      throw err;
    }
  });
}

export async function ledger(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'serve':
      return ledgerServe(rest, io);
    case 'token':
      if (rest[0] === 'create') return ledgerTokenCreate(rest.slice(1), io);
      if (rest[0] === 'list') return ledgerTokenList(rest.slice(1), io);
      if (rest[0] === 'revoke') return ledgerTokenRevoke(rest.slice(1), io);
      throw usageError(`usage:\n  ${TOKEN_CREATE_USAGE}\n  ${TOKEN_LIST_USAGE}\n  ${TOKEN_REVOKE_USAGE}`);
    case 'key':
      if (rest[0] !== 'create') throw usageError(`usage: ${KEY_CREATE_USAGE}`);
      return ledgerKeyCreate(rest.slice(1), io);
    case 'usage':
      if (rest[0] !== 'put') throw usageError('usage: entitlegate ledger usage put --ledger URL --source NAME FILE');
      return usagePut(rest.slice(1), io);
    case 'confirm':
    case 'release':
      return reservationStep(sub, rest, io);
    case '--help':
    case '-h':
      // The subcommands and their flags are the ledger entry's usage lines (cli/help.ts).
      throw new HelpRequested({});
    default:
      throw usageError(`usage:\n${LEDGER_USAGE}`);
  }
}
