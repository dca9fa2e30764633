import { describe, expect, it } from 'vitest';
import shipped from './instance-types.json' with { type: 'json' };
import { compileQuantity, InstanceTypeTable, resolveQuantity } from './quantity.ts';

describe('instance-type table', () => {
  const t = new InstanceTypeTable();
  it('knows common AWS EC2 and RDS classes', () => {
    expect(t.vcpu('t3.micro')).toBe(2);
    expect(t.vcpu('t2.micro')).toBe(1);
    expect(t.vcpu('m5.large')).toBe(2);
    expect(t.vcpu('m6i.32xlarge')).toBe(128);
    expect(t.vcpu('c5.9xlarge')).toBe(36);
    expect(t.vcpu('m6g.medium')).toBe(1);
    expect(t.vcpu('r5.metal')).toBe(96);
    expect(t.vcpu('db.r5.4xlarge')).toBe(16);
    expect(t.vcpu('db.t3.medium')).toBe(2);
    expect(t.vcpu('db.m6i.large')).toBe(2);
  });
  it('knows Azure sizes, case-insensitively, and constrained-vCPU sizes by their active cores', () => {
    expect(t.vcpu('Standard_D4s_v5')).toBe(4);
    expect(t.vcpu('standard_d4s_v5')).toBe(4);
    expect(t.vcpu('Standard_E64-16s_v5')).toBe(16);
    expect(t.vcpu('Standard_B1s')).toBe(1);
    expect(t.vcpu('Standard_F72s_v2')).toBe(72);
  });
  it('knows GCP machine types, self links and custom types', () => {
    expect(t.vcpu('n2-standard-8')).toBe(8);
    expect(t.vcpu('e2-micro')).toBe(2);
    expect(t.vcpu('c2-standard-30')).toBe(30);
    expect(t.vcpu('zones/europe-west1-b/machineTypes/n2-standard-4')).toBe(4);
    expect(t.vcpu('custom-4-16384')).toBe(4);
    expect(t.vcpu('n2-custom-8-32768-ext')).toBe(8);
  });
  it('does not guess', () => {
    expect(t.vcpu('m5.huge')).toBeUndefined();
    expect(t.vcpu('')).toBeUndefined();
  });
  it('config entries override and extend the shipped table', () => {
    const o = new InstanceTypeTable({ 'm5.large': 1, 'acme.special': 12 });
    expect(o.vcpu('m5.large')).toBe(1);
    expect(o.vcpu('acme.special')).toBe(12);
    expect(new InstanceTypeTable().vcpu('m5.large')).toBe(2);
  });
  it('the data file names its sources, one per cloud at least', () => {
    expect(new Set(shipped.sources.map((s) => s.provider))).toEqual(new Set(['aws', 'azure', 'gcp']));
    expect(shipped.sources.every((s) => s.url.startsWith('https://'))).toBe(true);
    expect(Object.values(shipped.vcpu).every((v) => Number.isInteger(v) && v > 0)).toBe(true);
  });
});

describe('resolveQuantity', () => {
  const t = new InstanceTypeTable();
  it('number, attribute, instance type, default one', () => {
    expect(resolveQuantity(compileQuantity(3), {}, {}, t)).toEqual({ quantity: 3 });
    expect(resolveQuantity(compileQuantity(undefined), {}, {}, t)).toEqual({ quantity: 1 });
    expect(
      resolveQuantity(compileQuantity({ attribute: 'cpu_options[0].core_count' }), { cpu_options: [{ core_count: 6 }] }, {}, t),
    ).toEqual({ quantity: 6 });
    expect(resolveQuantity(compileQuantity({ attribute: 'cpu_options.core_count' }), { cpu_options: [{ core_count: 6 }] }, {}, t)).toEqual({
      quantity: 6,
    });
    expect(resolveQuantity(compileQuantity({ instanceType: 'instance_type' }), { instance_type: 'm5.xlarge' }, {}, t)).toEqual({
      quantity: 4,
    });
  });
  it('unknown after apply, also inside a list block', () => {
    const q = compileQuantity({ attribute: 'cpu_options.0.core_count' });
    expect(resolveQuantity(q, { cpu_options: [{}] }, { cpu_options: [{ core_count: true }] }, t)).toMatchObject({ quantity: null });
    expect(resolveQuantity(q, {}, { cpu_options: true }, t)).toMatchObject({ quantity: null });
  });
  it('negative or non-string values are refused with a reason', () => {
    expect(resolveQuantity(compileQuantity({ attribute: 'n' }), { n: -1 }, {}, t)).toMatchObject({ quantity: null });
    expect(resolveQuantity(compileQuantity({ instanceType: 'n' }), { n: 4 }, {}, t)).toMatchObject({ quantity: null });
  });
});
