// The text a person reads at a glance: the verdict, one line per product,
// then each finding with what to do about it and where it came from.
import type { Decision, Finding } from '../engine/types.ts';
import type { Report } from '../engine/report.ts';
import { findingTitle, fmtNumber, fmtPercent, headline, locations } from './common.ts';

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

function findingLines(mark: string, f: Finding, where: Map<string, string>): string[] {
  const lines = [`${mark} ${findingTitle(f)}`, `    ${f.message}`];
  for (const r of f.resources) lines.push(`    at ${r}${where.has(r) ? ` (${where.get(r)})` : ''}`);
  return lines;
}

export function decisionText(d: Decision): string {
  const lines = [`entitlegate: ${headline(d)}`, ''];
  if (d.products.length) {
    const rows = [['PRODUCT', 'METRIC', 'USED', 'REQUESTED', 'CAPACITY', 'PROJECTED', 'PEAK', 'UTIL']];
    for (const p of d.products) {
      rows.push([
        p.product,
        p.metric,
        fmtNumber(p.used),
        fmtNumber(p.requested),
        fmtNumber(p.capacity),
        fmtNumber(p.projected),
        fmtNumber(p.peak),
        fmtPercent(p.utilization),
      ]);
    }
    lines.push(...table(rows), '');
  } else {
    lines.push('No licensed product is touched by this change.', '');
  }
  const where = locations(d);
  for (const f of d.violations) lines.push(...findingLines(d.allowed ? '!' : '✗', f, where));
  for (const f of d.warnings) lines.push(...findingLines('!', f, where));
  return lines.join('\n').trimEnd() + '\n';
}

export function reportText(r: Report): string {
  const rows = [['PRODUCT', 'METRIC', 'USED', 'CAPACITY', 'HEADROOM', 'UTIL', 'UNALLOCATED']];
  for (const p of r.products)
    rows.push([
      p.product,
      p.metric,
      fmtNumber(p.used),
      fmtNumber(p.capacity),
      fmtNumber(p.headroom),
      fmtPercent(p.utilization),
      fmtNumber(p.unallocated),
    ]);
  const ent = [['ENTITLEMENT', 'PRODUCT', 'STATE', 'USED', 'CAPACITY', 'HEADROOM', 'DAYS LEFT', 'HEADROOM COST']];
  for (const p of r.products) {
    for (const e of p.entitlements) {
      ent.push([
        e.id,
        p.product,
        e.state,
        fmtNumber(e.used),
        fmtNumber(e.capacity),
        fmtNumber(e.headroom),
        fmtNumber(e.daysToExpiry),
        e.headroomCost === null ? '—' : `${e.headroomCost} ${e.currency ?? ''}`.trim(),
      ]);
    }
  }
  return [`entitlegate report as of ${r.provenance.evaluatedAt}`, '', ...table(rows), '', ...table(ent), ''].join('\n');
}
