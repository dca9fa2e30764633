// Formats for other tools: GitHub workflow commands, SARIF 2.1.0 (code
// scanning), JUnit XML (CI test reports).
import type { Decision, Finding } from '../engine/types.ts';
import { findingTitle, locations } from './common.ts';

interface Located {
  finding: Finding;
  level: 'error' | 'warning';
  file?: string;
  line?: number;
}

/** Each finding once per resource, with the file and line where it was declared. */
export function locatedFindings(d: Decision): Located[] {
  const where = locations(d);
  const out: Located[] = [];
  const add = (finding: Finding, level: Located['level']) => {
    const spots = finding.resources.map((r) => where.get(r)).filter((w): w is string => !!w);
    if (!spots.length) out.push({ finding, level });
    for (const spot of new Set(spots)) {
      const m = /^(.*):(\d+)$/.exec(spot);
      out.push(m ? { finding, level, file: m[1]!, line: Number(m[2]) } : { finding, level, file: spot });
    }
  };
  for (const f of d.violations) add(f, d.allowed ? 'warning' : 'error');
  for (const f of d.warnings) add(f, 'warning');
  return out;
}

const escData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escProp = (s: string) => escData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

export function decisionGithub(d: Decision): string {
  return (
    locatedFindings(d)
      .map(({ finding, level, file, line }) => {
        const props = [file && `file=${escProp(file)}`, line && `line=${line}`, `title=${escProp(findingTitle(finding))}`]
          .filter(Boolean)
          .join(',');
        return `::${level} ${props}::${escData(finding.message)}`;
      })
      .join('\n') + '\n'
  );
}

export function decisionSarif(d: Decision): string {
  const located = locatedFindings(d);
  const codes = [...new Set(located.map((l) => l.finding.code))].sort();
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'entitlegate',
            informationUri: 'https://github.com/entitlegate/entitlegate',
            rules: codes.map((id) => ({ id, name: id })),
          },
        },
        results: located.map(({ finding, level, file, line }) => ({
          ruleId: finding.code,
          level,
          message: { text: finding.message },
          ...(file
            ? { locations: [{ physicalLocation: { artifactLocation: { uri: file }, ...(line ? { region: { startLine: line } } : {}) } }] }
            : {}),
        })),
      },
    ],
  };
  return JSON.stringify(sarif, null, 2) + '\n';
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** One test case per product touched; a failure per violation on it. */
export function decisionJunit(d: Decision): string {
  const cases = d.products.map((p) => {
    const failures = d.violations.filter((v) => v.product === p.product);
    const body = failures
      .map((f) => `      <failure type="${xml(f.code)}" message="${xml(f.message)}">${xml(f.resources.join('\n'))}</failure>`)
      .join('\n');
    return `    <testcase classname="entitlegate" name="${xml(p.product)}"${body ? `>\n${body}\n    </testcase>` : ' />'}`;
  });
  const orphans = d.violations.filter((v) => !v.product || !d.products.some((p) => p.product === v.product));
  for (const f of orphans)
    cases.push(
      `    <testcase classname="entitlegate" name="${xml(f.code)}">\n      <failure type="${xml(f.code)}" message="${xml(f.message)}" />\n    </testcase>`,
    );
  const failures = d.allowed ? 0 : d.violations.length;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n  <testsuite name="entitlegate" tests="${cases.length}" failures="${failures}">\n${cases.join('\n')}\n  </testsuite>\n</testsuites>\n`;
}
