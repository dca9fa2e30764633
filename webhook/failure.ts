// What a fail-closed answer says. An admission denied, or a run task failed,
// because the change could not be evaluated must say what failed in words the
// person reading kubectl's error or the run's result can act on — never
// "undefined" or "Maximum call stack size exceeded" from deep inside.
import { EntitlegateError } from '../engine/errors.ts';

/** The step an evaluation failed in, named in the message. */
export type FailedStep =
  | 'reading the object'
  | 'reading the cluster inventory'
  | 'evaluating the policy'
  | 'deciding with the shared reservations'
  | 'deciding at the ledger'
  | 'reading the plan';

/** Runs one step; anything but an EntitlegateError it throws comes out as one that names the step. */
export function inStep<T>(step: FailedStep, run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof EntitlegateError) throw err;
    throw new EntitlegateError(stackExhausted(err) ? 'EG_ERR_INPUT_INVALID' : 'EG_ERR_INTERNAL', failureText(err, step));
  }
}

function stackExhausted(err: unknown): boolean {
  return err instanceof RangeError && /call stack/i.test(err.message);
}

/**
 * The reason, in one or more lines: an EntitlegateError's own words (with its
 * problems when `problems`), else what went wrong and at which step.
 */
export function failureText(err: unknown, step?: FailedStep, problems = true): string {
  if (err instanceof EntitlegateError) return problems ? err.describe() : err.message;
  const at = step ? ` while ${step}` : '';
  if (stackExhausted(err)) {
    return `the input is nested too deeply to read${at} (it ran out of stack); a Kubernetes object or Terraform plan nests a few dozen levels, so this one is malformed or built to break the gate`;
  }
  const message = err instanceof Error ? err.message : typeof err === 'string' ? err : undefined;
  const what = message && message !== 'undefined' ? message : `${err instanceof Error ? err.name : typeof err} with no message`;
  return `an unexpected error${at} (EG_ERR_INTERNAL, a bug in entitlegate; the server log has the details, please report it): ${what}`;
}
