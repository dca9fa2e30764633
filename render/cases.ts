// A decision as test cases, for the formats of test-report and policy tools
// (JUnit, Atlantis): one case per product the change touches, and one per
// finding that names no product. A case fails when a violation on it blocks;
// warnings, and violations in warn mode, are notes on it.
import type { Decision, Finding } from '../engine/types.ts';

export interface Case {
  name: string;
  failures: Finding[];
  notes: { label: string; finding: Finding }[];
}

export function decisionCases(d: Decision): Case[] {
  const cases = new Map<string, Case>();
  const caseFor = (name: string): Case => {
    let c = cases.get(name);
    if (!c) cases.set(name, (c = { name, failures: [], notes: [] }));
    return c;
  };
  for (const p of d.products) caseFor(p.product);
  for (const f of d.violations) {
    const c = caseFor(f.product ?? f.code);
    if (!d.allowed) c.failures.push(f);
    else c.notes.push({ label: `violation (${d.mode} mode, not enforced)`, finding: f });
  }
  for (const f of d.warnings) caseFor(f.product ?? f.code).notes.push({ label: 'warning', finding: f });
  return [...cases.values()];
}
