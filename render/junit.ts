// JUnit XML as Jenkins (junit-10.xsd of the xunit plugin) and GitLab read it:
// one test case per product the change touches (and one per finding that
// names no product). A case fails (one <failure>) when a violation on it
// blocks; warnings, and violations in warn mode, are its <system-out>, so the
// suite's counts always equal its elements and a warn-mode run never reads
// as failed.
import type { Decision, Finding } from '../engine/types.ts';
import { VERSION } from '../engine/version.ts';
import { decisionCases } from './cases.ts';
import { findingTitle, locations } from './common.ts';

// XML 1.0 has no way to write most control characters, even escaped.
const xml = (s: string) =>
  s
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

function describe(f: Finding, where: Map<string, string>): string {
  const at = f.resources.map((r) => `  at ${r}${where.has(r) ? ` (${where.get(r)})` : ''}`);
  return [`${findingTitle(f)}: ${f.message}`, ...at].join('\n');
}

export function decisionJunit(d: Decision): string {
  const where = locations(d);
  const cases = decisionCases(d);
  const body = cases.map((c) => {
    const parts: string[] = [];
    if (c.failures.length) {
      const first = c.failures[0]!;
      const type = [...new Set(c.failures.map((f) => f.code))].join(',');
      const message = c.failures.length === 1 ? first.message : `${c.failures.length} violations: ${first.message} …`;
      parts.push(
        `      <failure type="${xml(type)}" message="${xml(message)}">${xml(c.failures.map((f) => describe(f, where)).join('\n\n'))}</failure>`,
      );
    }
    if (c.notes.length)
      parts.push(`      <system-out>${xml(c.notes.map((n) => `${n.label}: ${describe(n.finding, where)}`).join('\n\n'))}</system-out>`);
    const open = `    <testcase classname="entitlegate" name="${xml(c.name)}"`;
    return parts.length ? `${open}>\n${parts.join('\n')}\n    </testcase>` : `${open} />`;
  });
  const tests = cases.length;
  const failures = cases.filter((c) => c.failures.length).length;
  const p = d.provenance;
  const props = [
    ['entitlegate.version', p.version],
    ['mode', d.mode],
    ['allowed', String(d.allowed)],
    ['policy', p.policy],
    ['config', p.config],
    ['evaluatedAt', p.evaluatedAt],
  ]
    .map(([n, v]) => `      <property name="${xml(n!)}" value="${xml(v!)}" />`)
    .join('\n');
  const counts = `tests="${tests}" failures="${failures}" errors="0"`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="entitlegate" ${counts}>`,
    `  <testsuite name="entitlegate" ${counts} skipped="0" timestamp="${xml(p.evaluatedAt)}" version="${xml(VERSION)}">`,
    `    <properties>\n${props}\n    </properties>`,
    ...body,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
