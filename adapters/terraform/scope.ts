// The region a resource lands in, from the plan's provider configuration
// where it is a constant. Terraform (1.1+) already points a resource's
// `provider_config_key` at the configuration it really uses (passed or
// inherited from a parent module), so one lookup per resource suffices.
import type { Scope } from '../../engine/types.ts';
import type { ConfigModule, ResourceChange, TerraformPlan } from './plan.ts';

/** `module.a[0].module.b["k.x"]` → `module.a.module.b` (instance keys dropped, quoted keys respected). */
export function moduleConfigPath(moduleAddress: string | undefined): string {
  if (!moduleAddress) return '';
  let out = '';
  for (let i = 0; i < moduleAddress.length; i++) {
    const c = moduleAddress[i];
    if (c !== '[') {
      out += c;
      continue;
    }
    // Skip the instance key, including a quoted string that may hold ] or \".
    for (i++; i < moduleAddress.length && moduleAddress[i] !== ']'; i++) {
      if (moduleAddress[i] === '"') {
        for (i++; i < moduleAddress.length && moduleAddress[i] !== '"'; i++) if (moduleAddress[i] === '\\') i++;
      }
    }
  }
  return out;
}

const constantString = (expr: unknown): string | undefined => {
  if (typeof expr !== 'object' || expr === null) return undefined;
  const v = (expr as { constant_value?: unknown }).constant_value;
  return typeof v === 'string' && v !== '' ? v : undefined;
};

export class RegionResolver {
  /** `${module config path}|${resource config address}` → region. */
  readonly #byResource = new Map<string, string>();

  constructor(plan: TerraformPlan) {
    const providers = plan.configuration?.provider_config ?? {};
    const regionOf = new Map<string, string>();
    for (const [key, pc] of Object.entries(providers)) {
      const region = constantString(pc?.expressions?.region);
      if (region) regionOf.set(key, region);
    }
    if (regionOf.size === 0) return;
    const walk = (mod: ConfigModule | undefined, path: string): void => {
      if (!mod) return;
      for (const r of mod.resources ?? []) {
        const region = r.provider_config_key ? regionOf.get(r.provider_config_key) : undefined;
        if (region) this.#byResource.set(`${path}|${r.address}`, region);
      }
      for (const [name, call] of Object.entries(mod.module_calls ?? {})) {
        walk(call?.module, path ? `${path}.module.${name}` : `module.${name}`);
      }
    };
    walk(plan.configuration?.root_module, '');
  }

  regionOf(rc: ResourceChange): string | undefined {
    if (this.#byResource.size === 0) return undefined;
    const addr = rc.mode === 'data' ? `data.${rc.type}.${rc.name}` : `${rc.type}.${rc.name}`;
    return this.#byResource.get(`${moduleConfigPath(rc.module_address)}|${addr}`);
  }
}

/**
 * A resource's own location, more specific than its provider's: `region` (AWS
 * provider v6 per-resource region, Google regional resources) or an azurerm
 * resource's `location`.
 */
export function resourceRegion(type: string, values: unknown): string | undefined {
  if (typeof values !== 'object' || values === null) return undefined;
  const v = values as Record<string, unknown>;
  if (typeof v.region === 'string' && v.region !== '') return v.region;
  if (type.startsWith('azurerm_') && typeof v.location === 'string' && v.location !== '') return v.location;
  return undefined;
}

/** Caller's flags win over what the plan says; undefined flags do not erase anything. */
export function mergeScope(fromPlan: Scope, flags: Scope | undefined): Scope {
  if (!flags) return fromPlan;
  const out: Scope = { ...fromPlan };
  for (const [k, v] of Object.entries(flags) as [keyof Scope, string | undefined][]) if (v !== undefined && v !== '') out[k] = v;
  return out;
}
