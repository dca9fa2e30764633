// The licence part of the config file (defaults, products, entitlements,
// exceptions), usage snapshots and claims files: validation, TypeScript types
// and, through config/schema.ts, the published JSON Schema
// (scripts/gen-schema.ts) all come from here.
//
// zod/mini rather than classic zod: the same validator, but its functions
// tree-shake, and a short `check` process loaded classic zod in 25 ms (its
// every method is built at import) against 5 ms for what this file uses.
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { DATE_OR_INSTANT, isCalendarDate } from '../time.ts';
import { METRICS, SCOPE_DIMENSIONS } from '../types.ts';

// Mini ships without messages; the config errors users read are English.
z.config(en());

export const id = z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'ids are letters, digits and . _ : -'));
export const nonNegative = z.number().check(z.nonnegative());
export const nonEmpty = () => z.string().check(z.minLength(1));
// YAML turns an unquoted 2026-12-31 into a string here because the loader
// parses with the core schema (no timestamps); both forms are accepted.
const date = z
  .string()
  .check(z.regex(DATE_OR_INSTANT, 'expected a date (YYYY-MM-DD) or an ISO-8601 instant'), z.refine(isCalendarDate, 'not a real date'));

const scopeValues = z.union([z.string(), z.array(z.string()).check(z.minLength(1))]);
export const entitlementScope = z.strictObject(
  Object.fromEntries(SCOPE_DIMENSIONS.map((d) => [d, z.optional(scopeValues)])) as Record<
    (typeof SCOPE_DIMENSIONS)[number],
    z.ZodMiniOptional<typeof scopeValues>
  >,
);
export const claimScope = z.strictObject(
  Object.fromEntries(SCOPE_DIMENSIONS.map((d) => [d, z.optional(z.string())])) as Record<
    (typeof SCOPE_DIMENSIONS)[number],
    z.ZodMiniOptional<z.ZodMiniString>
  >,
);

/**
 * A product's own fields. `match` (how a deployed thing is recognised) is an
 * extension point: each adapter defines its part in its own settings module,
 * and config/schema.ts composes them; the engine never reads it.
 */
export function productWith<M extends z.ZodMiniType>(match: M) {
  return z.strictObject({
    id,
    vendor: z.optional(nonEmpty()),
    name: z.optional(nonEmpty()),
    edition: z.optional(z.string()),
    metric: z.enum(METRICS),
    match: z.optional(match),
  });
}

export const entitlement = z.strictObject({
  id,
  product: id,
  model: z.enum(['perpetual', 'subscription', 'usage']),
  quantity: nonNegative,
  validFrom: z.optional(date),
  validUntil: z.optional(date),
  graceDays: z._default(z.int().check(z.nonnegative()), 0),
  scope: z.optional(entitlementScope),
  owner: z.optional(nonEmpty()),
  contract: z.optional(
    z.strictObject({
      ref: z.optional(z.string()),
      unitCost: z.optional(nonNegative),
      currency: z.optional(z.string().check(z.regex(/^[A-Z]{3}$/, 'a three-letter ISO 4217 code'))),
    }),
  ),
});

export const exception = z.strictObject({
  id,
  product: id,
  quantity: nonNegative,
  from: z.optional(date),
  until: date,
  scope: z.optional(entitlementScope),
  reason: nonEmpty(),
  requestedBy: nonEmpty(),
  approvedBy: nonEmpty(),
});

export const defaults = z.strictObject({
  warnAt: z._default(z.number().check(z.gt(0), z.lte(1)), 0.8),
  expiryWarningDays: z._default(z.int().check(z.nonnegative()), 30),
  unlicensed: z._default(z.enum(['deny', 'warn']), 'deny'),
  unknownQuantity: z._default(z.enum(['deny', 'warn']), 'deny'),
  peak: z._default(z.enum(['deny', 'warn']), 'warn'),
  mode: z._default(z.enum(['enforce', 'warn']), 'enforce'),
});

/**
 * The licence part of the config file, in the file's key order: what the
 * engine decides from. config/schema.ts adds the file's header and the
 * adapters' and surfaces' settings around it.
 */
export function licenceFields<P extends z.ZodMiniType>(product: P) {
  return {
    defaults: z._default(defaults, () => z.parse(defaults, {})),
    policy: z.optional(nonEmpty()).check(z.describe('Compiled policy (.wasm) with custom rules, relative to this file')),
    products: z._default(z.array(product), []),
    entitlements: z._default(z.array(entitlement), []),
    exceptions: z._default(z.array(exception), []),
  };
}

const licence = z.strictObject(licenceFields(productWith(z.unknown())));

/** What the engine reads of a config: any config whose licence part has this shape. */
export type LicenceConfig = z.output<typeof licence>;
/** A product as the engine sees it; adapters narrow `match` to their part of it. */
export type Product = LicenceConfig['products'][number];
export type Entitlement = LicenceConfig['entitlements'][number];
export type ExceptionGrant = LicenceConfig['exceptions'][number];
export type Defaults = LicenceConfig['defaults'];

export const usageSnapshot = z.strictObject({
  version: z.literal(1),
  source: nonEmpty(),
  observedAt: date,
  usage: z.array(z.strictObject({ product: id, quantity: nonNegative, scope: z._default(claimScope, {}) })),
});

export const claimsFile = z.strictObject({
  claims: z.array(
    z.strictObject({
      product: id,
      /** As a decision's claims carry it, so they can be fed back; must be the product's. */
      metric: z.optional(z.enum(METRICS)),
      quantity: z.nullable(z.number()),
      peak: z.optional(z.number()),
      scope: z._default(claimScope, {}),
      resource: z.optional(
        z.strictObject({
          kind: nonEmpty(),
          name: nonEmpty(),
          namespace: z.optional(z.string()),
          address: z.optional(z.string()),
          file: z.optional(z.string()),
          line: z.optional(z.int().check(z.positive())),
        }),
      ),
      unknownReason: z.optional(z.string()),
      remedy: z.optional(z.string()),
    }),
  ),
});
