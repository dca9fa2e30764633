// The policy input the engine prepares for a change, and the engine's own
// verdict on it, so the OPA server is given byte-for-byte what the WASM got.
import type { DecideOptions, Engine } from '../../engine/engine.ts';
import type { Claim } from '../../engine/types.ts';
import type { PolicyVerdict } from '../../engine/policy/wasm.ts';

export function policyInput(engine: Engine, claims: readonly Claim[], opts: DecideOptions): { input: object; verdict: PolicyVerdict } {
  const { input } = engine.prepare(claims, opts);
  const verdict = engine.policy.evaluate(input);
  // Through JSON, as the WASM sees it and as it goes over HTTP.
  return { input: JSON.parse(JSON.stringify(input)) as object, verdict };
}
