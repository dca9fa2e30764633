// Terraform plan adapter: `terraform show -json PLANFILE` → claims.
export {
  claimsFromPlan,
  claimsFromPlanJson,
  claimsFromPlanValue,
  compileAdapterConfig,
  actionKind,
  type PlanClaimOptions,
  type TerraformAdapterConfig,
} from './claims.ts';
export {
  isTerraformPlan,
  isTerraformState,
  looksLikeTerraformPlanText,
  parsePlan,
  planFromValue,
  validatePlan,
  type ParsedPlan,
  type ResourceChange,
  type TerraformPlan,
} from './plan.ts';
export { buildMatcherIndex, type MatcherIndex } from './match.ts';
export { InstanceTypeTable, resolveQuantity, type QuantityResult } from './quantity.ts';
