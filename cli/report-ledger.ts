// `entitlegate report --ledger URL`: the ledger's reconciliation (GET
// /v1/reconciliation) as JSON, Markdown or CSV, for people and spreadsheets.
import { EntitlegateError } from '../engine/errors.ts';
import { usageError } from './args.ts';
import type { Io } from './io.ts';
import { LedgerClient, ledgerUrl, tokenFrom } from '../ledger-client/client.ts';

// The JSON the ledger answers (docs/dashboard.md); only what is printed is named.
interface Figures {
  declared: number;
  discovered: number;
  other: number;
  reserved: number;
}
interface Reconciliation {
  asOf: string;
  dormantDays: number;
  products: (Figures & {
    product: string;
    metric: string;
    entitled: number;
    gap: number;
    scopes: (Figures & { scope: Record<string, string> })[];
  })[];
  overlaps: {
    product: string;
    resource: string;
    counted: { source: string; quantity: number };
    also: { source: string; quantity: number }[];
  }[];
  dormant: { entitlement: string; product: string; quantity: number; owner: string | null; validUntil: string | null }[];
  unconfirmed: { id: string; actor: string; createdAt: string; expiredAt: string; lines: { product: string; quantity: number }[] }[];
  stale: { source: string; reportedAt: string; staleAfter: string }[];
}

export const REPORT_LEDGER_FORMATS = ['json', 'markdown', 'csv'] as const;
type LedgerFormat = (typeof REPORT_LEDGER_FORMATS)[number];

export async function reportFromLedger(values: Record<string, unknown>, io: Io): Promise<number> {
  for (const flag of ['config', 'usage', 'now'])
    if (values[flag] !== undefined)
      throw usageError(`--${flag} cannot be used with --ledger: the ledger reports with its own config, usage and clock`);
  const format = (values.format ?? 'markdown') as LedgerFormat;
  if (!REPORT_LEDGER_FORMATS.includes(format))
    throw usageError(`with --ledger, --format must be one of ${REPORT_LEDGER_FORMATS.join(', ')}, not "${String(values.format)}"`);
  let query = '';
  if (values['dormant-days'] !== undefined) query = `?dormantDays=${encodeURIComponent(String(values['dormant-days']))}`;
  const client = new LedgerClient({ url: ledgerUrl(values.ledger), token: tokenFrom(values['token-file'] as string | undefined) });
  let r: Reconciliation;
  try {
    r = await client.call<Reconciliation>('GET', `/v1/reconciliation${query}`);
  } catch (err) {
    // A refusal (a token without the role) is bad input here: nothing is decided, so there is no "blocked".
    if (err instanceof EntitlegateError) throw new EntitlegateError('EG_ERR_USAGE', err.message, err.problems);
    throw err;
  }
  io.stdout(format === 'json' ? `${JSON.stringify(r, null, 2)}\n` : format === 'csv' ? csv(r) : markdown(r));
  return 0;
}

const scopeText = (s: Record<string, string>) =>
  Object.entries(s)
    .map(([k, v]) => `${k}=${v}`)
    .join(',') || '(none)';

/** One row per product (scope `*`) and per product and scope. */
export function csv(r: Reconciliation): string {
  const rows: (string | number)[][] = [['product', 'metric', 'scope', 'entitled', 'declared', 'discovered', 'other', 'reserved', 'gap']];
  for (const p of r.products) {
    rows.push([p.product, p.metric, '*', p.entitled, p.declared, p.discovered, p.other, p.reserved, p.gap]);
    for (const s of p.scopes)
      rows.push([p.product, p.metric, scopeText(s.scope), '', s.declared, s.discovered, s.other, s.reserved, s.declared - s.discovered]);
  }
  return rows.map((row) => row.map(cell).join(',')).join('\r\n') + '\r\n';
}

function cell(v: string | number): string {
  if (typeof v === 'number') return String(v);
  // A value a spreadsheet would run as a formula is kept as text.
  const text = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const md = (v: string | number) => String(v).replaceAll('|', '\\|').replaceAll('\n', ' ');

function table(head: string[], rows: (string | number)[][]): string {
  if (rows.length === 0) return '_none_\n';
  return [head, head.map(() => '---'), ...rows].map((r) => `| ${r.map(md).join(' | ')} |`).join('\n') + '\n';
}

export function markdown(r: Reconciliation): string {
  const used = r.products.filter((p) => p.entitled || p.declared || p.discovered || p.other || p.reserved);
  return [
    `# Reconciliation (${r.asOf})\n`,
    '## Entitled, declared, discovered and reserved\n',
    'Declared: `sam:` sources. Discovered: `cluster:` and `terraform:` sources. Gap: declared − discovered.\n',
    table(
      ['product', 'metric', 'entitled', 'declared', 'discovered', 'other', 'reserved', 'gap'],
      used.map((p) => [p.product, p.metric, p.entitled, p.declared, p.discovered, p.other, p.reserved, p.gap]),
    ),
    '## Resources reported by more than one source\n',
    table(
      ['product', 'resource', 'counted', 'also reported by'],
      r.overlaps.map((o) => [
        o.product,
        o.resource,
        `${o.counted.source} (${o.counted.quantity})`,
        o.also.map((a) => `${a.source} (${a.quantity})`).join(', '),
      ]),
    ),
    `## Dormant entitlements (nothing counted for ${r.dormantDays} days)\n`,
    table(
      ['entitlement', 'product', 'quantity', 'owner', 'valid until'],
      r.dormant.map((d) => [d.entitlement, d.product, d.quantity, d.owner ?? '', d.validUntil ?? '']),
    ),
    '## Reservations that expired unconfirmed\n',
    table(
      ['reservation', 'by', 'made', 'expired', 'held'],
      r.unconfirmed.map((u) => [u.id, u.actor, u.createdAt, u.expiredAt, u.lines.map((l) => `${l.product} ${l.quantity}`).join(', ')]),
    ),
    '## Stale sources\n',
    table(
      ['source', 'last report', 'stale after'],
      r.stale.map((s) => [s.source, s.reportedAt, s.staleAfter]),
    ),
  ].join('\n');
}
