// One table for every section: ratios first (the headline; the machine is
// noisy), absolute figures after. The same aligned Markdown goes to the
// terminal and to bench/results/latest.md.
import type { BenchRow } from '../types.ts';
import type { MachineInfo } from './machine.ts';

const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function sig(x: number): string {
  if (x === 0) return '0';
  if (x >= 100) return int.format(x);
  return String(Number(x.toPrecision(3)));
}

export function fmtRatio(r: number | undefined): string {
  if (r === undefined || !Number.isFinite(r)) return '';
  return `${r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(2) : r.toPrecision(2)}×`;
}

const COLUMNS: { head: string; cell: (r: BenchRow) => string; right?: boolean }[] = [
  { head: 'section', cell: (r) => r.section },
  { head: 'subject', cell: (r) => r.subject },
  { head: 'input', cell: (r) => r.input },
  { head: 'ratio', cell: (r) => fmtRatio(r.ratio), right: true },
  { head: 'vs', cell: (r) => r.baseline ?? '' },
  { head: 'ops/s', cell: (r) => (r.opsPerSec === undefined ? '' : int.format(r.opsPerSec)), right: true },
  { head: 'p50 ms', cell: (r) => (r.p50Ms === undefined ? '' : sig(r.p50Ms)), right: true },
  { head: 'p99 ms', cell: (r) => (r.p99Ms === undefined ? '' : sig(r.p99Ms)), right: true },
  { head: 'wall ms', cell: (r) => (r.wallMs === undefined ? '' : sig(r.wallMs)), right: true },
  { head: 'RSS MB', cell: (r) => (r.peakRssMb === undefined ? '' : sig(r.peakRssMb)), right: true },
  { head: 'target', cell: (r) => r.target ?? '' },
  { head: 'met', cell: (r) => (r.met === undefined ? '' : r.met ? 'yes' : '**NO**') },
];

const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** An aligned Markdown table of the rows. */
export function renderTable(rows: readonly BenchRow[]): string {
  const cells = rows.map((r) => COLUMNS.map((c) => esc(c.cell(r))));
  const widths = COLUMNS.map((c, i) => Math.max(c.head.length, 3, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]) =>
    '| ' + vals.map((v, i) => (COLUMNS[i]!.right ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join(' | ') + ' |';
  const rule = '| ' + widths.map((w, i) => (COLUMNS[i]!.right ? '-'.repeat(w - 1) + ':' : '-'.repeat(w))).join(' | ') + ' |';
  return [line(COLUMNS.map((c) => c.head)), rule, ...cells.map(line)].join('\n');
}

export function renderNotes(rows: readonly BenchRow[]): string {
  return rows
    .filter((r) => r.note)
    .map((r) => `- **${r.section} / ${r.subject} / ${r.input}**: ${r.note}`)
    .join('\n');
}

export function renderMachine(m: MachineInfo): string {
  return [
    `- CPU: ${m.cpu}, ${m.cores} cores`,
    `- Memory: ${m.memoryGb} GB`,
    `- OS: ${m.os}`,
    `- Node: ${m.node}`,
    `- OPA: ${m.opa ?? 'not found'}`,
    `- Date: ${m.date}`,
  ].join('\n');
}

export interface Report {
  machine: MachineInfo;
  mode: 'quick' | 'full';
  sections: { name: string; ok: boolean; error?: string; seconds: number }[];
  rows: BenchRow[];
}

export function renderMarkdown(r: Report): string {
  const missed = r.rows.filter((x) => x.met === false);
  const failed = r.sections.filter((s) => !s.ok);
  return [
    `# entitlegate benchmark (${r.mode})`,
    '',
    renderMachine(r.machine),
    '',
    'Ratio: the row\'s figure over its baseline\'s ("vs"), measured in the same run. For throughput higher is better; for time and memory lower is better. See bench/README.md.',
    '',
    renderTable(r.rows),
    '',
    missed.length ? `Targets missed: ${missed.map((x) => `${x.subject} (${x.input})`).join('; ')}.` : 'Every target checked here was met.',
    ...(failed.length ? ['', 'Sections that failed to run:', ...failed.map((s) => `- ${s.name}: ${s.error}`)] : []),
    '',
    '## Notes',
    '',
    renderNotes(r.rows) || '(none)',
    '',
    '## Sections',
    '',
    ...r.sections.map((s) => `- ${s.name}: ${s.ok ? 'ok' : 'FAILED'} in ${s.seconds.toFixed(1)} s`),
    '',
  ].join('\n');
}
