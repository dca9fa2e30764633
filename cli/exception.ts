// `entitlegate exception request|approve|deny|revoke|list`: the ledger's
// exceptions workflow (docs/ledger.md). The requester is whoever the token
// names; the ledger enforces separation of duties. Exit 0 done, 1 refused by
// the ledger (a role or duty it does not allow, a step the exception's state
// does not allow), 2 bad input or the ledger unreachable.
import { SCOPE_DIMENSIONS, type Scope } from '../engine/types.ts';
import { HelpRequested, parse, strings, usageError } from './args.ts';
import type { Io } from './io.ts';
import { LedgerClient, LedgerRefusal, ledgerUrl, tokenFrom } from '../ledger-client/client.ts';

export const EXCEPTION_USAGE = [
  'entitlegate exception request --ledger URL --product P --quantity N --until DATE [--scope DIM=VALUE]... --reason TEXT [--ticket REF] [--format text|json]',
  'entitlegate exception approve|deny|revoke ID --ledger URL [--reason TEXT] [--format text|json]',
  'entitlegate exception list --ledger URL [--state pending|active|ended] [--format text|json]',
];

const common = { ledger: { type: 'string' }, 'token-file': { type: 'string' }, format: { type: 'string', short: 'f' } } as const;
const requestOptions = {
  ...common,
  product: { type: 'string' },
  quantity: { type: 'string' },
  until: { type: 'string' },
  scope: { type: 'string', multiple: true },
  reason: { type: 'string' },
  ticket: { type: 'string' },
} as const;
const stepOptions = { ...common, reason: { type: 'string' } } as const;
const listOptions = { ...common, state: { type: 'string' } } as const;

interface ExceptionView {
  id: string;
  product: string;
  quantity: number;
  scope: Scope;
  until: string;
  state: string;
  reason: string;
  ticket: string;
  requestedBy: string;
  approvals: { by: string }[];
  approvalsNeeded: number;
  endedBy: string | null;
  endReason: string | null;
}

function client(values: Record<string, unknown>): LedgerClient {
  if (!values.ledger) throw usageError('--ledger URL is required');
  return new LedgerClient({ url: ledgerUrl(values.ledger), token: tokenFrom(values['token-file'] as string | undefined) });
}

function jsonOrText(values: Record<string, unknown>): 'json' | 'text' {
  const f = values.format ?? 'text';
  if (f !== 'json' && f !== 'text') throw usageError(`--format must be text or json, not "${String(f)}"`);
  return f;
}

function scopeOf(pairs: string[]): Scope {
  const scope: Scope = {};
  for (const p of pairs) {
    const m = /^([a-z]+)=(.+)$/.exec(p);
    if (!m || !(SCOPE_DIMENSIONS as readonly string[]).includes(m[1]!))
      throw usageError(`--scope must be DIM=VALUE with DIM one of ${SCOPE_DIMENSIONS.join(', ')}, not "${p}"`);
    scope[m[1] as keyof Scope] = m[2]!;
  }
  return scope;
}

function line(x: ExceptionView): string {
  const scope = Object.entries(x.scope)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const approvals = x.state === 'pending' ? ` (${x.approvals.length} of ${x.approvalsNeeded} approvals)` : '';
  const ended = x.endedBy ? ` by ${x.endedBy}${x.endReason ? `: ${x.endReason}` : ''}` : '';
  return `${x.id}  ${x.state}${approvals}${ended}  ${x.product} +${x.quantity}${scope ? ` [${scope}]` : ''} until ${x.until}  requested by ${x.requestedBy}  ${x.ticket}: ${x.reason}`;
}

async function refusalIsOne(io: Io, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof LedgerRefusal)) throw err;
    io.stderr(`entitlegate: ${err.describe()}\n`);
    return 1;
  }
}

async function request(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, requestOptions, true);
  if (positionals.length) throw usageError(`exception request takes no arguments\n\n  ${EXCEPTION_USAGE[0]}`);
  const missing = (['product', 'quantity', 'until', 'reason'] as const).filter((k) => values[k] === undefined);
  if (missing.length)
    throw usageError(`--${missing.join(', --')} ${missing.length === 1 ? 'is' : 'are'} required\n\n  ${EXCEPTION_USAGE[0]}`);
  const quantity = Number(values.quantity);
  if (!Number.isFinite(quantity) || quantity <= 0) throw usageError(`--quantity must be a positive number, not "${values.quantity}"`);
  const format = jsonOrText(values);
  const body = {
    product: values.product,
    quantity,
    until: values.until,
    scope: scopeOf(strings(values.scope)),
    reason: values.reason,
    ...(values.ticket !== undefined ? { ticket: values.ticket } : {}),
  };
  const c = client(values);
  return refusalIsOne(io, async () => {
    const x = await c.call<ExceptionView>('POST', '/v1/exceptions', JSON.stringify(body));
    io.stdout(format === 'json' ? `${JSON.stringify(x, null, 2)}\n` : `${line(x)}\n`);
    if (format === 'text')
      io.stderr(
        `requested ${x.id}; it adds capacity once ${x.approvalsNeeded === 1 ? 'an approver' : 'two approvers'} other than you approve it\n`,
      );
    return 0;
  });
}

async function step(verb: 'approve' | 'deny' | 'revoke', args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, stepOptions, true);
  if (positionals.length !== 1) throw usageError(`usage: entitlegate exception ${verb} ID --ledger URL [--reason TEXT]`);
  const format = jsonOrText(values);
  const c = client(values);
  return refusalIsOne(io, async () => {
    const body = values.reason !== undefined ? JSON.stringify({ reason: values.reason }) : '{}';
    const x = await c.call<ExceptionView>('POST', `/v1/exceptions/${encodeURIComponent(positionals[0]!)}/${verb}`, body);
    io.stdout(format === 'json' ? `${JSON.stringify(x, null, 2)}\n` : `${line(x)}\n`);
    return 0;
  });
}

async function list(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, listOptions, true);
  if (positionals.length) throw usageError(`usage: ${EXCEPTION_USAGE[2]}`);
  const state = values.state as string | undefined;
  if (state !== undefined && !['pending', 'active', 'ended'].includes(state))
    throw usageError(`--state must be pending, active or ended, not "${state}"`);
  const format = jsonOrText(values);
  const c = client(values);
  return refusalIsOne(io, async () => {
    const { exceptions } = await c.call<{ exceptions: ExceptionView[] }>('GET', `/v1/exceptions${state ? `?state=${state}` : ''}`);
    if (format === 'json') io.stdout(`${JSON.stringify({ exceptions }, null, 2)}\n`);
    else io.stdout(exceptions.length ? `${exceptions.map(line).join('\n')}\n` : `no ${state ?? ''}${state ? ' ' : ''}exceptions\n`);
    return 0;
  });
}

export async function exception(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'request':
      return request(rest, io);
    case 'approve':
    case 'deny':
    case 'revoke':
      return step(sub, rest, io);
    case 'list':
      return list(rest, io);
    case '--help':
    case '-h':
      // Every sub-command's flags, for the help table (cli/help.ts).
      throw new HelpRequested({ ...requestOptions, ...listOptions });
    default:
      throw usageError(`usage:\n${EXCEPTION_USAGE.map((u) => `  ${u}`).join('\n')}`);
  }
}
