// JUnit from the real CLI, checked with xmllint against the schema Jenkins'
// xUnit plugin validates with (testdata/junit-10.xsd), and for counts that
// match the elements in every mode. xmllint comes from Debian's libxml2-utils;
// without it the test is skipped on a laptop and fails in CI.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import pkg from '../package.json' with { type: 'json' };
import { cli } from '../test/cli-harness.ts';
import { tempDir } from '../test/temp.ts';

const XSD = join(import.meta.dirname, 'testdata', 'junit-10.xsd');
const hasXmllint = spawnSync('xmllint', ['--version']).status === 0;
const required = process.env.CI === 'true' || !!process.env.ENTITLEGATE_E2E_REQUIRE;

function xmllint(xml: string): { ok: boolean; output: string } {
  const file = join(tempDir('eg-junit-'), 'report.xml');
  writeFileSync(file, xml);
  const r = spawnSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8' });
  return { ok: r.status === 0, output: r.stderr };
}

const count = (xml: string, re: RegExp) => (xml.match(re) ?? []).length;
const attr = (xml: string, el: string, name: string) => Number(new RegExp(`<${el}\\b[^>]*\\s${name}="(\\d+)"`).exec(xml)?.[1]);

/** The suite's counts against its elements: what Jenkins and GitLab total up. */
function expectConsistent(xml: string): void {
  const cases = count(xml, /<testcase\b/g);
  const failures = count(xml, /<failure\b/g);
  for (const el of ['testsuites', 'testsuite']) {
    expect(attr(xml, el, 'tests')).toBe(cases);
    expect(attr(xml, el, 'failures')).toBe(failures);
    expect(attr(xml, el, 'errors')).toBe(count(xml, /<error\b/g));
  }
  expect(attr(xml, 'testsuite', 'skipped')).toBe(count(xml, /<skipped\b/g));
  // at most one failure per case, so "failures" counts failed cases as Surefire does
  for (const c of xml.split('<testcase').slice(1)) expect(count(c.split('</testcase>')[0]!, /<failure\b/g)).toBeLessThanOrEqual(1);
}

const base = ['--config', 'examples/entitlegate.yaml', '--usage', 'examples/usage.yaml', '--format', 'junit'];
const cases: [string, string[], number][] = [
  [
    'blocked (enforce), with a warning that names no file',
    ['examples/manifests', '--cluster', 'prod-eu-1', '--now', '2030-12-05T10:00:00Z'],
    1,
  ],
  ['violations in warn mode', ['examples/claims/over.json', '--mode', 'warn'], 0],
  ['allowed, nothing to report', ['examples/claims/fits.json'], 0],
];

describe.skipIf(!hasXmllint && !required)('--format junit', () => {
  it('xmllint is installed (libxml2-utils)', () => {
    expect(hasXmllint, 'xmllint is missing: apt-get install -y libxml2-utils').toBe(true);
  });

  it.each(cases)('%s: valid against junit-10.xsd, counts match the elements', async (_name, args, exit) => {
    const r = await cli(['check', ...args, ...base]);
    expect(r.code).toBe(exit);
    const lint = xmllint(r.stdout);
    expect(lint.output.trim()).toMatch(/ validates$/);
    expect(lint.ok).toBe(true);
    expectConsistent(r.stdout);
    expect(r.stdout).toContain(`version="${pkg.version}"`);
    expect(r.stdout).toContain(`<property name="entitlegate.version" value="${pkg.version}" />`);
  });

  it('blocks: one failed case per product with a blocking violation; warnings are system-out', async () => {
    const r = await cli(['check', ...cases[0]![1], ...base]);
    expect(attr(r.stdout, 'testsuite', 'failures')).toBe(1);
    expect(r.stdout).toMatch(/<testcase classname="entitlegate" name="oracle-db-ee">\s*<failure type="OVER_ENTITLEMENT"/);
    expect(r.stdout).toMatch(/<system-out>[^<]*warning: EXPIRING_SOON oracle-db-ee \(ORA-EE-2026\)/);
  });

  it('warn mode: no failure (the step passes), the violation is in system-out', async () => {
    const r = await cli(['check', ...cases[1]![1], ...base]);
    expect(count(r.stdout, /<failure\b/g)).toBe(0);
    expect(attr(r.stdout, 'testsuite', 'failures')).toBe(0);
    expect(r.stdout).toMatch(/<system-out>violation \(warn mode, not enforced\): OVER_ENTITLEMENT/);
  });

  it('xmllint rejects what Jenkins would (the test can fail)', () => {
    expect(xmllint('<testsuites><testsuite name="x" tests="1" failures="0"/></testsuites>').ok).toBe(false);
  });
});
