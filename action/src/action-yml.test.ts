// action.yml is the contract (docs/architecture.md, GitHub Action); the example
// workflows must only use what it declares and ask for the least permissions.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from './testing/runner.ts';

const action = parse(readFileSync(join(REPO_ROOT, 'action.yml'), 'utf8'));

describe('action.yml', () => {
  it('declares the contract inputs and outputs and runs the bundle on node24', () => {
    expect(Object.keys(action.inputs).sort()).toEqual(
      [
        'config',
        'usage',
        'paths',
        'environment',
        'cluster',
        'namespace',
        'account',
        'region',
        'mode',
        'comment',
        'check-run',
        'github-token',
        'ledger-url',
        'ledger-token',
        'reserve',
        'ttl',
        'source',
      ].sort(),
    );
    expect(Object.keys(action.outputs).sort()).toEqual([
      'allowed',
      'report',
      'reservation-expires-at',
      'reservation-id',
      'sarif',
      'violations',
    ]);
    expect(action.inputs['github-token'].default).toBe('${{ github.token }}');
    expect(action.runs).toEqual({ using: 'node24', main: 'action/dist/index.js' });
    expect(existsSync(join(REPO_ROOT, action.runs.main))).toBe(true);
  });
});

const dir = join(REPO_ROOT, 'examples', 'github');
const workflows = readdirSync(dir).filter((f) => f.endsWith('.yml'));

it('finds the example workflows (describe.each over none would check nothing)', () => {
  expect(workflows.length).toBeGreaterThan(0);
});

describe.each(workflows)('examples/github/%s', (file) => {
  const wf = parse(readFileSync(join(dir, file), 'utf8'));
  const jobs = Object.entries(
    wf.jobs as Record<string, { permissions?: Record<string, string>; steps: { uses?: string; with?: Record<string, unknown> }[] }>,
  );

  it('grants nothing by default and each gating job only what its options need', () => {
    expect(wf.permissions).toEqual({});
    let gates = 0;
    for (const [, job] of jobs) {
      for (const step of job.steps.filter((s) => s.uses?.startsWith('entitlegate/entitlegate@'))) {
        gates++;
        const w = step.with ?? {};
        expect(job.permissions?.contents).toBe('read');
        expect(job.permissions?.['pull-requests']).toBe(w.comment === false ? undefined : 'write');
        expect(job.permissions?.checks).toBe(w['check-run'] === false ? undefined : 'write');
        for (const key of Object.keys(w)) expect(Object.keys(action.inputs)).toContain(key);
        expect(w.config).toBeTruthy();
        expect(w.paths).toBeTruthy();
      }
    }
    // every example gates with the action: a workflow whose step no longer matches would otherwise pass unchecked
    expect(gates).toBeGreaterThan(0);
  });
});
