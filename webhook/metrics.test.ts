// /metrics as Prometheus reads it: scraped from a real `entitlegate serve`
// (both on the webhook's port and on --metrics-port), then checked with
// `promtool check metrics` (the Prometheus linter; scripts/install-promtool.sh
// builds it). Without promtool the lint is skipped on a laptop and fails in CI.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolCacheDir } from '../engine/policy/compile.ts';
import pkg from '../package.json' with { type: 'json' };
import { serve } from '../cli/serve.ts';
import type { Io } from '../cli/io.ts';
import { tempDir } from '../test/temp.ts';

const PROMTOOL_VERSION = 'v0.316.0';
const promtool = process.env.ENTITLEGATE_PROMTOOL ?? join(toolCacheDir(), 'go', `promtool-${PROMTOOL_VERSION}`, 'bin', 'promtool');
const hasPromtool = existsSync(promtool);
const required = process.env.CI === 'true' || !!process.env.ENTITLEGATE_E2E_REQUIRE;

const io: Io = { stdout: () => {}, stderr: () => {}, readStdin: () => '', clock: () => new Date() };

let stop: () => void;
let exited: Promise<number>;
let main = '';
let metricsPort = '';
beforeAll(async () => {
  let listening!: (a: string) => void;
  let metricsListening!: (a: string) => void;
  const up = Promise.all([new Promise<string>((r) => (listening = r)), new Promise<string>((r) => (metricsListening = r))]);
  exited = serve(
    [
      ...['--config', 'examples/entitlegate.yaml', '--usage', 'examples/usage.yaml', '--now', '2026-11-28T10:00:00Z'],
      ...['--insecure-http', '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--no-cluster', '--log-level', 'silent'],
    ],
    io,
    { stop: new Promise((r) => (stop = () => r('stop'))), listening, metricsListening },
  );
  [main, metricsPort] = await up;
});
afterAll(async () => {
  stop();
  expect(await exited).toBe(0);
});

const scrape = async (base: string) => {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
};

/** The sample lines of one metric family. */
const samples = (text: string, name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));

describe('/metrics', () => {
  it.skipIf(!hasPromtool && !required)('passes `promtool check metrics` (Prometheus naming and format)', async () => {
    expect(hasPromtool, `promtool not found at ${promtool}: run scripts/install-promtool.sh or set ENTITLEGATE_PROMTOOL`).toBe(true);
    for (const base of [main, metricsPort]) {
      const r = spawnSync(promtool, ['check', 'metrics'], { input: await scrape(base), encoding: 'utf8' });
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    }
  });

  it('one unit per metric name: vCPUs and instances are separate families, suffixed with the unit', async () => {
    const text = await scrape(main);
    expect(text).not.toMatch(/\bmetric="/);
    expect(samples(text, 'entitlegate_product_used_vcpus')).toContain('entitlegate_product_used_vcpus{product="oracle-db-ee"} 66');
    expect(samples(text, 'entitlegate_product_capacity_vcpus')).toContain('entitlegate_product_capacity_vcpus{product="oracle-db-ee"} 88');
    expect(samples(text, 'entitlegate_product_used_instances')).toEqual(['entitlegate_product_used_instances{product="rhel"} 140']);
    expect(samples(text, 'entitlegate_product_used_vcpus').join()).not.toContain('rhel');
    expect(text).toContain(
      'entitlegate_entitlement_capacity_vcpus{product="oracle-db-ee",entitlement="ORA-EE-2026",kind="entitlement"} 64',
    );
    expect(text).toContain(
      '# HELP entitlegate_product_used_vcpus Usage in the engine per product (snapshots and cluster; reservations not included), in vcpus',
    );
  });

  it('expiry is a _timestamp_seconds gauge: the Unix time the capacity ends (validUntil 2030-12-31, whole day)', async () => {
    const text = await scrape(main);
    expect(text).toContain(
      `entitlegate_entitlement_expiry_timestamp_seconds{product="oracle-db-ee",entitlement="ORA-EE-2026",kind="entitlement"} ${Date.parse('2031-01-01T00:00:00Z') / 1000}`,
    );
    expect(text).not.toContain('days_to_expiry');
  });

  it('entitlegate_build_info carries the version and the digests; process metrics are the standard unprefixed ones', async () => {
    const text = await scrape(main);
    expect(text).toMatch(
      new RegExp(
        `^entitlegate_build_info\\{version="${pkg.version.replace(/\./g, '\\.')}",policy="sha256:[0-9a-f]{64}",config="sha256:[0-9a-f]{64}"\\} 1$`,
        'm',
      ),
    );
    expect(text).toMatch(/^process_cpu_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(text).not.toContain('entitlegate_process_');
  });

  it('--metrics-port serves /metrics alone over plain HTTP', async () => {
    expect(metricsPort).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(metricsPort).not.toBe(main);
    expect(await scrape(metricsPort)).toContain('entitlegate_build_info{');
    expect((await fetch(`${metricsPort}/validate`, { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await fetch(`${metricsPort}/healthz`)).status).toBe(404);
  });

  describe('deploy/prometheus-rules.yaml (the PrometheusRule the alerts in docs/operations.md ship as)', () => {
    const rule = parseYaml(readFileSync(join(import.meta.dirname, '..', 'deploy', 'prometheus-rules.yaml'), 'utf8'));
    const exprs: string[] = rule.spec.groups.flatMap((g: { rules: { expr: string }[] }) => g.rules.map((r) => r.expr));

    it('is a PrometheusRule whose every metric is one /metrics serves', async () => {
      expect(rule).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule' });
      const text = await scrape(main);
      const served = new Set(
        [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) => (type === 'histogram' ? [`${name}_bucket`] : [name!])),
      );
      const named = new Set(exprs.flatMap((e) => [...e.matchAll(/\bentitlegate_[a-z_]+/g)].map(([m]) => m)));
      expect(named.size).toBeGreaterThan(10);
      for (const m of named) expect(served, m).toContain(m);
    });

    it.skipIf(!hasPromtool && !required)('passes `promtool check rules`', () => {
      const file = join(tempDir('eg-rules-'), 'rules.yaml');
      writeFileSync(file, stringify({ groups: rule.spec.groups }));
      const r = spawnSync(promtool, ['check', 'rules', file], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/SUCCESS: \d+ rules found/);
      expect(r.status).toBe(0);
    });
  });
});
