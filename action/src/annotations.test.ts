import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.ts';
import type { Decision } from '../../engine/types.ts';
import { annotationsOf } from './annotations.ts';
import { REPO_ROOT } from './testing/runner.ts';

const configFile = 'examples/entitlegate.yaml';
const config = loadConfig(join(REPO_ROOT, configFile));
const lineOf = (text: string) =>
  readFileSync(join(REPO_ROOT, configFile), 'utf8')
    .split('\n')
    .findIndex((l) => l.includes(text)) + 1;

function decision(over: Partial<Decision>): Decision {
  return {
    allowed: false,
    mode: 'enforce',
    violations: [],
    warnings: [],
    products: [],
    claims: [],
    provenance: { version: '0.1.0', policy: 'sha256:x', config: 'sha256:y', usage: [], evaluatedAt: '2026-11-28T10:00:00Z' },
    ...over,
  };
}

describe('annotationsOf', () => {
  it('puts a finding with no resource line on its entitlement, exception or product in the config', () => {
    const d = decision({
      violations: [{ code: 'EXPIRED', product: 'rhel', entitlement: 'RHEL-2026', message: 'rhel: RHEL-2026 ended', resources: [] }],
      warnings: [
        { code: 'EXCEPTION_APPLIED', product: 'oracle-db-ee', entitlement: 'EXC-7', message: 'uses EXC-7', resources: [] },
        { code: 'TEAM_RULE', product: 'splunk-enterprise', entitlement: null, message: 'team rule', resources: [] },
      ],
    });
    expect(annotationsOf(d, config, configFile)).toEqual([
      {
        level: 'error',
        title: 'EXPIRED rhel (RHEL-2026)',
        message: 'rhel: RHEL-2026 ended',
        file: configFile,
        line: lineOf('- id: RHEL-2026'),
      },
      {
        level: 'warning',
        title: 'EXCEPTION_APPLIED oracle-db-ee (EXC-7)',
        message: 'uses EXC-7',
        file: configFile,
        line: lineOf('- id: EXC-7'),
      },
      {
        level: 'warning',
        title: 'TEAM_RULE splunk-enterprise',
        message: 'team rule',
        file: configFile,
        line: lineOf('- id: splunk-enterprise'),
      },
    ]);
  });

  it('puts a finding on each resource line it names, once per place', () => {
    const claim = (name: string, line: number) => ({
      product: 'rhel',
      metric: 'instances' as const,
      quantity: 1,
      peak: 1,
      scope: {},
      resource: { kind: 'Deployment', name, namespace: 'web', file: 'k8s/web.yaml', line },
    });
    const d = decision({
      claims: [claim('a', 1), claim('b', 20)],
      violations: [
        {
          code: 'OVER_ENTITLEMENT',
          product: 'rhel',
          entitlement: 'RHEL-2026',
          message: 'over',
          resources: ['Deployment/web/a', 'Deployment/web/b'],
        },
      ],
    });
    expect(annotationsOf(d, config, configFile).map((a) => `${a.level} ${a.file}:${a.line}`)).toEqual([
      'error k8s/web.yaml:1',
      'error k8s/web.yaml:20',
    ]);
  });
});
