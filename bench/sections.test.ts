// Smoke test of the bench's own sections in a tiny mode: they run and their
// rows are well-formed. Timings are not asserted (the machine is noisy).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderMarkdown, renderTable } from './lib/table.ts';
import { machineInfo } from './lib/machine.ts';
import { DECISION_SIZES, decisionRows } from './sections/decision.ts';
import { GROWTH_SIZES, growthRows } from './sections/growth.ts';
import type { BenchRow } from './types.ts';

const SECTIONS = new Set(['decision', 'webhook', 'terraform', 'growth']);
const hasDist = existsSync(fileURLToPath(new URL('../dist/adapters/kubernetes/inventory.js', import.meta.url)));

function wellFormed(rows: BenchRow[]): void {
  expect(rows.length).toBeGreaterThan(0);
  const subjects = new Set(rows.map((r) => r.subject));
  for (const r of rows) {
    expect(SECTIONS.has(r.section)).toBe(true);
    expect(r.subject).toBeTruthy();
    expect(r.input).toBeTruthy();
    const figures = [r.opsPerSec, r.p50Ms, r.p99Ms, r.wallMs, r.peakRssMb].filter((x) => x !== undefined);
    if (!r.note?.startsWith('not measured')) expect(figures.length).toBeGreaterThan(0);
    for (const f of figures) expect(Number.isFinite(f) && f! >= 0).toBe(true);
    if (r.ratio !== undefined) {
      expect(Number.isFinite(r.ratio) && r.ratio > 0).toBe(true);
      expect(r.baseline && subjects.has(r.baseline)).toBeTruthy();
    }
    if (r.target !== undefined) expect(typeof r.met).toBe('boolean');
  }
  expect(() => JSON.stringify(rows)).not.toThrow();
  expect(renderTable(rows).split('\n')).toHaveLength(rows.length + 2);
}

describe('bench sections (tiny mode)', () => {
  it('decision: engine, OPA server and floor rows on the same input', async () => {
    const rows = await decisionRows(DECISION_SIZES.tiny, () => {});
    wellFormed(rows);
    expect(rows.map((r) => r.subject)).toEqual(expect.arrayContaining(['JSON round trip (floor)', 'entitlegate engine, in process']));
    for (const r of rows) expect(r.note ?? '').not.toContain('differs from the engine');
  }, 20_000);

  it.skipIf(!hasDist)(
    'growth: products, usage records and webhook memory rows',
    async () => {
      const rows = await growthRows(GROWTH_SIZES.tiny, () => {});
      wellFormed(rows);
      expect(rows.filter((r) => r.subject.includes('products'))).toHaveLength(GROWTH_SIZES.tiny.products.length);
      expect(rows.filter((r) => r.subject.startsWith('webhook memory'))[0]!.peakRssMb).toBeGreaterThan(0);
    },
    20_000,
  );

  it('the report renders with machine info', () => {
    const md = renderMarkdown({
      machine: machineInfo(null),
      mode: 'quick',
      sections: [{ name: 'decision', ok: true, seconds: 1 }],
      rows: [{ section: 'decision', subject: 'x', input: 'y', opsPerSec: 1, target: 't', met: false }],
    });
    expect(md).toContain('Node: v');
    expect(md).toContain('**NO**');
  });
});
