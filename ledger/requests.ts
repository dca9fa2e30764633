// The bodies the API takes, validated as a whole with every problem listed
// (`request:line:col message`), as the CLI does for files.
import * as z from 'zod/mini';
import { isTerraformState, usageFromState } from '../adapters/terraform/state.ts';
import type { Config } from '../config/schema.ts';
import { claimScope, claimsFile } from '../engine/config/schema.ts';
import { EntitlegateError, type Problem } from '../engine/errors.ts';
import { parseSource, problemAt, sortProblems, validate, type SourceDoc } from '../engine/source.ts';
import type { Claim, Mode, Scope } from '../engine/types.ts';
import { sourcedId } from '../ledger-client/client.ts';
import type { SourceUsageRecord } from './store/types.ts';

const MAX_TTL_MS = 7 * 24 * 3600_000;
/** A client's name for its reservation, as an Idempotency-Key (the run task: `run-task:<run id>`). */
export const RESERVATION_KEY = /^[A-Za-z0-9._:/@-]{1,200}$/;
export const DEFAULT_TTL_MS = 30 * 60_000;

const instant = z
  .string()
  .check(z.refine((s) => /^\d{4}-\d{2}-\d{2}(T|$)/.test(s) && !Number.isNaN(Date.parse(s)), 'expected an ISO-8601 instant'));

export const decisionRequest = z.strictObject({
  claims: claimsFile.shape.claims,
  scope: z.optional(claimScope),
  mode: z.optional(z.enum(['enforce', 'warn'])),
  reserve: z.optional(z.boolean()),
  ttl: z.optional(z.union([z.string(), z.number()])),
  configDigest: z.optional(z.string()),
  reservationKey: z.optional(z.string().check(z.regex(RESERVATION_KEY, 'expected 1 to 200 characters: letters, digits and . _ : / - @'))),
});

export const usageReport = z.strictObject({
  version: z.literal(1),
  source: z.optional(z.string()),
  observedAt: instant,
  usage: z.array(
    z.strictObject({
      product: z.string(),
      quantity: z.number().check(z.nonnegative()),
      scope: z._default(claimScope, {}),
      resource: z.optional(z.string().check(z.minLength(1))),
    }),
  ),
});

export interface DecisionRequest {
  claims: Claim[];
  mode?: Mode;
  reserve: boolean;
  ttlMs: number;
  configDigest?: string;
  /** With reserve: while a reservation made under this key holds, it is returned instead of a second one. */
  reservationKey?: string;
}

export interface UsageBody {
  observedAt: string;
  origin?: string;
  usage: SourceUsageRecord[];
}

function invalid(what: string, problems: Problem[]): EntitlegateError {
  const sorted = sortProblems(problems);
  return new EntitlegateError('EG_ERR_INPUT_INVALID', `the ${what} has ${sorted.length} problem${sorted.length === 1 ? '' : 's'}`, sorted);
}

function unknownProducts(src: SourceDoc, key: string, products: ReadonlySet<string>, problems: Problem[]): void {
  const list = (src.doc.toJS({ maxAliasCount: 100 }) as Record<string, unknown> | null)?.[key];
  if (!Array.isArray(list)) return;
  list.forEach((e, i) => {
    const product = (e as { product?: unknown } | null)?.product;
    if (typeof product === 'string' && !products.has(product))
      problems.push(problemAt(src, [key, i, 'product'], `unknown product "${product}"; the ledger's config does not declare it`));
  });
}

function source(text: string, what: string): SourceDoc {
  return parseSource('request', text, 'EG_ERR_INPUT_INVALID', `the ${what}`);
}

/** `30m`, `2h`, `90s`, `1d`, or seconds as a number. */
export function parseDuration(value: string | number): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? value * 1000 : null;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
  if (!m) return null;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  const ms = Number(m[1]) * unit;
  return ms > 0 ? ms : null;
}

type DecisionValue = z.output<typeof decisionRequest>;

/** Problems the schema cannot see, by path; `ttlMs` when the ttl is good. */
function decisionProblems(
  value: DecisionValue,
  products: ReadonlySet<string>,
): { problems: { path: (string | number)[]; message: string }[]; ttlMs: number } {
  const problems: { path: (string | number)[]; message: string }[] = [];
  let ttlMs = DEFAULT_TTL_MS;
  value.claims.forEach((c, i) => {
    if (!products.has(c.product))
      problems.push({ path: ['claims', i, 'product'], message: `unknown product "${c.product}"; the ledger's config does not declare it` });
    if (c.peak !== undefined && c.quantity !== null && c.peak < c.quantity)
      problems.push({ path: ['claims', i, 'peak'], message: `peak ${c.peak} is below quantity ${c.quantity}` });
  });
  if (value.reservationKey !== undefined && value.reserve !== true)
    problems.push({ path: ['reservationKey'], message: 'reservationKey names a reservation: it goes with "reserve": true' });
  if (value.ttl !== undefined) {
    const ms = parseDuration(value.ttl);
    if (ms === null || ms > MAX_TTL_MS)
      problems.push({
        path: ['ttl'],
        message: `ttl must be a duration such as 30m, 2h or 1d (at most 7d), not ${JSON.stringify(value.ttl)}`,
      });
    else ttlMs = ms;
  }
  return { problems, ttlMs };
}

function decisionFrom(value: DecisionValue, ttlMs: number): DecisionRequest {
  const scope: Scope = value.scope ?? {};
  const claims = value.claims.map((c) => {
    const claim: Claim = { product: c.product, quantity: c.quantity, scope: { ...c.scope, ...scope } };
    if (c.peak !== undefined) claim.peak = c.peak;
    if (c.resource) claim.resource = c.resource;
    if (c.unknownReason) claim.unknownReason = c.unknownReason;
    return claim;
  });
  const req: DecisionRequest = { claims, reserve: value.reserve ?? false, ttlMs };
  if (value.mode) req.mode = value.mode;
  if (value.configDigest) req.configDigest = value.configDigest;
  if (value.reservationKey) req.reservationKey = value.reservationKey;
  return req;
}

export function parseDecisionRequest(text: string, products: ReadonlySet<string>): DecisionRequest {
  // A good JSON body takes the short way: the YAML parser that gives problems
  // their line and column cost ~0.6 ms a request, more than the decision. Any
  // problem, and the body is read again the long way to say where it is.
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {}
  if (json !== undefined) {
    const quick = decisionRequest.safeParse(json);
    if (quick.success) {
      const { problems, ttlMs } = decisionProblems(quick.data, products);
      if (problems.length === 0) return decisionFrom(quick.data, ttlMs);
    }
  }
  const src = source(text, 'decision request');
  const { value, problems } = validate(src, decisionRequest);
  // Read from the raw document, so an unknown product is reported with the schema's problems, not one round later.
  unknownProducts(src, 'claims', products, problems);
  let ttlMs = DEFAULT_TTL_MS;
  if (value) {
    const more = decisionProblems(value, products);
    ttlMs = more.ttlMs;
    for (const p of more.problems)
      if (!(p.path[0] === 'claims' && p.path[2] === 'product')) problems.push(problemAt(src, p.path, p.message));
  }
  if (!value || problems.length) throw invalid('decision request', problems);
  return decisionFrom(value, ttlMs);
}

/**
 * A usage report, or Terraform state JSON (`terraform show -json`), read by the
 * Terraform adapter into records identified by address; a state carries no
 * time of its own, so it is observed when the ledger receives it.
 *
 * A state knows its resources' regions only, so `scope` (the environment,
 * account… the workspace deploys to) is given with it and wins over what the
 * state says, as check's flags do over a plan; a usage report scopes each
 * record itself and takes none. A state's addresses are the same in every
 * workspace of one layout, so its records are identified as
 * `SOURCE/ADDRESS` (`terraform:prod/aws_instance.db`), as the webhook's are
 * `cluster:NAME/Kind/ns/name`: two workspaces are two sets of resources, and
 * a plan checked with `--source SOURCE` claims the same ids.
 */
export function parseUsageBody(text: string, config: Config, now: Date, scope: Scope = {}, source?: string): UsageBody {
  let json: unknown;
  if (/^\s*\{/.test(text)) {
    try {
      json = JSON.parse(text);
    } catch {}
  }
  if (isTerraformState(json)) {
    const usage = usageFromState(json, config, 'request').map((r) => ({
      ...r,
      scope: { ...r.scope, ...scope },
      resource: source === undefined ? r.resource : sourcedId(source, r.resource),
    }));
    return { observedAt: now.toISOString(), usage };
  }
  if (Object.keys(scope).length)
    throw new EntitlegateError(
      'EG_ERR_INPUT_INVALID',
      `scope parameters (${Object.keys(scope).join(', ')}) go with a Terraform state; a usage report gives each record its own scope`,
    );
  return parseUsageReport(text, new Set(config.products.map((p) => p.id)));
}

export function parseUsageReport(text: string, products: ReadonlySet<string>): UsageBody {
  const src = source(text, 'usage report');
  const { value, problems } = validate(src, usageReport);
  unknownProducts(src, 'usage', products, problems);
  if (!value || problems.length) throw invalid('usage report', problems);
  const body: UsageBody = {
    observedAt: value.observedAt,
    usage: value.usage.map((r) => {
      const rec: SourceUsageRecord = { product: r.product, quantity: r.quantity, scope: r.scope };
      if (r.resource) rec.resource = r.resource;
      return rec;
    }),
  };
  if (value.source) body.origin = value.source;
  return body;
}
