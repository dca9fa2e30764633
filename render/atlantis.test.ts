// Atlantis' custom_policy_check decides from the output alone whether a policy
// set passed. The rules below are Atlantis' own (runatlantis/atlantis,
// server/events/project_command_runner.go, doPolicyCheck): since December 2025
// a set fails when its output matches `[1-9][0-9]* failure` (or `failures": [`)
// or starts with "FAIL"; before, when it contained "fail" in any case.
// The example workflow's policy_check step is run as Atlantis runs it.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { change, plan } from '../adapters/terraform/test-helpers.ts';
import { cli, ROOT } from '../test/cli-harness.ts';
import { tempDir } from '../test/temp.ts';

const atlantisFails = (output: string) =>
  output === '' || /([1-9][0-9]* failure|failures": \[)/.test(output) || output.trim().startsWith('FAIL');
const atlantisBefore2026Fails = (output: string) => output === '' || output.toLowerCase().includes('fail');
/** What Atlantis shows as the policy set's summary line (server/events/models/models.go). */
const summaryLine = /\d+ tests?, \d+ passed, \d+ warnings?, \d+ failures?, \d+ exceptions?(, \d skipped)?/;

const base = ['--config', 'examples/entitlegate.yaml', '--usage', 'examples/usage.yaml', '--format', 'atlantis'];

describe('--format atlantis', () => {
  it('a blocked change fails the policy set under both rules, with the summary Atlantis shows', async () => {
    const r = await cli(['check', 'examples/manifests', '--cluster', 'prod-eu-1', ...base]);
    expect(r.code).toBe(1);
    expect(atlantisFails(r.stdout)).toBe(true);
    expect(atlantisBefore2026Fails(r.stdout)).toBe(true);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('2 tests, 1 passed, 1 warning, 1 failure, 0 exceptions');
    expect(summaryLine.test(r.stdout)).toBe(true);
    expect(r.stdout).toMatch(/^## ❌ entitlegate: BLOCKED/);
  });

  it.each([
    ['allowed', ['examples/claims/fits.json']],
    ['allowed with warnings', ['examples/manifests', '--cluster', 'prod-eu-1', '--now', '2026-12-05T10:00:00Z', '--mode', 'warn']],
    ['violations in warn mode', ['examples/claims/over.json', '--mode', 'warn']],
  ])('%s: the policy set passes under both rules', async (_name, args) => {
    const r = await cli(['check', ...args, ...base]);
    expect(r.code).toBe(0);
    expect(atlantisFails(r.stdout)).toBe(false);
    expect(atlantisBefore2026Fails(r.stdout)).toBe(false);
  });

  it("the text format's BLOCKED would pass a policy set: the reason for this format", async () => {
    const r = await cli(['check', 'examples/manifests', '--cluster', 'prod-eu-1', ...base.slice(0, -2)]);
    expect(r.code).toBe(1);
    expect(atlantisFails(r.stdout)).toBe(false);
  });
});

describe('examples/terraform/atlantis.yaml', () => {
  const config = parse(readFileSync(join(ROOT, 'examples/terraform/atlantis.yaml'), 'utf8'));
  const workflow = config.workflows[config.projects[0].workflow];
  const policyStep: string = workflow.policy_check.steps.find((s: { run?: string }) => s.run).run;

  // examples/terraform/usage.yaml has 18 of 32 vCPU in use.
  const node = (name: string, vcpu: number) =>
    change(
      `terraform_data.${name}`,
      ['create'],
      null,
      { input: { product: 'weblogic-ee', vcpu }, output: null },
      { after_unknown: { id: true } },
    );
  const dir = tempDir('eg-atlantis-');
  const files = {
    fits: JSON.stringify(plan([node('a', 4)])),
    over: JSON.stringify(plan([node('a', 8), node('b', 8)])),
    broken: '{"format_version": "1.2", "resource_changes": [',
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, `${name}.json`), text);

  /** The step as Atlantis runs it: sh -c in the project folder, $SHOWFILE set; `npx entitlegate` is this checkout. */
  const runStep = (showfile: string) =>
    spawnSync(
      'sh',
      ['-c', policyStep.replace(/npx --yes entitlegate(@[0-9.]+)?/, `"${process.execPath}" "${join(ROOT, 'cli', 'main.ts')}"`)],
      {
        cwd: join(ROOT, config.projects[0].dir),
        env: { ...process.env, SHOWFILE: join(dir, `${showfile}.json`) },
        encoding: 'utf8',
      },
    );

  it('enables custom_policy_check and runs entitlegate --format atlantis on $SHOWFILE', () => {
    expect(config.projects[0].custom_policy_check).toBe(true);
    expect(workflow.policy_check.steps[0]).toBe('show');
    expect(policyStep).toContain('--format atlantis');
  });

  it('a plan over the entitlement: the step succeeds and its output fails the policy set', () => {
    const r = runStep('over');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(atlantisFails(r.stdout)).toBe(true);
    expect(r.stdout).toContain('1 failure');
  });

  it('a plan that fits: the step succeeds and the policy set passes', () => {
    const r = runStep('fits');
    expect(r.status).toBe(0);
    expect(atlantisFails(r.stdout)).toBe(false);
  });

  it('a broken plan: the step errors (exit 2 is not a policy result)', () => {
    const r = runStep('broken');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('entitlegate:');
  });
});
