// The engine evaluates the compiled policy through opa-wasm's internals
// (loadPolicySync off the CJS export, the instance's opa_eval and opa_malloc,
// the LoadedPolicy's mem, dataAddr and dataHeapPtr: see wasm.ts). They are not
// a public API, so the package is pinned exactly, and this test fails when an
// upgrade, or a policy built by another OPA, moves any of them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as opaWasm from '@open-policy-agent/opa-wasm';
import { describe, expect, it } from 'vitest';
import { NOW, engineFor, entitlement, oracle, usage } from '../../test/fixtures.ts';
import { policyData } from '../books.ts';
import { ENTRYPOINT, builtinPolicyPath, packageRoot } from './wasm.ts';

const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
// a direct dependency, so npm installs it at the top of node_modules (its exports map hides package.json from require)
const installed = (
  JSON.parse(readFileSync(join(packageRoot(), 'node_modules/@open-policy-agent/opa-wasm/package.json'), 'utf8')) as { version: string }
).version;
const { loadPolicySync } = (opaWasm as unknown as { default: typeof opaWasm }).default;

describe('the opa-wasm internals the engine relies on', () => {
  it('the package is pinned to one exact version, and that version is the one installed', () => {
    const pin = pkg.dependencies['@open-policy-agent/opa-wasm'];
    expect(pin).toMatch(/^\d+\.\d+\.\d+$/);
    expect(installed).toBe(pin);
  });

  it('loadPolicySync is on the CommonJS export, and the loaded policy has the fields and exports the engine uses', () => {
    expect(typeof loadPolicySync).toBe('function');
    const policy = loadPolicySync(readFileSync(builtinPolicyPath()));
    expect(policy.mem).toBeInstanceOf(WebAssembly.Memory);
    expect(Number.isInteger(policy.dataAddr)).toBe(true);
    expect(Number.isInteger(policy.dataHeapPtr)).toBe(true);
    expect(policy.dataHeapPtr).toBeGreaterThanOrEqual(policy.dataAddr);
    expect(Object.hasOwn(policy.entrypoints, ENTRYPOINT)).toBe(true);
    const exports = (policy.wasmInstance as WebAssembly.Instance).exports;
    // opa_eval(reserved, entrypoint, data, input, inputLen, heapPtr, format): the ABI 1.2 signature
    expect(typeof exports.opa_eval).toBe('function');
    expect((exports.opa_eval as (...a: number[]) => number).length).toBe(7);
    expect(typeof exports.opa_malloc).toBe('function');
    expect((exports.opa_malloc as (n: number) => number).length).toBe(1);
  });

  it('the committed policy is built for ABI 1.2 or later, as opa-wasm reads it', () => {
    const policy = loadPolicySync(readFileSync(builtinPolicyPath()));
    const exports = (policy.wasmInstance as WebAssembly.Instance).exports;
    const major = (exports.opa_wasm_abi_version as WebAssembly.Global).value as number;
    const minor = (exports.opa_wasm_abi_minor_version as WebAssembly.Global).value as number;
    expect(major).toBe(1);
    expect(minor).toBeGreaterThanOrEqual(2);
    expect(Number(policy.minorVersion)).toBe(minor);
  });

  it("the engine's direct opa_eval gives what opa-wasm's own evaluate gives, on a real decision's input", async () => {
    const engine = await engineFor({ products: [oracle], entitlements: [entitlement('ORA-1', 16)] }, [
      usage([{ product: 'ora', quantity: 12, scope: { environment: 'prod' } }]),
    ]);
    const claims = [{ product: 'ora', quantity: 8, scope: { environment: 'prod' } }];
    const { input } = engine.prepare(claims, { now: NOW });

    const reference = loadPolicySync(readFileSync(builtinPolicyPath()));
    reference.setData(policyData(engine.config));
    const expected = (reference.evaluate(input, ENTRYPOINT) as { result: unknown }[])[0]!.result;
    const direct = engine.policy.evaluate(input);
    expect(direct).toEqual(expected);
    expect(direct.violations.map((v) => v.code)).toEqual(['OVER_ENTITLEMENT']);
  });
});
