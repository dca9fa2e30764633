// The config file's single source of truth: validation, TypeScript types and
// the published JSON Schema (scripts/gen-schema.ts) all come from here.
import { z } from 'zod';
import { METRICS, SCOPE_DIMENSIONS } from '../types.ts';

const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'ids are letters, digits and . _ : -');
const nonNegative = z.number().finite().nonnegative();
// YAML turns an unquoted 2026-12-31 into a string here because the loader
// parses with the core schema (no timestamps); both forms are accepted.
const date = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/, 'expected a date (YYYY-MM-DD) or an ISO-8601 instant')
  .refine(realDate, 'not a real date');

// Date.parse accepts 2026-02-30 (as March 2): check the calendar day exists.
function realDate(s: string): boolean {
  const [y, m, d] = s.slice(0, 10).split('-').map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  return !Number.isNaN(Date.parse(s)) && day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

const scopeValues = z.union([z.string(), z.array(z.string()).min(1)]);
export const entitlementScope = z.strictObject(
  Object.fromEntries(SCOPE_DIMENSIONS.map((d) => [d, scopeValues.optional()])) as Record<
    (typeof SCOPE_DIMENSIONS)[number],
    z.ZodOptional<typeof scopeValues>
  >,
);
export const claimScope = z.strictObject(
  Object.fromEntries(SCOPE_DIMENSIONS.map((d) => [d, z.string().optional()])) as Record<
    (typeof SCOPE_DIMENSIONS)[number],
    z.ZodOptional<z.ZodString>
  >,
);

const terraformCondition = z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number(), z.boolean()]))]);
const terraformQuantity = z.union([
  nonNegative,
  z.strictObject({ attribute: z.string().min(1) }),
  z.strictObject({ instanceType: z.string().min(1) }),
]);

export const product = z.strictObject({
  id,
  vendor: z.string().min(1).optional(),
  name: z.string().min(1).optional(),
  edition: z.string().optional(),
  metric: z.enum(METRICS),
  match: z
    .strictObject({
      kubernetes: z
        .strictObject({
          images: z.array(z.string().min(1)).optional(),
          labels: z.record(z.string(), z.string()).optional(),
          /** Containers named here count; default: the containers whose image matches, or all when matched by label/annotation. */
          containers: z.array(z.string()).optional(),
        })
        .optional(),
      terraform: z
        .array(
          z.strictObject({
            type: z.string().min(1),
            where: z.record(z.string(), terraformCondition).optional(),
            quantity: terraformQuantity.optional(),
          }),
        )
        .optional(),
    })
    .optional(),
});

export const entitlement = z.strictObject({
  id,
  product: id,
  model: z.enum(['perpetual', 'subscription', 'usage']),
  quantity: nonNegative,
  validFrom: date.optional(),
  validUntil: date.optional(),
  graceDays: z.number().int().nonnegative().default(0),
  scope: entitlementScope.optional(),
  owner: z.string().min(1).optional(),
  contract: z
    .strictObject({
      ref: z.string().optional(),
      unitCost: nonNegative.optional(),
      currency: z.string().regex(/^[A-Z]{3}$/, 'a three-letter ISO 4217 code').optional(),
    })
    .optional(),
});

export const exception = z.strictObject({
  id,
  product: id,
  quantity: nonNegative,
  from: date.optional(),
  until: date,
  scope: entitlementScope.optional(),
  reason: z.string().min(1),
  requestedBy: z.string().min(1),
  approvedBy: z.string().min(1),
});

export const defaults = z.strictObject({
  warnAt: z.number().gt(0).lte(1).default(0.8),
  expiryWarningDays: z.number().int().nonnegative().default(30),
  unlicensed: z.enum(['deny', 'warn']).default('deny'),
  unknownQuantity: z.enum(['deny', 'warn']).default('deny'),
  peak: z.enum(['deny', 'warn']).default('warn'),
  mode: z.enum(['enforce', 'warn']).default('enforce'),
});

/** Settings of the Kubernetes adapter and webhook; licence-free. */
export const kubernetesSettings = z.strictObject({
  /** Namespace label that names the environment. */
  environmentLabel: z.string().default('entitlegate.io/environment'),
  /** Namespace → environment, for namespaces without the label. */
  environments: z.record(z.string(), z.string()).default({}),
  /** Cluster name put into claims when the caller does not give one. */
  cluster: z.string().optional(),
  /** Pods a DaemonSet runs when no inventory knows the node count. */
  daemonSetNodes: z.number().int().nonnegative().optional(),
  exemptNamespaces: z.array(z.string()).default(['kube-system']),
  /** Namespaces where an evaluation error admits instead of denying. */
  failOpenNamespaces: z.array(z.string()).default([]),
  /** How long an admitted object's reservation lives if no informer sees it. */
  reservationTTLSeconds: z.number().int().positive().default(120),
  /** Reservations shared by every webhook replica, kept in one coordination.k8s.io/v1 Lease per product in this namespace. */
  sharedReservations: z
    .strictObject({
      namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a Kubernetes namespace name'),
      /** Reads and conditional writes of one Lease before the admission fails safe. */
      maxAttempts: z.number().int().positive().max(50).default(8),
    })
    .optional(),
});

export const terraformSettings = z.strictObject({
  /** Extra or overriding instance type → vCPU entries. */
  instanceTypes: z.record(z.string(), z.number().int().positive()).default({}),
  /**
   * HMAC key of the HCP Terraform run task, or the name of an env variable holding it (`env:NAME`).
   * Without it, `POST /terraform/run-task` is not served. Read on each request, so a reload rotates it.
   */
  runTaskHmacKey: z.string().optional(),
  /** Scope every run task plan is checked in (like a claim's scope); wins over the regions the plan gives. Read on each request. */
  runTaskScope: claimScope.optional(),
  /**
   * Hosts (`app.terraform.io`, `tfe.example.com`, or `host:port`) the run task may fetch plans from and send
   * results to. Default: any, but the plan URL and the callback URL must share one host.
   */
  runTaskHosts: z.array(z.string().min(1)).min(1).optional(),
});

export const config = z.strictObject({
  $schema: z.string().optional(),
  version: z.literal(1),
  defaults: defaults.default(defaults.parse({})),
  policy: z.string().min(1).optional().describe('Compiled policy (.wasm) with custom rules, relative to this file'),
  products: z.array(product).default([]),
  entitlements: z.array(entitlement).default([]),
  exceptions: z.array(exception).default([]),
  kubernetes: kubernetesSettings.default(kubernetesSettings.parse({})),
  terraform: terraformSettings.default(terraformSettings.parse({})),
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
  source: z.string().min(1),
  observedAt: date,
  usage: z.array(z.strictObject({ product: id, quantity: nonNegative, scope: claimScope.default({}) })),
});

export const claimsFile = z.strictObject({
  claims: z.array(
    z.strictObject({
      product: id,
      quantity: z.number().finite().nullable(),
      peak: z.number().finite().optional(),
      scope: claimScope.default({}),
      resource: z
        .strictObject({
          kind: z.string().min(1),
          name: z.string().min(1),
          namespace: z.string().optional(),
          address: z.string().optional(),
          file: z.string().optional(),
          line: z.number().int().positive().optional(),
        })
        .optional(),
      unknownReason: z.string().optional(),
    }),
  ),
});
