// The Terraform adapter's part of the config file: how a product is
// recognised in a plan (`products[].match.terraform`) and the instance-type
// table's additions (`terraform:`). config/schema.ts composes it into the one
// config schema; pure schemas, so the composition pulls in nothing else.
import * as z from 'zod/mini';
import { nonEmpty, nonNegative, type Product as LicenceProduct } from '../../engine/config/schema.ts';

const condition = z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number(), z.boolean()]))]);
const quantity = z.union([nonNegative, z.strictObject({ attribute: nonEmpty() }), z.strictObject({ instanceType: nonEmpty() })]);

/** One `products[].match.terraform` entry: a resource type, attribute conditions, where the quantity comes from. */
export const terraformMatch = z.strictObject({
  type: nonEmpty(),
  where: z.optional(z.record(z.string(), condition)),
  quantity: z.optional(quantity),
});

/** The adapter's settings under `terraform:`, in the file's key order (the run task's follow them). */
export const terraformAdapterSettings = {
  /** Extra or overriding instance type → vCPU entries. */
  instanceTypes: z._default(z.record(z.string(), z.int().check(z.positive())), {}),
};

const settings = z.strictObject(terraformAdapterSettings);

export type TerraformMatch = z.output<typeof terraformMatch>;
/** What the adapter reads under `terraform:` (the full section carries the run task's settings too). */
export type TerraformSettings = z.output<typeof settings>;
/** A product as this adapter reads it: the licence fields and its own part of `match`. */
export type Product = LicenceProduct & { match?: { terraform?: TerraformMatch[] } };
