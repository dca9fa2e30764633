// Claims JSON round-trips: the `claims` of a decision, fed back to `check`,
// give the same decision (DESIGN accounting rule 6).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Decision } from '../engine/types.ts';
import { cli } from './cli-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'entitlegate-roundtrip-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const k8s = [
  '--config',
  'examples/entitlegate.yaml',
  '--usage',
  'examples/usage.yaml',
  '--cluster',
  'prod-eu-1',
  '--now',
  '2026-11-28T10:00:00Z',
];
const bypass = ['--config', 'test/bypass/entitlegate.yaml', '--now', '2026-11-28T10:00:00Z'];

async function decide(paths: string[], flags: string[]): Promise<{ code: number; decision: Decision }> {
  const r = await cli(['check', ...paths, ...flags, '--format', 'json']);
  expect(r.stderr).toBe('');
  return { code: r.code, decision: JSON.parse(r.stdout) as Decision };
}

describe('claims JSON round-trip', () => {
  for (const [name, paths, flags] of [
    ['Kubernetes manifests', ['examples/manifests'], k8s],
    [
      'a Terraform plan and a manifest',
      ['test/bypass/cases/in-utf8-bom-plan/plan.json.txt', 'test/bypass/cases/baseline-counted/input.yaml'],
      bypass,
    ],
  ] as const) {
    it(`the claims of a decision on ${name} give the same decision`, async () => {
      const first = await decide([...paths], [...flags]);
      expect(first.decision.claims.length).toBeGreaterThan(0);
      expect(first.decision.claims.every((c) => typeof c.metric === 'string')).toBe(true);
      const file = join(dir, `${name.replaceAll(' ', '-')}.json`);
      writeFileSync(file, JSON.stringify({ claims: first.decision.claims }, null, 2));
      const again = await decide([file], [...flags]);
      expect(again.code).toBe(first.code);
      expect(again.decision).toEqual(first.decision);
    });
  }

  it("a metric that is not the product's is bad input naming the line", async () => {
    const file = join(dir, 'wrong-metric.json');
    writeFileSync(file, '{"claims": [\n  {"product": "rhel", "metric": "vcpu", "quantity": 1}\n]}\n');
    const r = await cli(['check', file, ...bypass]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:2:`);
    expect(r.stderr).toContain('metric "vcpu" is not the metric of product "rhel", which is counted in instances');
  });
});
