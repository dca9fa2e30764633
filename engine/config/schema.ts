// The config file's single source of truth: validation, TypeScript types and
// the published JSON Schema (scripts/gen-schema.ts) all come from here.
//
// zod/mini rather than classic zod: the same validator, but its functions
// tree-shake, and a short `check` process loaded classic zod in 25 ms (its
// every method is built at import) against 5 ms for what this file uses.
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { METRICS, SCOPE_DIMENSIONS } from '../types.ts';

// Mini ships without messages; the config errors users read are English.
z.config(en());

const id = z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'ids are letters, digits and . _ : -'));
const nonNegative = z.number().check(z.nonnegative());
const nonEmpty = () => z.string().check(z.minLength(1));
// YAML turns an unquoted 2026-12-31 into a string here because the loader
// parses with the core schema (no timestamps); both forms are accepted.
const date = z
  .string()
  .check(
    z.regex(
      /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/,
      'expected a date (YYYY-MM-DD) or an ISO-8601 instant',
    ),
    z.refine(realDate, 'not a real date'),
  );

// Date.parse accepts 2026-02-30 (as March 2): check the calendar day exists.
function realDate(s: string): boolean {
  const [y, m, d] = s.slice(0, 10).split('-').map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  return !Number.isNaN(Date.parse(s)) && day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

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

const terraformCondition = z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number(), z.boolean()]))]);
const terraformQuantity = z.union([nonNegative, z.strictObject({ attribute: nonEmpty() }), z.strictObject({ instanceType: nonEmpty() })]);

export const product = z.strictObject({
  id,
  vendor: z.optional(nonEmpty()),
  name: z.optional(nonEmpty()),
  edition: z.optional(z.string()),
  metric: z.enum(METRICS),
  match: z.optional(
    z.strictObject({
      kubernetes: z.optional(
        z.strictObject({
          images: z.optional(z.array(nonEmpty())),
          labels: z.optional(z.record(z.string(), z.string())),
          /** Containers named here count; default: the containers whose image matches, or all when matched by label/annotation. */
          containers: z.optional(z.array(z.string())),
        }),
      ),
      terraform: z.optional(
        z.array(
          z.strictObject({
            type: nonEmpty(),
            where: z.optional(z.record(z.string(), terraformCondition)),
            quantity: z.optional(terraformQuantity),
          }),
        ),
      ),
    }),
  ),
});

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

/** Settings of the Kubernetes adapter and webhook; licence-free. */
export const kubernetesSettings = z.strictObject({
  /** Namespace label that names the environment. */
  environmentLabel: z._default(z.string(), 'entitlegate.io/environment'),
  /** Namespace → environment, for namespaces without the label. */
  environments: z._default(z.record(z.string(), z.string()), {}),
  /** Cluster name put into claims when the caller does not give one. */
  cluster: z.optional(z.string()),
  /** Pods a DaemonSet runs when no inventory knows the node count. */
  daemonSetNodes: z.optional(z.int().check(z.nonnegative())),
  exemptNamespaces: z._default(z.array(z.string()), ['kube-system']),
  /** Namespaces where an evaluation error admits instead of denying. */
  failOpenNamespaces: z._default(z.array(z.string()), []),
  /** How long an admitted object's reservation lives if no informer sees it. */
  reservationTTLSeconds: z._default(z.int().check(z.positive()), 120),
  /** Reservations shared by every webhook replica, kept in one coordination.k8s.io/v1 Lease per product in this namespace. */
  sharedReservations: z.optional(
    z.strictObject({
      namespace: z.string().check(z.regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a Kubernetes namespace name')),
      /** Reads and conditional writes of one Lease before the admission fails safe. */
      maxAttempts: z._default(z.int().check(z.positive(), z.lte(50)), 8),
    }),
  ),
});

export const terraformSettings = z.strictObject({
  /** Extra or overriding instance type → vCPU entries. */
  instanceTypes: z._default(z.record(z.string(), z.int().check(z.positive())), {}),
  /**
   * HMAC key of the HCP Terraform run task, or the name of an env variable holding it (`env:NAME`).
   * Without it, `POST /terraform/run-task` is not served. Read on each request, so a reload rotates it.
   */
  runTaskHmacKey: z.optional(z.string()),
  /** Scope every run task plan is checked in (like a claim's scope); wins over the regions the plan gives. Read on each request. */
  runTaskScope: z.optional(claimScope),
  /**
   * Hosts (`app.terraform.io`, `tfe.example.com`, or `host:port`) the run task may fetch plans from and send
   * results to. Default: any, but the plan URL and the callback URL must share one host.
   */
  runTaskHosts: z.optional(z.array(nonEmpty()).check(z.minLength(1))),
});

/** The ledger the gates decide with (docs/ledger.md); `--ledger URL` on the command line wins. */
export const ledgerSettings = z.strictObject({
  url: z.string().check(z.regex(/^https?:\/\/\S+$/, "expected the ledger's http:// or https:// URL")),
  /** File holding the bearer token, relative to this file; without it, $ENTITLEGATE_TOKEN. */
  tokenFile: z.optional(nonEmpty()),
});

export const config = z.strictObject({
  $schema: z.optional(z.string()),
  version: z.literal(1),
  defaults: z._default(defaults, () => z.parse(defaults, {})),
  policy: z.optional(nonEmpty()).check(z.describe('Compiled policy (.wasm) with custom rules, relative to this file')),
  products: z._default(z.array(product), []),
  entitlements: z._default(z.array(entitlement), []),
  exceptions: z._default(z.array(exception), []),
  kubernetes: z._default(kubernetesSettings, () => z.parse(kubernetesSettings, {})),
  terraform: z._default(terraformSettings, () => z.parse(terraformSettings, {})),
  ledger: z.optional(ledgerSettings),
});

export type Config = z.output<typeof config>;
export type Product = Config['products'][number];
export type Entitlement = Config['entitlements'][number];
export type ExceptionGrant = Config['exceptions'][number];
export type Defaults = Config['defaults'];
export type KubernetesSettings = Config['kubernetes'];
export type TerraformSettings = Config['terraform'];
export type KubernetesMatch = NonNullable<NonNullable<Product['match']>['kubernetes']>;
export type TerraformMatch = NonNullable<NonNullable<Product['match']>['terraform']>[number];

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
    }),
  ),
});
