// SARIF 2.1.0 as GitHub code scanning accepts it: every result has a physical
// location (a finding with no file of the change points at the config line
// that defines its entitlement or product), a relative URI, a rule with help,
// and a fingerprint that stays the same across runs while the finding does.
// GitHub's limits (docs: "SARIF support for code scanning"): 25,000 results
// and 25,000 rules per run, 10 MB gzipped per file.
import { createHash } from 'node:crypto';
import { isAbsolute, relative, sep } from 'node:path';
import type { Decision, Finding } from '../engine/types.ts';
import { VERSION } from '../engine/version.ts';
import { CODES, CUSTOM_CODE, codeAnchor, DOCS_URL } from './codes.ts';
import type { RenderContext } from './context.ts';
import { locatedFindings } from './machine.ts';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';
export const MAX_RESULTS = 25_000;

/** A path as a relative URI reference: `/`-separated, each segment percent-encoded. */
export function relativeUri(path: string, root: string = process.cwd()): string {
  const rel = isAbsolute(path) ? relative(root, path) : path;
  return rel
    .split(sep)
    .join('/')
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .map(encodeURIComponent)
    .join('/');
}

function rule(code: string) {
  const doc = CODES[code];
  const d = doc ?? CUSTOM_CODE;
  const helpUri = `${DOCS_URL}#${codeAnchor(code)}`;
  return {
    id: code,
    name: d.name,
    shortDescription: { text: doc ? d.short : `${code}: ${d.short}` },
    fullDescription: { text: `${d.short} ${d.help}` },
    help: { text: `${d.help} See ${helpUri}`, markdown: `${d.help}\n\n[${code} in the decision-code reference](${helpUri})` },
    helpUri,
    defaultConfiguration: { level: !doc || doc.kind === 'violation' ? 'error' : 'warning' },
    properties: { tags: ['licence', doc ? doc.kind : 'custom'] },
  };
}

/** Stable across runs: the finding's identity, never its numbers or line. */
function fingerprint(f: Finding, uri: string): string {
  return createHash('sha256')
    .update([f.code, f.product ?? '', f.entitlement ?? '', uri, [...f.resources].sort().join('\n')].join('\0'))
    .digest('hex');
}

export function decisionSarif(d: Decision, ctx: RenderContext = {}): string {
  const root = ctx.root ?? process.cwd();
  const configUri = ctx.configFile ? relativeUri(ctx.configFile, root) : null;
  const all = locatedFindings(d);
  const located = all.slice(0, MAX_RESULTS);
  const codes = [...new Set(located.map((l) => l.finding.code))].sort();
  const index = new Map(codes.map((c, i) => [c, i]));
  const results = located.map(({ finding, level, file: named, line }) => {
    // `<stdin>` is no file of the repository: such findings go to the config too.
    const file = named && !/^<.+>$/.test(named) ? named : undefined;
    const uri = file ? relativeUri(file, root) : (configUri ?? '');
    const startLine = file ? (line ?? 1) : (ctx.configLine?.(finding) ?? 1);
    return {
      ruleId: finding.code,
      ruleIndex: index.get(finding.code)!,
      level,
      message: { text: finding.message },
      locations: [{ physicalLocation: { artifactLocation: { uri }, region: { startLine } } }],
      partialFingerprints: { 'entitlegateFinding/v1': fingerprint(finding, uri) },
      properties: {
        ...(finding.product ? { product: finding.product } : {}),
        ...(finding.entitlement ? { entitlement: finding.entitlement } : {}),
        resources: finding.resources,
      },
    };
  });
  const notes =
    all.length > located.length
      ? [{ level: 'warning', message: { text: `only the first ${MAX_RESULTS} of ${all.length} results (GitHub's limit per run)` } }]
      : [];
  const sarif = {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'entitlegate',
            version: VERSION,
            semanticVersion: VERSION,
            informationUri: 'https://github.com/entitlegate/entitlegate',
            rules: codes.map(rule),
          },
        },
        invocations: [{ executionSuccessful: true, toolExecutionNotifications: notes }],
        results,
        properties: {
          allowed: d.allowed,
          mode: d.mode,
          provenance: d.provenance,
        },
      },
    ],
  };
  return JSON.stringify(sarif, null, 2) + '\n';
}
