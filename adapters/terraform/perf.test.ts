// Speed target (DESIGN.md): a 10,000-resource plan in about a second, linear
// beyond. Budgets here are loose for slow CI machines; the figures are printed.
import { describe, expect, it } from 'vitest';
import { claimsFromPlanJson, type TerraformAdapterConfig } from './claims.ts';
import { generatePlan } from './generate-plan.ts';
import { product } from './test-helpers.ts';

// Many products, most on other resource types: cost must not grow with them.
const config: TerraformAdapterConfig = {
  products: [
    product('weblogic-ee', [{ type: 'aws_instance', where: { 'tags.licence': ['weblogic-*', 'wls'] }, quantity: { instanceType: 'instance_type' } }]),
    ...Array.from({ length: 200 }, (_, i) => product(`p${i}`, [{ type: `vendor_${i}_thing`, where: { edition: 'ee' }, quantity: 1 }])),
  ],
};

/** Best of three, so a garbage collection or a busy neighbour does not decide. */
function time(text: string): { ms: number; claims: number } {
  let best = Infinity;
  let claims = 0;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    claims = claimsFromPlanJson(text, config).length;
    best = Math.min(best, performance.now() - t0);
  }
  return { ms: best, claims };
}

describe('performance', () => {
  it('10,000 resource changes in well under a second; 50,000 scale linearly', () => {
    const small = generatePlan(10_000);
    const large = generatePlan(50_000);
    time(small); // warm up the JIT
    const a = time(small);
    const b = time(large);
    const t0 = performance.now();
    JSON.parse(small);
    const parseMs = performance.now() - t0;
    console.log(
      `10k: ${a.ms.toFixed(0)} ms (${(small.length / 1e6).toFixed(1)} MB, JSON.parse alone ${parseMs.toFixed(0)} ms, ${a.claims} claims); 50k: ${b.ms.toFixed(0)} ms (${(large.length / 1e6).toFixed(1)} MB)`,
    );
    expect(a.claims).toBeGreaterThan(3000);
    expect(a.ms).toBeLessThan(1500);
    // Linear: 5× the changes should cost about 5×, far from the 25× of a quadratic loop.
    expect(b.ms / a.ms).toBeLessThan(12);
  }, 60_000);
  it('pretty-printed plans (line numbers looked up) stay linear too', () => {
    const pretty = JSON.stringify(JSON.parse(generatePlan(10_000)), null, 2);
    time(pretty);
    const p = time(pretty);
    console.log(`10k pretty-printed: ${p.ms.toFixed(0)} ms (${(pretty.length / 1e6).toFixed(1)} MB)`);
    expect(p.ms).toBeLessThan(2000);
  }, 60_000);
});
