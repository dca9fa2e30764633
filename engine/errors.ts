// One registry of error codes (docs/errors.md documents each). Every error a
// user can cause is an EntitlegateError: surfaces print `message` (and the
// problems, one `file:line:col message` each) and never a stack trace.

export const ERROR_CODES = {
  EG_ERR_CONFIG_INVALID: 'the config file is invalid',
  EG_ERR_USAGE_INVALID: 'a usage snapshot is invalid',
  EG_ERR_INPUT_INVALID: 'an input (manifest, plan, claims, AdmissionReview) is invalid',
  EG_ERR_INPUT_UNKNOWN: 'an input is of no kind entitlegate reads',
  EG_ERR_FILE_NOT_FOUND: 'a file could not be read',
  EG_ERR_POLICY_LOAD: 'the compiled policy could not be loaded',
  EG_ERR_POLICY_EVAL: 'the policy failed to evaluate',
  EG_ERR_OPA_MISSING: 'the OPA compiler is not installed',
  EG_ERR_USAGE: 'the command line is wrong',
  EG_ERR_TLS_INVALID: 'a TLS certificate or key file is not a usable PEM',
  EG_ERR_SIGNATURE: 'a signed request (HCP Terraform run task) has a missing or wrong signature',
  EG_ERR_UNAUTHENTICATED: 'an admission from a client that is not the kube-apiserver (serve --client-ca)',
  EG_ERR_INTERNAL: 'an unexpected internal error (a bug); the webhook fails safe',
  EG_ERR_LEDGER_UNREACHABLE: 'the ledger could not be reached, or did not answer',
  EG_ERR_LEDGER_AUTH: 'the ledger refused the token (missing, unknown, or without the role)',
  EG_ERR_LEDGER_CONFLICT: 'the ledger refused a step that no longer fits its state (stale config digest, ended reservation)',
  EG_ERR_LEDGER_NOT_FOUND: 'the ledger has no such reservation or source',
  EG_ERR_LEDGER_STORE: 'the ledger store could not be opened, migrated or used',
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

export interface Problem {
  file?: string;
  line?: number;
  col?: number;
  message: string;
}

export function formatProblem(p: Problem): string {
  if (!p.file) return p.message;
  const at = p.line ? `${p.file}:${p.line}${p.col ? `:${p.col}` : ''}` : p.file;
  return `${at} ${p.message}`;
}

export class EntitlegateError extends Error {
  readonly code: ErrorCode;
  readonly problems: Problem[];
  constructor(code: ErrorCode, message: string, problems: Problem[] = []) {
    super(message);
    this.name = 'EntitlegateError';
    this.code = code;
    this.problems = problems;
  }
  /** The whole text a person sees: the headline, then each problem. */
  describe(): string {
    // A one-problem error is often headed by that problem: print it once.
    const lines = this.problems.map(formatProblem).filter((line) => line !== this.message);
    return [this.message, ...lines.map((line) => `  ${line}`)].join('\n');
  }
}

export function inputError(problem: Problem, code: ErrorCode = 'EG_ERR_INPUT_INVALID'): EntitlegateError {
  return new EntitlegateError(code, formatProblem(problem), [problem]);
}
