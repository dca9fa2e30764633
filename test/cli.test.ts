// The CLI contract: commands, formats and exit codes, on the bundled examples.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { opaUnavailable } from '../engine/policy/compile.ts';
import { cli, cliProcess, tempFiles } from './cli-harness.ts';
import { tempDir } from './temp.ts';

const base = ['--config', 'examples/entitlegate.yaml', '--usage', 'examples/usage.yaml'];
const opaMissing = opaUnavailable();

describe('entitlegate check', () => {
  it('blocks the bundled over-entitlement example with exit 1 and says what to do', async () => {
    const r = await cli(['check', 'examples/manifests', ...base, '--cluster', 'prod-eu-1']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^entitlegate: BLOCKED — 1 violation/);
    expect(r.stdout).toMatch(/oracle-db-ee\s+vcpu\s+66\s+24\s+88\s+90/);
    expect(r.stdout).toContain('reduce the request by 2 vcpu');
    expect(r.stdout).toContain('at StatefulSet/orders/orders-db (examples/manifests/orders-db.yaml:9)');
  });

  it('allows a change that fits with exit 0', async () => {
    const r = await cli(['check', 'examples/claims/fits.json', ...base]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^entitlegate: ALLOWED/);
  });

  it('warn mode reports the violation and exits 0', async () => {
    const r = await cli(['check', 'examples/claims/over.json', ...base, '--mode', 'warn']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ALLOWED (warn mode');
    expect(r.stdout).toContain('OVER_ENTITLEMENT');
  });

  it('--format json is the decision contract, --now sets evaluatedAt', async () => {
    const r = await cli(['check', 'examples/claims/over.json', ...base, '--format', 'json', '--now', '2026-11-28T10:00:00Z']);
    expect(r.code).toBe(1);
    const d = JSON.parse(r.stdout);
    expect(Object.keys(d)).toEqual(['allowed', 'mode', 'violations', 'warnings', 'products', 'claims', 'provenance']);
    expect(d.violations[0]).toEqual({
      code: 'OVER_ENTITLEMENT',
      product: 'oracle-db-ee',
      entitlement: 'ORA-EE-2026',
      message: expect.stringContaining('96 vcpu projected exceeds the 88 vcpu covered'),
      resources: ['Deployment/orders/orders-db'],
    });
    expect(d.products[0]).toEqual({
      product: 'oracle-db-ee',
      metric: 'vcpu',
      capacity: 88,
      used: 66,
      requested: 30,
      projected: 96,
      peak: 96,
      utilization: 96 / 88,
    });
    expect(d.claims[0]).toMatchObject({
      product: 'oracle-db-ee',
      metric: 'vcpu',
      quantity: 30,
      peak: 30,
      resource: { kind: 'Deployment', file: 'examples/claims/over.json', line: 3 },
    });
    expect(d.provenance).toMatchObject({
      usage: [{ source: 'servicenow-sam-export', observedAt: '2026-11-28T06:00:00Z' }],
      evaluatedAt: '2026-11-28T10:00:00Z',
    });
  });

  it('an empty folder is bad input, not an allowed change', async () => {
    const dir = tempDir('eg-empty-');
    const r = await cli(['check', dir, ...base]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('holds no .yaml, .yml or .json file');
  });

  it('reads claims from stdin with -', async () => {
    const r = await cli(['check', '-', ...base, '--format', 'json'], readFileSync('examples/claims/fits.json', 'utf8'));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).claims[0].resource.file).toBe('<stdin>');
  });

  it('scope flags win over the claims file', async () => {
    const r = await cli(['check', 'examples/claims/fits.json', ...base, '--environment', 'prod', '--format', 'json']);
    expect(JSON.parse(r.stdout).claims[0].scope.environment).toBe('prod');
  });

  it('markdown, github, sarif and junit formats carry the violation and its location', async () => {
    const md = await cli(['check', 'examples/manifests', ...base, '--cluster', 'prod-eu-1', '--format', 'markdown']);
    expect(md.stdout).toMatch(/^## ❌ entitlegate: BLOCKED/);
    expect(md.stdout).toContain('| oracle-db-ee | vcpu | 66 | 24 | 88 | -2 |');
    const gh = await cli(['check', 'examples/manifests', ...base, '--cluster', 'prod-eu-1', '--format', 'github']);
    expect(gh.stdout).toContain(
      '::error file=examples/manifests/orders-db.yaml,line=9,title=OVER_ENTITLEMENT oracle-db-ee (ORA-EE-2026)::',
    );
    const sarif = JSON.parse((await cli(['check', 'examples/manifests', ...base, '--cluster', 'prod-eu-1', '--format', 'sarif'])).stdout);
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0].results[0]).toMatchObject({
      ruleId: 'OVER_ENTITLEMENT',
      level: 'error',
      locations: [{ physicalLocation: { artifactLocation: { uri: 'examples/manifests/orders-db.yaml' }, region: { startLine: 9 } } }],
    });
    const junit = (await cli(['check', 'examples/manifests', ...base, '--cluster', 'prod-eu-1', '--format', 'junit'])).stdout;
    expect(junit).toMatch(/<testsuite name="entitlegate" tests="2" failures="1" errors="0" /);
    expect(junit).toContain('<failure type="OVER_ENTITLEMENT"');
  });

  it('--output writes the format to a file and prints the text summary', async () => {
    const out = join(tempDir(), 'decision.json');
    const r = await cli(['check', 'examples/claims/over.json', ...base, '--format', 'json', '--output', out]);
    expect(r.code).toBe(1);
    expect(JSON.parse(readFileSync(out, 'utf8')).allowed).toBe(false);
    expect(r.stdout).toMatch(/^entitlegate: BLOCKED/);
  });

  it('a real process exits 1 when blocked and 0 when allowed', () => {
    expect(cliProcess(['check', 'examples/claims/over.json', ...base]).code).toBe(1);
    expect(cliProcess(['check', 'examples/claims/fits.json', ...base]).code).toBe(0);
  });
});

describe('entitlegate validate and report', () => {
  it('validate summarises a good config', async () => {
    const r = await cli(['validate', ...base]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('valid — 3 products, 3 entitlements, 1 exceptions; 1 usage snapshot valid');
  });

  it('report shows utilisation, headroom, days to expiry and the cost of headroom', async () => {
    const r = await cli(['report', ...base, '--now', '2026-11-28T10:00:00Z', '--format', 'json']);
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    const ora = rep.products.find((p: { product: string }) => p.product === 'oracle-db-ee');
    expect(ora).toMatchObject({ capacity: 88, used: 66, headroom: 22, unallocated: 0 });
    expect(ora.entitlements[0]).toEqual({
      id: 'ORA-EE-2026',
      kind: 'entitlement',
      state: 'active',
      capacity: 64,
      used: 60,
      headroom: 4,
      daysToExpiry: 1494,
      expiresAt: '2031-01-01T00:00:00Z', // validUntil 2030-12-31 is the whole day; graceDays 0
      unitCost: 4750,
      currency: 'USD',
      headroomCost: 19000,
    });
    const text = await cli(['report', ...base, '--now', '2026-11-28T10:00:00Z']);
    expect(text.stdout).toMatch(/ORA-EE-2026\s+oracle-db-ee\s+active\s+60\s+64\s+4\s+1494\s+19000 USD/);
  });

  it('usage naming unknown products is refused', async () => {
    const dir = tempFiles({ 'u.yaml': 'version: 1\nsource: s\nobservedAt: 2026-11-28\nusage:\n  - product: nope\n    quantity: 1\n' });
    const r = await cli(['report', '--config', 'examples/entitlegate.yaml', '--usage', join(dir, 'u.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('u.yaml:5:14 unknown product "nope"');
  });

  it('unknown commands and bad flags are usage errors', async () => {
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['check', 'x', ...base, '--mode', 'strict'])).stderr).toContain('--mode must be enforce or warn');
    expect((await cli(['check', 'x', ...base, '--now', 'tomorrow'])).stderr).toContain('--now must be an ISO-8601 instant');
    expect((await cli(['check', ...base])).stderr).toContain('check needs at least one PATH');
    for (const bad of ['1', '2026-11-28T10:00:00', 'tomorrow']) {
      const r = await cli(['check', 'examples/claims/fits.json', ...base, '--now', bad]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toContain('--now must be an ISO-8601 instant with its offset');
    }
    const day = await cli(['check', 'examples/claims/fits.json', ...base, '--now', '2026-11-28', '--format', 'json']);
    expect(JSON.parse(day.stdout).provenance.evaluatedAt).toBe('2026-11-28T00:00:00Z');
  });
});

describe.skipIf(opaMissing)('custom rules compiled with the real OPA compiler', () => {
  it('policy test runs the custom rules tests; policy build makes a policy whose findings appear in decisions', async () => {
    const t = await cli(['policy', 'test', 'examples/custom-rules/team']);
    expect(t.code, t.stdout).toBe(0);
    expect(t.stdout).toMatch(/PASS: \d+\/\d+/);
    const dir = tempDir('eg-custom-');
    const wasm = join(dir, 'policy.wasm');
    const b = await cli(['policy', 'build', 'examples/custom-rules/team', '--output', wasm]);
    expect(b.code, b.stderr).toBe(0);
    expect(existsSync(wasm)).toBe(true);
    const config = tempFiles({
      'c.yaml': readFileSync('examples/custom-rules/entitlegate.yaml', 'utf8').replace('policy: policy.wasm', `policy: ${wasm}`),
    });
    const r = await cli(['check', 'examples/custom-rules/claims.json', '--config', join(config, 'c.yaml'), '--format', 'json']);
    expect(r.code).toBe(1);
    const d = JSON.parse(r.stdout);
    expect(d.violations.map((v: { code: string }) => v.code)).toEqual(['TEAM_LARGE_DEPLOYMENT']);
    expect(d.violations[0]).toMatchObject({ product: 'oracle-db-ee', entitlement: null, resources: ['Deployment/analytics/warehouse'] });
  });

  it('a custom rule using a builtin the engine does not provide fails at build time', async () => {
    const dir = tempFiles({
      'bad.rego':
        'package entitlegate.custom.bad\n\nviolation contains {"code": "X", "message": http.send({"method": "get", "url": "http://x"}).body} if true\n',
    });
    const r = await cli(['policy', 'build', dir, '--output', join(dir, 'p.wasm')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/http\.send|undefined function/);
    expect(existsSync(join(dir, 'p.wasm'))).toBe(false);
  });
});
