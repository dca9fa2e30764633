// Plan resource changes → claims. One pass over resource_changes, one map
// lookup per change: cost grows with the plan, not with the number of products.
import type { Product } from './settings.ts';
import type { Claim, ResourceRef, Scope } from '../../engine/types.ts';
import { preview } from '../../engine/preview.ts';
import { buildMatcherIndex, matchConditions, type MatcherIndex, type ProductMatchers } from './match.ts';
import { parsePlan, planFromValue, type ResourceChange, type TerraformPlan } from './plan.ts';
import { isUnknown, lookup } from './attributes.ts';
import { AT_PLAN_TIME, InstanceTypeTable, resolveQuantity, type QuantityResult } from './quantity.ts';
import { mergeScope, RegionResolver, resourceRegion } from './scope.ts';

/** The part of the config the adapter reads (a full `Config` fits). */
export interface TerraformAdapterConfig {
  products: readonly Product[];
  terraform?: { instanceTypes?: Readonly<Record<string, number>> };
}

export interface PlanClaimOptions {
  /** Scope from the caller's flags (--environment, --account, --region…); wins over the plan. */
  scope?: Scope;
  /** The plan's file name, put into each claim's resource. */
  file?: string;
}

export interface CompiledAdapterConfig {
  index: MatcherIndex;
  table: InstanceTypeTable;
}

// The CLI checks several inputs and the server many plans against one config.
const compiledCache = new WeakMap<object, CompiledAdapterConfig>();

/** Matcher index and instance-type table of a config, built once per config object. */
export function compileAdapterConfig(config: TerraformAdapterConfig): CompiledAdapterConfig {
  let c = compiledCache.get(config);
  if (!c) {
    c = { index: buildMatcherIndex(config.products), table: new InstanceTypeTable(config.terraform?.instanceTypes) };
    compiledCache.set(config, c);
  }
  return c;
}

/** Reads plan JSON text (`terraform show -json PLANFILE`) and returns its claims; throws EG_ERR_INPUT_INVALID. */
export function claimsFromPlanJson(text: string, config: TerraformAdapterConfig, opts: PlanClaimOptions = {}): Claim[] {
  const { plan, lines } = parsePlan(text, opts.file);
  return claimsFromPlan(plan, config, opts, lines);
}

/** Claims of plan JSON the caller already parsed (`text` only adds line numbers); throws EG_ERR_INPUT_INVALID. */
export function claimsFromPlanValue(
  value: unknown,
  config: TerraformAdapterConfig,
  opts: PlanClaimOptions & { text?: string } = {},
): Claim[] {
  const { plan, lines } = planFromValue(value, opts.text, opts.file);
  return claimsFromPlan(plan, config, opts, lines);
}

/**
 * One side of a change for one product. `basis`, for a quantity that cannot
 * be told, is what it was read from (the matcher and the attribute's value):
 * the same basis on both sides of an update is the same unknown quantity.
 */
export type Side = { kind: 'none' } | { kind: 'quantity'; result: QuantityResult; basis?: string };

/** Claims of an already-validated plan (see `validatePlan`). `lines` parallels resource_changes. */
export function claimsFromPlan(
  plan: TerraformPlan,
  config: TerraformAdapterConfig,
  opts: PlanClaimOptions = {},
  lines: readonly (number | undefined)[] = [],
): Claim[] {
  const { index, table } = compileAdapterConfig(config);
  const claims: Claim[] = [];
  const changes = plan.resource_changes ?? [];
  if (index.size === 0 || changes.length === 0) return claims;
  let regions: RegionResolver | undefined;

  for (let i = 0; i < changes.length; i++) {
    const rc = changes[i] as ResourceChange;
    // Data sources are read, never deployed.
    if (rc.mode === 'data') continue;
    const products = index.get(rc.type);
    if (!products) continue;
    const actions = rc.change.actions;
    const kind = actionKind(actions);
    if (kind === 'none') continue;

    const { before, after, after_unknown: afterUnknown } = rc.change;
    let scope: Scope | undefined;
    let resource: ResourceRef | undefined;
    for (const pm of products) {
      const b: Side =
        kind === 'create' || kind === 'create-forget' || before == null ? { kind: 'none' } : evaluate(pm, before, undefined, table);
      const a: Side = kind === 'delete' || after == null ? { kind: 'none' } : evaluate(pm, after, afterUnknown ?? {}, table);
      if (a.kind === 'none' && b.kind === 'none' && kind !== 'unsupported') continue;

      let claim: Claim;
      if (kind === 'unsupported') {
        if (a.kind === 'none' && b.kind === 'none') continue;
        claim = {
          product: pm.product,
          quantity: null,
          scope: {},
          unknownReason: `unsupported Terraform action ${preview(actions)}`,
          remedy: 'apply the change in steps whose actions entitlegate reads (create, update, delete, replace)',
        };
      } else {
        const qa = a.kind === 'none' ? { quantity: 0 } : a.result;
        const qb = b.kind === 'none' ? { quantity: 0 } : b.result;
        if (qa.quantity === null || qb.quantity === null) {
          // Freeing needs no entitlement: a delete, or a change that takes the
          // resource out of the product, of a quantity that cannot be told frees
          // nothing we can prove, and must not block removing it.
          if (qb.quantity === null && qa.quantity === 0) continue;
          // An update that leaves an unknown quantity as it was changes nothing
          // (as in Kubernetes); so does a replace, old and new never side by side.
          if (
            (kind === 'update' || kind === 'replace') &&
            a.kind === 'quantity' &&
            b.kind === 'quantity' &&
            a.basis !== undefined &&
            a.basis === b.basis
          )
            continue;
          const unknown = (qa.quantity === null ? qa : qb) as { reason: string; remedy: string };
          claim = { product: pm.product, quantity: null, scope: {}, unknownReason: unknown.reason, remedy: unknown.remedy };
        } else {
          const net = qa.quantity - qb.quantity;
          // create-before-destroy: old and new run side by side for a while.
          const peak = kind === 'create-before-destroy' || kind === 'create-forget' ? Math.max(qa.quantity, net, 0) : Math.max(net, 0);
          if (net === 0 && peak === 0) continue;
          claim = { product: pm.product, quantity: net, peak, scope: {} };
        }
      }
      if (!resource) {
        regions ??= new RegionResolver(plan);
        const region = resourceRegion(rc.type, after ?? before) ?? regions.regionOf(rc);
        scope = mergeScope(region ? { region } : {}, opts.scope);
        resource = {
          kind: rc.type,
          name: rc.name,
          address: rc.deposed ? `${rc.address} (deposed ${rc.deposed})` : rc.address,
        };
        if (opts.file) resource.file = opts.file;
        const line = lines[i];
        if (line !== undefined) resource.line = line;
      }
      claim.scope = { ...scope };
      claim.resource = resource;
      claims.push(claim);
    }
  }
  return claims;
}

type ActionKind = 'none' | 'create' | 'delete' | 'update' | 'replace' | 'create-before-destroy' | 'create-forget' | 'unsupported';

/**
 * What a change's actions mean for licences. `forget` (Terraform 1.7+) drops
 * the object from state but leaves it running, so it frees nothing.
 */
export function actionKind(actions: readonly string[]): ActionKind {
  const [first, second] = actions;
  if (actions.length === 1) {
    switch (first) {
      case 'create':
        return 'create';
      case 'delete':
        return 'delete';
      case 'update':
        return 'update';
      case 'no-op':
      case 'read':
      case 'forget':
        return 'none';
    }
  } else if (actions.length === 2) {
    if (first === 'delete' && second === 'create') return 'replace';
    if (first === 'create' && second === 'delete') return 'create-before-destroy';
    // Replace of an object with `lifecycle { destroy = false }`: the old one stays.
    if (first === 'create' && second === 'forget') return 'create-forget';
  }
  return 'unsupported';
}

/** One product on one side (before or after) of a resource: not matched, or its quantity. */
export function evaluate(pm: ProductMatchers, values: unknown, afterUnknown: unknown, table: InstanceTypeTable): Side {
  let unknownAttr: string | undefined;
  for (const m of pm.matchers) {
    const outcome = matchConditions(m, values, afterUnknown);
    if (outcome.kind === 'match') {
      const result = resolveQuantity(m.quantity, values, afterUnknown, table);
      if (result.quantity !== null) return { kind: 'quantity', result };
      const path = m.quantity.path;
      // A value known only after apply is no basis: it may be anything.
      if (path && afterUnknown !== undefined && isUnknown(afterUnknown, path)) return { kind: 'quantity', result };
      return { kind: 'quantity', result, basis: JSON.stringify([pm.matchers.indexOf(m), path ? lookup(values, path) : null]) };
    }
    if (outcome.kind === 'unknown') unknownAttr ??= outcome.attribute;
  }
  if (unknownAttr !== undefined) {
    // Fail safe: a licensed product may be hiding behind a value Terraform learns at apply.
    return {
      kind: 'quantity',
      result: {
        quantity: null,
        reason: `${unknownAttr} is known only after apply, so whether this is ${pm.product} cannot be told`,
        remedy: AT_PLAN_TIME,
      },
    };
  }
  return { kind: 'none' };
}
