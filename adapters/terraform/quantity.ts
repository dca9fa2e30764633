// How much of a product one resource instance uses: a fixed number, a numeric
// attribute, or an instance type / VM size / machine type looked up as vCPU.
import type { TerraformMatch } from './settings.ts';
import shipped from './instance-types.json' with { type: 'json' };
import { isUnknown, lookup, splitPath } from './attributes.ts';
import { preview, previewText } from '../../engine/preview.ts';

const SHIPPED_VCPU = shipped.vcpu as Record<string, number>;

/** A quantity, or why there is none and what the user can do about it in Terraform's terms. */
export type QuantityResult = { quantity: number } | { quantity: null; reason: string; remedy: string };

export const AT_PLAN_TIME = 'give it a value Terraform knows at plan time (a literal or an input variable, not one computed at apply)';
const notSet = (attribute: string) =>
  `set ${attribute} on the resource, or give the product's terraform match a fixed quantity in the config`;

/** The shipped table merged with `terraform.instanceTypes` from the config (config wins). */
export class InstanceTypeTable {
  readonly #overrides: ReadonlyMap<string, number>;
  #folded: Map<string, number> | undefined;

  constructor(overrides: Readonly<Record<string, number>> = {}) {
    this.#overrides = new Map(Object.entries(overrides));
  }

  #exact(type: string): number | undefined {
    return this.#overrides.get(type) ?? (Object.hasOwn(SHIPPED_VCPU, type) ? SHIPPED_VCPU[type] : undefined);
  }

  // Azure sizes are case-insensitive (Standard_D4s_v5 = standard_d4s_v5). Built
  // on the first miss only: 1,200 entries folded cost a millisecond of every
  // short `check`, and most plans name their types exactly.
  #foldedGet(name: string): number | undefined {
    if (!this.#folded) {
      this.#folded = new Map();
      for (const [k, v] of Object.entries(SHIPPED_VCPU)) this.#folded.set(k.toLowerCase(), v);
      for (const [k, v] of this.#overrides) this.#folded.set(k.toLowerCase(), v);
    }
    return this.#folded.get(name.toLowerCase());
  }

  /** vCPU of an instance type, or undefined when neither the table nor the name tells. */
  vcpu(type: string): number | undefined {
    const exact = this.#exact(type);
    if (exact !== undefined) return exact;
    // GCP self links: ".../zones/europe-west1-b/machineTypes/n2-standard-4".
    const name = type.includes('/') ? type.slice(type.lastIndexOf('/') + 1) : type;
    const hit = this.#exact(name) ?? this.#foldedGet(name);
    if (hit !== undefined) return hit;
    // GCP custom machine types carry their vCPU count: custom-4-16384, n2-custom-8-32768-ext.
    const custom = /^(?:[a-z0-9]+-)?custom-(\d+)-\d+(?:-ext)?$/.exec(name);
    return custom ? Number(custom[1]) : undefined;
  }
}

export type QuantitySpec = TerraformMatch['quantity'];

export interface CompiledQuantity {
  spec: QuantitySpec;
  path?: string[];
}

export function compileQuantity(spec: QuantitySpec): CompiledQuantity {
  if (spec === undefined || typeof spec === 'number') return { spec };
  return { spec, path: splitPath('attribute' in spec ? spec.attribute : spec.instanceType) };
}

/**
 * The quantity one side (before or after) of a resource asks for.
 * `afterUnknown` is given for the after side only. Without a quantity the
 * resource counts as one (one instance, one server).
 */
export function resolveQuantity(q: CompiledQuantity, values: unknown, afterUnknown: unknown, table: InstanceTypeTable): QuantityResult {
  const { spec, path } = q;
  if (spec === undefined) return { quantity: 1 };
  if (typeof spec === 'number') return { quantity: spec };
  const attribute = 'attribute' in spec ? spec.attribute : spec.instanceType;
  if (!path) return { quantity: null, reason: `no attribute path in ${attribute}`, remedy: notSet(attribute) };
  if (afterUnknown !== undefined && isUnknown(afterUnknown, path)) {
    return { quantity: null, reason: `${attribute} is known only after apply`, remedy: AT_PLAN_TIME };
  }
  const got = lookup(values, path);
  if (!got.found || got.value === null) return { quantity: null, reason: `${attribute} is not set`, remedy: notSet(attribute) };
  const value = got.value;
  if ('attribute' in spec) {
    const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
    if (!Number.isFinite(n) || n < 0)
      return { quantity: null, reason: `${attribute} is ${preview(value)}, not a non-negative number`, remedy: notSet(attribute) };
    return { quantity: n };
  }
  if (typeof value !== 'string')
    return { quantity: null, reason: `${attribute} is ${preview(value)}, not an instance type`, remedy: notSet(attribute) };
  const vcpu = table.vcpu(value);
  if (vcpu === undefined) {
    const shown = previewText(value);
    return {
      quantity: null,
      reason: `instance type ${shown} (${attribute}) is not in the vCPU table`,
      remedy: `add ${shown} under terraform.instanceTypes in the config, with its vCPU count`,
    };
  }
  return { quantity: vcpu };
}
