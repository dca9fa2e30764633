// The bypass corpus (README.md beside this file): every case through the real
// CLI bundle, as a user or a CI job runs it.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Decision } from '../../engine/types.ts';
import { ROOT } from '../cli-harness.ts';

interface Case {
  why: string;
  args: string[];
  stdin?: string;
  exit: number;
  violations?: string[];
  warnings?: string[];
  noViolations?: string[];
  requested?: Record<string, number>;
  claims?: number;
  stdout?: string[];
  stderr?: string[];
  notStdout?: string[];
  notStderr?: string[];
}

const CASES = join(import.meta.dirname, 'cases');
const BIN = join(ROOT, 'dist', 'bin', 'entitlegate.js');

function withDefaults(args: string[]): string[] {
  const out = [...args];
  const has = (flag: string) => out.includes(flag);
  if (out[0] === 'check' || out[0] === 'report' || out[0] === 'validate') {
    if (!has('--config') && !has('-c')) out.push('--config', '../../entitlegate.yaml');
  }
  if (out[0] === 'check' || out[0] === 'report') {
    if (!has('--now')) out.push('--now', '2026-11-28T10:00:00Z');
    if (!has('--format') && !has('-f') && !has('--output')) out.push('--format', 'json');
  }
  return out;
}

const names = readdirSync(CASES, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

describe('bypass corpus', () => {
  it('has cases (a corpus that reads nothing proves nothing)', () => {
    expect(names.length).toBeGreaterThan(0);
    expect(existsSync(BIN), `${BIN}: run npm run build first`).toBe(true);
  });

  for (const name of names) {
    const dir = join(CASES, name);
    const c = parse(readFileSync(join(dir, 'case.yaml'), 'utf8')) as Case;
    it(`${name}: ${c.why}`, () => {
      const r = spawnSync(process.execPath, [BIN, ...withDefaults(c.args)], {
        cwd: dir,
        encoding: 'utf8',
        input: c.stdin ? readFileSync(join(dir, c.stdin)) : '',
        env: { ...process.env, NODE_DISABLE_COMPILE_CACHE: '1' },
        timeout: 20_000,
      });
      const context = `exit ${r.status}\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 2000)}`;
      expect(r.status, context).toBe(c.exit);
      expect(r.stderr, 'no stack trace reaches a user').not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/);
      for (const s of c.stdout ?? []) expect(r.stdout, context).toContain(s);
      for (const s of c.stderr ?? []) expect(r.stderr, context).toContain(s);
      for (const s of c.notStdout ?? []) expect(r.stdout, context).not.toContain(s);
      for (const s of c.notStderr ?? []) expect(r.stderr, context).not.toContain(s);
      const needsDecision = c.violations || c.warnings || c.noViolations || c.requested || c.claims !== undefined;
      if (!needsDecision) return;
      const d = JSON.parse(r.stdout) as Decision;
      const violations = d.violations.map((f) => f.code);
      const warnings = d.warnings.map((f) => f.code);
      for (const code of c.violations ?? []) expect(violations, context).toContain(code);
      for (const code of c.warnings ?? []) expect(warnings, context).toContain(code);
      for (const code of c.noViolations ?? []) expect(violations, context).not.toContain(code);
      for (const [product, q] of Object.entries(c.requested ?? {})) {
        expect(d.products.find((p) => p.product === product)?.requested, `${product} requested\n${context}`).toBe(q);
      }
      if (c.claims !== undefined) expect(d.claims.length, context).toBe(c.claims);
    });
  }
});
