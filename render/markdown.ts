// Markdown for pull-request comments and job summaries.
import type { Decision, Finding } from '../engine/types.ts';
import type { Report } from '../engine/report.ts';
import { findingTitle, fmtNumber, fmtPercent, headline, locations } from './common.ts';

const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** A text bar of utilisation, capped at 100% with a marker when over. */
export function bar(u: number | null, width = 10): string {
  if (u === null) return '';
  const filled = Math.min(width, Math.round(u * width));
  return '█'.repeat(filled) + '░'.repeat(width - filled) + (u > 1 ? ' ⚠' : '');
}

function findings(title: string, list: Finding[], where: Map<string, string>): string[] {
  if (!list.length) return [];
  const out = [`### ${title}`, ''];
  for (const f of list) {
    out.push(`- **${esc(findingTitle(f))}**: ${esc(f.message)}`);
    for (const r of f.resources) out.push(`  - \`${r}\`${where.has(r) ? ` (${where.get(r)})` : ''}`);
  }
  out.push('');
  return out;
}

export function decisionMarkdown(d: Decision): string {
  const icon = d.allowed ? (d.violations.length ? '⚠️' : '✅') : '❌';
  const out = [`## ${icon} entitlegate: ${headline(d)}`, ''];
  if (d.products.length) {
    out.push(
      '| product | metric | used | requested | capacity | headroom | utilisation |',
      '| --- | --- | ---: | ---: | ---: | ---: | --- |',
    );
    for (const p of d.products) {
      out.push(
        `| ${p.product} | ${p.metric} | ${fmtNumber(p.used)} | ${fmtNumber(p.requested)} | ${fmtNumber(p.capacity)} | ${fmtNumber(p.capacity - p.projected)} | ${bar(p.utilization)} ${fmtPercent(p.utilization)} |`,
      );
    }
    out.push('');
  }
  const where = locations(d);
  out.push(...findings('Violations', d.violations, where), ...findings('Warnings', d.warnings, where));
  out.push(
    `<sub>entitlegate ${d.provenance.version} · policy ${d.provenance.policy.slice(0, 19)}… · config ${d.provenance.config.slice(0, 19)}… · usage ${d.provenance.usage.map((u) => `${u.source} @ ${u.observedAt}`).join(', ') || 'none'} · evaluated ${d.provenance.evaluatedAt}</sub>`,
    '',
  );
  return out.join('\n');
}

export function reportMarkdown(r: Report): string {
  const out = [
    `## entitlegate report as of ${r.provenance.evaluatedAt}`,
    '',
    '| product | metric | used | capacity | headroom | utilisation |',
    '| --- | --- | ---: | ---: | ---: | --- |',
  ];
  for (const p of r.products)
    out.push(
      `| ${p.product} | ${p.metric} | ${fmtNumber(p.used)} | ${fmtNumber(p.capacity)} | ${fmtNumber(p.headroom)} | ${bar(p.utilization)} ${fmtPercent(p.utilization)} |`,
    );
  out.push(
    '',
    '| entitlement | product | state | used | capacity | headroom | days left | headroom cost |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const p of r.products) {
    for (const e of p.entitlements) {
      out.push(
        `| ${e.id} | ${p.product} | ${e.state} | ${fmtNumber(e.used)} | ${fmtNumber(e.capacity)} | ${fmtNumber(e.headroom)} | ${fmtNumber(e.daysToExpiry)} | ${e.headroomCost === null ? '—' : `${e.headroomCost} ${e.currency ?? ''}`} |`,
      );
    }
  }
  return out.join('\n') + '\n';
}
