import { describe, expect, it } from 'vitest';
import { EntitlegateError } from '../../engine/errors.ts';
import { isTerraformPlan, looksLikeTerraformPlanText, parsePlan, planFromValue } from './plan.ts';

const error = (text: string, file = 'plan.json'): EntitlegateError => {
  try {
    parsePlan(text, file);
  } catch (e) {
    if (e instanceof EntitlegateError) return e;
    throw e;
  }
  throw new Error('expected an error');
};

const good = JSON.stringify({ format_version: '1.2', terraform_version: '1.5.7', planned_values: {}, resource_changes: [] }, null, 2);

describe('parsePlan errors', () => {
  it('malformed JSON: file, line and column of the mistake', () => {
    const e = error('{\n  "format_version": "1.2",\n  "resource_changes": [ }\n}');
    expect(e.code).toBe('EG_ERR_INPUT_INVALID');
    expect(e.problems[0]).toMatchObject({ file: 'plan.json', line: 3, col: 25 });
    expect(e.message).toMatch(/^plan\.json:3:25 invalid JSON: /);
  });
  it('an unexpected token V8 gives no position for still gets one', () => {
    const e = error('{\n "a": 1,\n "b": }');
    expect(e.problems[0]).toMatchObject({ line: 3, col: 7 });
    expect(e.message).toContain("Unexpected token '}'");
    expect(e.message).not.toContain('is not valid JSON');
  });
  it('truncated JSON: says so, points at the end', () => {
    const text = good.slice(0, good.length - 20);
    const e = error(text);
    expect(e.message).toMatch(/the JSON ends early \(truncated file\?\)/);
    expect(e.problems[0]?.line).toBe(text.split('\n').length);
  });
  it('empty input', () => {
    expect(error('').message).toMatch(/empty/);
  });
  it('trailing garbage', () => {
    expect(error(`${good}\n}`).problems[0]).toMatchObject({ line: good.split('\n').length + 1, col: 1 });
  });
  it('wrong format: valid JSON that is not a plan', () => {
    expect(error('{"apiVersion": "v1", "kind": "Pod"}').message).toMatch(
      /not a Terraform plan: expected the JSON of `terraform show -json PLANFILE`/,
    );
    expect(error('[1, 2]').message).toMatch(/not a Terraform plan/);
    expect(error('{"format_version": "1.0", "terraform_version": "1.5.7", "values": {}}').message).toMatch(
      /this is Terraform state, not a plan/,
    );
  });
  it('a binary plan file gets told how to convert it', () => {
    expect(error('PK\u0003\u0004\u0014\u0000binary').message).toMatch(/binary plan file.*terraform show -json/);
  });
  it('an unsupported format version', () => {
    expect(error('{"format_version": "2.0", "resource_changes": []}').message).toMatch(/unsupported plan format_version "2\.0"/);
  });
  it('broken resource changes name the entry', () => {
    expect(error('{"format_version": "1.2", "resource_changes": {}}').message).toMatch(/resource_changes must be an array/);
    const bad = {
      format_version: '1.2',
      resource_changes: [{ address: 'a.b', mode: 'managed', type: 'a', name: 'b', change: { actions: 'create' } }],
    };
    expect(error(JSON.stringify(bad)).message).toMatch(/resource_changes\[0\]: a\.b: change\.actions must be a non-empty array of strings/);
    const noType = { format_version: '1.2', resource_changes: [{ address: 'a.b', mode: 'managed', name: 'b', change: { actions: [] } }] };
    expect(error(JSON.stringify(noType)).message).toMatch(/resource_changes\[0\]: type must be a string/);
  });
});

describe('parsePlan', () => {
  it('a plan that changes nothing (no resource_changes) is fine', () => {
    const { plan } = parsePlan('{"format_version":"1.2","terraform_version":"1.5.7","planned_values":{"root_module":{}}}');
    expect(plan.resource_changes).toEqual([]);
  });
});

describe('isTerraformPlan', () => {
  it('tells plans from other JSON', () => {
    expect(isTerraformPlan(JSON.parse(good))).toBe(true);
    expect(isTerraformPlan({ format_version: '1.2', prior_state: {} })).toBe(true);
    expect(isTerraformPlan({ format_version: '1.0', values: {} })).toBe(false);
    expect(isTerraformPlan({ claims: [] })).toBe(false);
    expect(isTerraformPlan({ kind: 'AdmissionReview' })).toBe(false);
    expect(isTerraformPlan(null)).toBe(false);
    expect(isTerraformPlan([])).toBe(false);
  });
});

describe('for callers that parsed the JSON already', () => {
  it('planFromValue validates and, given the text, finds lines', () => {
    const text = JSON.stringify(
      {
        format_version: '1.2',
        planned_values: {},
        resource_changes: [{ address: 'a.b', mode: 'managed', type: 'a', name: 'b', change: { actions: ['create'] } }],
      },
      null,
      2,
    );
    expect(planFromValue(JSON.parse(text), text).lines).toEqual([6]);
    expect(planFromValue(JSON.parse(text)).lines).toEqual([]);
    expect(() => planFromValue({ kind: 'Pod' }, undefined, 'x.json')).toThrow(/x\.json:1:1 not a Terraform plan/);
  });
  it('looksLikeTerraformPlanText routes a truncated plan to the plan reader', () => {
    expect(looksLikeTerraformPlanText(good.slice(0, 60))).toBe(true);
    expect(looksLikeTerraformPlanText('{"claims": []}')).toBe(false);
    expect(looksLikeTerraformPlanText('{"format_version": "1.0", "values": {}}')).toBe(false);
  });
});
