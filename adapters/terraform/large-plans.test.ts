// Large plans: the adapter reads them whole and right. How fast is for the
// benchmarks (bench/sections/terraform.ts: 1k, 10k and 50k changes beside
// conftest and a bare JSON.parse), not for a test with a clock.
import { describe, expect, it } from 'vitest';
import { claimsFromPlanJson, type TerraformAdapterConfig } from './claims.ts';
import { generatePlan } from './generate-plan.ts';
import { product } from './test-helpers.ts';

// Many products, most on other resource types, as in the benchmark.
const config: TerraformAdapterConfig = {
  products: [
    product('weblogic-ee', [
      { type: 'aws_instance', where: { 'tags.licence': ['weblogic-*', 'wls'] }, quantity: { instanceType: 'instance_type' } },
    ]),
    ...Array.from({ length: 200 }, (_, i) => product(`p${i}`, [{ type: `vendor_${i}_thing`, where: { edition: 'ee' }, quantity: 1 }])),
  ],
};

describe('large plans', () => {
  it('10,000 resource changes give a claim for each licensed change, with its address', () => {
    const claims = claimsFromPlanJson(generatePlan(10_000), config);
    // a third of the generated instances carry the weblogic licence tag
    expect(claims.length).toBeGreaterThan(3000);
    expect(claims.every((c) => c.product === 'weblogic-ee' && c.resource?.address?.includes('aws_instance.node['))).toBe(true);
    expect(new Set(claims.map((c) => c.resource!.address)).size).toBe(claims.length);
  });

  it('a pretty-printed 10,000-change plan gives each claim the line of its resource change', () => {
    const claims = claimsFromPlanJson(JSON.stringify(JSON.parse(generatePlan(10_000)), null, 2), config);
    const lines = claims.map((c) => c.resource!.line!);
    expect(lines.every((l) => Number.isInteger(l) && l > 0)).toBe(true);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
  });
});
