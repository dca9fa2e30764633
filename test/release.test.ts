// The version a release would carry is named the same everywhere users copy
// from (scripts/release-check.ts): a bump that misses the chart, the
// Kubernetes example's image or a pinned `npx entitlegate@…` fails here.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { releaseProblems } from '../scripts/release-check.ts';
import { ROOT } from './cli-harness.ts';

const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('release versions', () => {
  it(`the package, chart, example image and docs all name ${version}`, () => {
    expect(releaseProblems(ROOT, `v${version}`)).toEqual([]);
  });

  it('a tag that is not the package version, or a doc left behind, is named with file:line', () => {
    expect(releaseProblems(ROOT, 'v9.9.9')).toContain(`package.json: version ${version}, not 9.9.9`);
    const copy = mkdtempSync(join(tmpdir(), 'eg-release-'));
    try {
      for (const p of ['package.json', 'README.md', 'docs', 'examples', 'deploy/chart/Chart.yaml', 'deploy/chart/README.md'])
        cpSync(join(ROOT, p), join(copy, p), { recursive: true });
      writeFileSync(join(copy, 'docs', 'x.md'), 'run\n\n    npx entitlegate check plan.json\n    - uses: actions/checkout@v4\n');
      expect(releaseProblems(copy, `v${version}`)).toEqual([
        `docs/x.md:3: npx entitlegate (pin entitlegate@${version})`,
        'docs/x.md:4: actions/checkout@v4 (use v5)',
      ]);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});

const sharedRules = join(ROOT, 'deploy', 'prometheus-rules.yaml');

describe('alert rules', () => {
  it('the chart ships its rules file as a Prometheus rules file (groups of alerts with expressions)', () => {
    const rules = parse(readFileSync(join(ROOT, 'deploy', 'chart', 'files', 'prometheus-rules.yaml'), 'utf8')) as {
      groups: { rules: { alert: string; expr: string }[] }[];
    };
    const alerts = rules.groups.flatMap((g) => g.rules);
    expect(alerts.length).toBeGreaterThan(0);
    for (const a of alerts) expect(a.expr, a.alert).toMatch(/entitlegate_/);
  });

  // deploy/prometheus-rules.yaml (a PrometheusRule, for clusters without the chart) holds the same groups.
  it('the chart ships the same rules as deploy/prometheus-rules.yaml', () => {
    const chart = parse(readFileSync(join(ROOT, 'deploy', 'chart', 'files', 'prometheus-rules.yaml'), 'utf8')) as unknown;
    const shared = parse(readFileSync(sharedRules, 'utf8')) as { spec: { groups: unknown } };
    expect(
      chart,
      "copy deploy/prometheus-rules.yaml's spec.groups to deploy/chart/files/prometheus-rules.yaml (Helm reads only files inside the chart)",
    ).toEqual({ groups: shared.spec.groups });
  });
});
