// SARIF from the real CLI, checked against what reads it: the SARIF 2.1.0
// JSON schema, and the rules GitHub code scanning's upload applies (docs:
// "SARIF support for code scanning"; an upload with one result it cannot
// place is rejected whole).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import pkg from '../package.json' with { type: 'json' };
import { cli } from '../test/cli-harness.ts';
import { CODES, codeAnchor } from './codes.ts';
import type { Decision } from '../engine/types.ts';
import { decisionSarif, relativeUri } from './sarif.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const schema = JSON.parse(readFileSync(join(import.meta.dirname, 'testdata', 'sarif-schema-2.1.0-rtm.5.json'), 'utf8'));
// draft-04's `id` and `$schema`; the schema uses no keyword whose meaning changed since.
// Its `language` pattern has a stray `]`, valid only without the u flag.
delete schema.id;
delete schema.$schema;
const validate = addFormats(new Ajv({ strict: false, allErrors: true, unicodeRegExp: false })).compile(schema);

/** GitHub's documented upload constraints; an empty list means the upload is accepted. */
function githubProblems(text: string): string[] {
  const problems: string[] = [];
  const gz = gzipSync(text).length;
  if (gz > 10 * 1024 * 1024) problems.push(`${gz} bytes gzipped, over 10 MB`);
  const log = JSON.parse(text);
  if (log.version !== '2.1.0') problems.push('version is not 2.1.0');
  if (log.runs.length > 20) problems.push('more than 20 runs');
  for (const run of log.runs) {
    const rules = new Set((run.tool.driver.rules ?? []).map((r: { id: string }) => r.id));
    if (!run.tool.driver.name) problems.push('no tool.driver.name');
    if (run.results.length > 25_000) problems.push('more than 25,000 results');
    if (rules.size > 25_000) problems.push('more than 25,000 rules');
    for (const [i, r] of run.results.entries()) {
      if (!r.message?.text) problems.push(`result ${i}: no message.text`);
      if (!rules.has(r.ruleId)) problems.push(`result ${i}: ruleId ${r.ruleId} is not in tool.driver.rules`);
      const loc = r.locations?.[0]?.physicalLocation;
      if (!loc) problems.push(`result ${i}: no physical location`);
      else {
        const uri: string = loc.artifactLocation?.uri ?? '';
        if (!uri || /^[a-z]+:|^\//i.test(uri)) problems.push(`result ${i}: uri "${uri}" is not relative to the repository`);
        if (!(loc.region?.startLine >= 1)) problems.push(`result ${i}: no region.startLine`);
      }
      if ((r.locations?.length ?? 0) > 1000) problems.push(`result ${i}: more than 1,000 locations`);
      if (!r.partialFingerprints || !Object.keys(r.partialFingerprints).length) problems.push(`result ${i}: no partialFingerprints`);
    }
  }
  return problems;
}

const base = ['--config', 'examples/entitlegate.yaml', '--usage', 'examples/usage.yaml', '--format', 'sarif'];
const configText = readFileSync('examples/entitlegate.yaml', 'utf8').split('\n');
const lineOf = (needle: string) => configText.findIndex((l) => l.includes(needle)) + 1;

async function sarif(args: string[]) {
  const r = await cli(['check', ...args, ...base]);
  return { code: r.code, text: r.stdout, log: JSON.parse(r.stdout) };
}

describe('--format sarif', () => {
  it("the README example (a warning with no file) validates and passes GitHub's upload rules", async () => {
    const { code, text, log } = await sarif(['examples/manifests', '--cluster', 'prod-eu-1', '--now', '2030-12-05T10:00:00Z']);
    expect(code).toBe(1);
    expect(validate(log), JSON.stringify(validate.errors, null, 2)).toBe(true);
    expect(githubProblems(text)).toEqual([]);
    const results = log.runs[0].results;
    expect(results.map((r: { ruleId: string }) => r.ruleId).sort()).toEqual(['EXCEPTION_APPLIED', 'EXPIRING_SOON', 'OVER_ENTITLEMENT']);
    const expiring = results.find((r: { ruleId: string }) => r.ruleId === 'EXPIRING_SOON');
    // about a contract, not a file of the change: the config line that defines the entitlement
    expect(expiring.locations[0].physicalLocation).toEqual({
      artifactLocation: { uri: 'examples/entitlegate.yaml' },
      region: { startLine: lineOf('id: ORA-EE-2026') },
    });
    expect(expiring.level).toBe('warning');
  });

  it('a finding on claims read from stdin (no file, no line) is located on its entitlement', async () => {
    const r = await cli(['check', '-', ...base], readFileSync('examples/claims/over.json', 'utf8'));
    const text = r.stdout;
    const log = JSON.parse(text);
    expect(validate(log), JSON.stringify(validate.errors, null, 2)).toBe(true);
    expect(githubProblems(text)).toEqual([]);
    const over = log.runs[0].results.find((r: { ruleId: string }) => r.ruleId === 'OVER_ENTITLEMENT');
    expect(over.locations[0].physicalLocation.artifactLocation.uri).toBe('examples/entitlegate.yaml');
    expect(configText[over.locations[0].physicalLocation.region.startLine - 1]).toContain(`id: ${over.properties.entitlement}`);
  });

  it('carries the tool version and a rule with help for every ruleId', async () => {
    const { log } = await sarif(['examples/manifests', '--cluster', 'prod-eu-1']);
    const driver = log.runs[0].tool.driver;
    expect(driver.version).toBe(pkg.version);
    expect(log.runs[0].properties.provenance.version).toBe(pkg.version);
    const docs = readFileSync('docs/decision-codes.md', 'utf8');
    for (const rule of driver.rules) {
      expect(rule.shortDescription.text).toBeTruthy();
      expect(rule.help.text).toBeTruthy();
      const anchor = new URL(rule.helpUri).hash.slice(1);
      expect(docs).toContain(`<a id="${anchor}"></a>`);
    }
    for (const code of [...Object.keys(CODES), 'A_CUSTOM_CODE']) expect(docs).toContain(`<a id="${codeAnchor(code)}"></a>`);
  });

  it('fingerprints stay the same across runs while the finding does, and differ between findings', async () => {
    const a = await sarif(['examples/manifests', '--cluster', 'prod-eu-1', '--now', '2030-12-05T10:00:00Z']);
    const b = await sarif(['examples/manifests', '--cluster', 'prod-eu-1', '--now', '2030-12-09T09:00:00Z']);
    expect(b.text).not.toEqual(a.text); // the messages count the days left
    const prints = (log: typeof a.log) =>
      Object.fromEntries(
        log.runs[0].results.map((r: { ruleId: string; partialFingerprints: object }) => [r.ruleId, r.partialFingerprints]),
      );
    expect(prints(b.log)).toEqual(prints(a.log));
    const all = a.log.runs[0].results.map(
      (r: { partialFingerprints: Record<string, string> }) => r.partialFingerprints['entitlegateFinding/v1'],
    );
    expect(new Set(all).size).toBe(all.length);
  });

  it('warn mode reports violations as warnings, enforce mode as errors', async () => {
    const enforce = await sarif(['examples/claims/over.json']);
    const warn = await sarif(['examples/claims/over.json', '--mode', 'warn']);
    const level = (log: typeof enforce.log) => log.runs[0].results.find((r: { ruleId: string }) => r.ruleId === 'OVER_ENTITLEMENT').level;
    expect(level(enforce.log)).toBe('error');
    expect(level(warn.log)).toBe('warning');
    expect(githubProblems(warn.text)).toEqual([]);
  });

  it("keeps to GitHub's 25,000 results per run, violations first, and says so", () => {
    const finding = (i: number, code: string) => ({
      code,
      product: 'p',
      entitlement: null,
      message: `m${i}`,
      resources: [`Deployment/ns/d${i}`],
    });
    const claims = Array.from({ length: 25_010 }, (_, i) => ({
      product: 'p',
      metric: 'vcpu' as const,
      quantity: 1,
      peak: 1,
      scope: {},
      resource: { kind: 'Deployment', name: `d${i}`, namespace: 'ns', file: 'k8s/all.yaml', line: i + 1 },
    }));
    const d: Decision = {
      allowed: false,
      mode: 'enforce',
      violations: claims.slice(0, 20_000).map((_, i) => finding(i, 'OVER_ENTITLEMENT')),
      warnings: claims.slice(20_000).map((_, i) => finding(20_000 + i, 'TRANSIENT_PEAK')),
      products: [],
      claims,
      provenance: { version: pkg.version, policy: 'sha256:x', config: 'sha256:y', usage: [], evaluatedAt: '2026-11-28T10:00:00Z' },
    };
    const text = decisionSarif(d, { configFile: 'entitlegate.yaml', configLine: () => 1 });
    expect(githubProblems(text)).toEqual([]);
    const run = JSON.parse(text).runs[0];
    expect(run.results).toHaveLength(25_000);
    expect(run.results.filter((r: { level: string }) => r.level === 'error')).toHaveLength(20_000);
    expect(run.invocations[0].toolExecutionNotifications[0].message.text).toContain('25000 of 25010');
  });

  it('absolute paths become URIs relative to the root, percent-encoded', () => {
    expect(relativeUri('/repo/k8s/my db#1.yaml', '/repo')).toBe('k8s/my%20db%231.yaml');
    expect(relativeUri('./k8s/db.yaml')).toBe('k8s/db.yaml');
  });
});
