// The config file's one schema, composed from the parts that own its
// settings: the engine's licence part (defaults, policy, products,
// entitlements, exceptions), the adapters' matchers and settings, and the
// webhook's. Validation, TypeScript types and the published JSON Schema
// (scripts/gen-schema.ts) all come from here. The key order is the file's
// (and the JSON Schema's): each part's keys are spread in place.
import * as z from 'zod/mini';
import { kubernetesAdapterSettings, kubernetesMatch } from '../adapters/kubernetes/settings.ts';
import { terraformAdapterSettings, terraformMatch } from '../adapters/terraform/settings.ts';
import { licenceFields, productWith } from '../engine/config/schema.ts';
import { governanceSettingsFields } from '../ledger/governance-settings.ts';
import { ledgerSettings } from '../ledger/settings.ts';
import { admissionSettingsFields, runTaskSettingsFields } from '../webhook/settings.ts';

export const product = productWith(
  z.strictObject({
    kubernetes: z.optional(kubernetesMatch),
    terraform: z.optional(z.array(terraformMatch)),
  }),
);

/** Settings of the Kubernetes adapter and the admission webhook; licence-free. */
export const kubernetesSettings = z.strictObject({ ...kubernetesAdapterSettings, ...admissionSettingsFields });

/** Settings of the Terraform adapter and the HCP Terraform run task; licence-free. */
export const terraformSettings = z.strictObject({ ...terraformAdapterSettings, ...runTaskSettingsFields });

export const config = z.strictObject({
  $schema: z.optional(z.string()),
  version: z.literal(1),
  ...licenceFields(product),
  kubernetes: z._default(kubernetesSettings, () => z.parse(kubernetesSettings, {})),
  terraform: z._default(terraformSettings, () => z.parse(terraformSettings, {})),
  ledger: z.optional(z.strictObject({ ...ledgerSettings.shape, ...governanceSettingsFields })),
});

export type Config = z.output<typeof config>;
export type Product = Config['products'][number];
export type KubernetesSettings = Config['kubernetes'];
export type TerraformSettings = Config['terraform'];
