// The ledger's governance settings in the config's `ledger:` section: the
// exceptions workflow (exceptions:), GitHub Actions OIDC (oidc:) and the
// decision log (audit:)
// (docs/ledger.md). config/schema.ts composes these fields into `ledger:` beside ledger/settings.ts's.
import * as z from 'zod/mini';
import { id, nonEmpty, nonNegative } from '../engine/config/schema.ts';

/** The ledger's roles (docs/ledger.md); defined here so that a settings module imports nothing of the ledger's own. */
export const ROLES = ['gate', 'reporter', 'viewer', 'finance', 'procurement', 'auditor', 'approver', 'admin'] as const;

/** A source name (as `PUT /v1/sources/{name}/usage` takes one), or a glob of them where `*` is any run of characters. */
const SOURCE_PATTERN = /^[A-Za-z0-9*][A-Za-z0-9._:/*-]{0,199}$/;

export const isSourcePattern = (s: string): boolean => SOURCE_PATTERN.test(s);

export const sourcePattern = z
  .string()
  .check(z.regex(SOURCE_PATTERN, 'a source name or glob: letters, digits and . _ : / - *, such as cluster:prod-* (at most 200)'));

export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';

export const exceptionSettings = z.strictObject({
  /** The furthest `until` may lie ahead of the request, in days. */
  maxDays: z._default(z.int().check(z.positive()), 90),
  /** Quantities above this need two distinct approvers; without it, one always suffices. */
  twoApproversAbove: z.optional(nonNegative),
  /** `owners`: only an identity named as an owner of one of the product's entitlements may approve; `any`: any approver. */
  approvers: z._default(z.enum(['any', 'owners']), 'any'),
});

/** Claims of a GitHub Actions OIDC token a rule can match; a value is exact, or a glob where `*` is any run of characters. */
export const OIDC_CLAIMS = [
  'repository',
  'repository_owner',
  'ref',
  'environment',
  'job_workflow_ref',
  'workflow_ref',
  'event_name',
] as const;

const oidcRule = z.strictObject({
  // Every repository on GitHub gets tokens from the same issuer, and a workflow
  // may ask for any audience: a rule that does not pin the repository (or its
  // owner, or the reusable workflow) would let any of them in.
  match: z
    .strictObject(
      Object.fromEntries(OIDC_CLAIMS.map((c) => [c, z.optional(nonEmpty())])) as Record<
        (typeof OIDC_CLAIMS)[number],
        z.ZodMiniOptional<z.ZodMiniString>
      >,
    )
    .check(
      z.refine(
        (m) => [m.repository, m.repository_owner, m.job_workflow_ref].some((v) => v !== undefined && !/^\*+$/.test(v)),
        'a rule must name repository, repository_owner or job_workflow_ref (not just *): every GitHub repository can get a token from this issuer',
      ),
    ),
  roles: z.array(z.enum(ROLES)).check(z.minLength(1)),
  /** Limits the identity to these products (decide, reserve, report, request, approve). */
  products: z.optional(z.array(id).check(z.minLength(1))),
  /** Limits the identity to reporting usage as these sources (names or globs: `terraform:acme/*`). */
  sources: z.optional(z.array(sourcePattern).check(z.minLength(1))),
});

export const oidcSettings = z.strictObject({
  issuer: z._default(z.string().check(z.regex(/^https?:\/\/\S+$/, "expected the issuer's URL")), GITHUB_ISSUER),
  /** The audience a workflow asks its token for (`core.getIDToken(audience)`); the ledger refuses any other. */
  audience: nonEmpty(),
  /** Where the issuer's keys are; without it, `{issuer}/.well-known/jwks`. */
  jwksUri: z.optional(z.string().check(z.regex(/^https?:\/\/\S+$/, "expected the JWKS document's URL"))),
  /** Every rule whose match holds adds its roles; a token no rule matches is refused. */
  rules: z.array(oidcRule).check(z.minLength(1)),
});

const RETAIN_DAYS = 'must be a whole number of days, at least 1';

export const auditSettings = z.strictObject({
  /** Records older than this many days are pruned at a signed checkpoint (`ledger serve --retain-days` overrides it). */
  retainDays: z.optional(z.int({ error: RETAIN_DAYS }).check(z.positive({ error: RETAIN_DAYS }))),
});

export const governanceSettingsFields = {
  exceptions: z.optional(exceptionSettings),
  oidc: z.optional(oidcSettings),
  audit: z.optional(auditSettings),
};

export type ExceptionSettings = z.output<typeof exceptionSettings>;
export type OidcSettings = z.output<typeof oidcSettings>;
export type AuditSettings = z.output<typeof auditSettings>;
export type OidcRule = OidcSettings['rules'][number];

export const DEFAULT_EXCEPTION_SETTINGS: ExceptionSettings = z.parse(exceptionSettings, {});
