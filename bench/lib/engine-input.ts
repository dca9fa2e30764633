// The policy input the engine builds inside decide(). The engine exposes no
// function that returns it, so this wraps the engine's own CompiledPolicy
// instance and records what decide() passes to evaluate(): the OPA server
// then gets byte-for-byte the input the WASM got.
import type { DecideOptions, Engine } from '../../engine/engine.ts';
import type { Claim } from '../../engine/types.ts';
import type { PolicyVerdict } from '../../engine/policy/wasm.ts';

export function policyInput(engine: Engine, claims: readonly Claim[], opts: DecideOptions): { input: object; verdict: PolicyVerdict } {
  const policy = engine.policy as { evaluate(input: object): PolicyVerdict };
  const original = policy.evaluate;
  let input: object | undefined;
  let verdict: PolicyVerdict | undefined;
  policy.evaluate = function (this: unknown, i: object) {
    input = i;
    verdict = original.call(this, i);
    return verdict;
  };
  try {
    engine.decide(claims, opts);
  } finally {
    delete (policy as { evaluate?: unknown }).evaluate; // back to the prototype's method
  }
  if (!input || !verdict) throw new Error('engine.decide did not evaluate the policy');
  // Through JSON, as the WASM sees it and as it goes over HTTP.
  return { input: JSON.parse(JSON.stringify(input)) as object, verdict };
}
