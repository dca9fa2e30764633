// `entitlegate audit verify|export`: flags parsed here, the work done by the
// ledger's audit entry point (ledger/audit/entry.ts). A file of cli/serve*,
// the files the layout lets reach into a server's public entry points.
// Exit codes: 0 verified (or exported), 1 the log does not verify, 2 bad input
// or the ledger or store unreachable.
import { HelpRequested, parse, usageError } from './args.ts';
import type { Io } from './io.ts';
import { ledgerUrl, tokenFrom } from '../ledger-client/client.ts';

export const AUDIT_USAGE = [
  'entitlegate audit verify (--ledger URL | --store STORE) [--key FILE] [--format text|json] [--token-file F]',
  'entitlegate audit export [--since SEQ|DATE] (--ledger URL | --store STORE) [--token-file F]',
];

const common = { ledger: { type: 'string' }, store: { type: 'string' }, 'token-file': { type: 'string' } } as const;

function target(values: { ledger?: string | boolean; store?: string | boolean; 'token-file'?: string | boolean }) {
  if (!!values.ledger === !!values.store) throw usageError('give one of --ledger URL (a running ledger) or --store STORE (its store)');
  if (values.store) return { store: values.store as string };
  return { ledger: ledgerUrl(values.ledger), token: tokenFrom(values['token-file'] as string | undefined) };
}

async function verify(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { ...common, key: { type: 'string' }, format: { type: 'string' } }, true);
  if (positionals.length) throw usageError(`usage: ${AUDIT_USAGE[0]}`);
  const format = (values.format as string | undefined) ?? 'text';
  if (format !== 'text' && format !== 'json') throw usageError(`--format must be text or json, not "${format}"`);
  const t = target(values);
  const audit = await import('../ledger/audit/entry.ts');
  const pinned = values.key ? audit.loadPublicKey(values.key as string) : null;
  const r = await audit.verifyAudit(t, pinned);
  if (format === 'json') io.stdout(`${JSON.stringify(r, null, 2)}\n`);
  else if (r.problem) io.stdout(`the decision log does not verify: ${r.problem.message}\n`);
  else {
    const range = r.records ? `records ${r.firstSeq}–${r.lastSeq} (${r.records})` : 'no records yet';
    const key =
      r.key.from === 'none'
        ? 'no signed checkpoints'
        : `${r.checkpoints} signed checkpoint${r.checkpoints === 1 ? '' : 's'} (key ${r.key.keyId}${r.key.from === 'checkpoints' ? ', as recorded in the store: pass --key to pin the ledger’s' : ''})`;
    const tail =
      r.lastSeq !== null && r.lastSeq > r.checkpointedThrough
        ? `; records ${r.checkpointedThrough + 1}–${r.lastSeq} are chained but not yet under a checkpoint`
        : '';
    io.stdout(`the decision log verifies: ${range}, ${key}${tail}\n`);
  }
  return r.problem ? 1 : 0;
}

async function exportLog(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { ...common, since: { type: 'string' } }, true);
  if (positionals.length) throw usageError(`usage: ${AUDIT_USAGE[1]}`);
  const t = target(values);
  const audit = await import('../ledger/audit/entry.ts');
  await audit.exportAudit(t, values.since as string | undefined, async (chunk) => {
    io.stdout(chunk);
    await io.drained?.();
  });
  return 0;
}

/** A token without the auditor role is a refusal (exit 1), as for the other ledger commands; other errors end in the one place. */
async function refusalIsOne(io: Io, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (err) {
    const audit = await import('../ledger/audit/entry.ts');
    if (!(err instanceof audit.AuditRefusal)) throw err;
    io.stderr(`entitlegate: ${err.message}\n`);
    return 1;
  }
}

export async function auditCommand(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'verify') return refusalIsOne(io, () => verify(rest, io));
  if (sub === 'export') return refusalIsOne(io, () => exportLog(rest, io));
  // Both subcommands' flags: the audit entry of the help table (cli/help.ts) lists them.
  if (sub === '--help' || sub === '-h')
    throw new HelpRequested({ ...common, key: { type: 'string' }, format: { type: 'string' }, since: { type: 'string' } });
  throw usageError(`usage:\n  ${AUDIT_USAGE.join('\n  ')}`);
}
