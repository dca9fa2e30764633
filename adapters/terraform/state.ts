// Terraform state (`terraform show -json` without a plan file, or of a state
// file) → usage records: what is deployed now, one record per matched
// resource, identified by its address (the same id a plan's claim carries, so
// the ledger can settle the reservation that plan made). Only the foreign
// format is read here; what the usage means is the engine's business.
import { EntitlegateError, type Problem } from '../../engine/errors.ts';
import type { Scope } from '../../engine/types.ts';
import { type TerraformAdapterConfig, compileAdapterConfig, evaluate } from './claims.ts';
import { resourceRegion } from './scope.ts';

export interface StateUsageRecord {
  product: string;
  quantity: number;
  scope: Scope;
  /** The resource's address, e.g. `module.db.aws_instance.main[0]`. */
  resource: string;
}

interface StateResource {
  address?: unknown;
  mode?: unknown;
  type?: unknown;
  values?: unknown;
}

interface StateModule {
  resources?: StateResource[];
  child_modules?: StateModule[];
}

/** A state, not a plan: `terraform show -json` of a state has `values` and no `resource_changes`. */
export function isTerraformState(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return typeof v.format_version === 'string' && !('resource_changes' in v) && !('planned_values' in v) && !('usage' in v);
}

/** Usage records of every managed resource a product matches; a matched resource whose quantity cannot be told refuses the whole state. */
export function usageFromState(value: unknown, config: TerraformAdapterConfig, file = '<state>'): StateUsageRecord[] {
  if (!isTerraformState(value))
    throw new EntitlegateError('EG_ERR_INPUT_INVALID', `${file}: not Terraform state JSON (terraform show -json)`);
  const { index, table } = compileAdapterConfig(config);
  const out: StateUsageRecord[] = [];
  const problems: Problem[] = [];
  const root = (value as { values?: { root_module?: StateModule } }).values?.root_module;
  const walk = (m: StateModule | undefined) => {
    if (!m || typeof m !== 'object') return;
    for (const r of Array.isArray(m.resources) ? m.resources : []) {
      if (r.mode !== 'managed' || typeof r.type !== 'string' || typeof r.address !== 'string') continue;
      for (const pm of index.get(r.type) ?? []) {
        const side = evaluate(pm, r.values, undefined, table);
        if (side.kind === 'none') continue;
        if (side.result.quantity === null) {
          problems.push({ file, message: `${r.address}: ${pm.product}: ${side.result.reason}` });
          continue;
        }
        if (side.result.quantity === 0) continue;
        const region = resourceRegion(r.type, r.values);
        out.push({ product: pm.product, quantity: side.result.quantity, scope: region ? { region } : {}, resource: r.address });
      }
    }
    for (const c of Array.isArray(m.child_modules) ? m.child_modules : []) walk(c);
  };
  walk(root);
  if (problems.length)
    throw new EntitlegateError(
      'EG_ERR_INPUT_INVALID',
      `${file}: ${problems.length} resource${problems.length === 1 ? '' : 's'} in the state cannot be counted`,
      problems,
    );
  return out;
}
