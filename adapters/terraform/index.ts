// Terraform plan adapter: `terraform show -json PLANFILE` → claims.
export { claimsFromPlan, claimsFromPlanJson, actionKind, type PlanClaimOptions, type TerraformAdapterConfig } from './claims.ts';
export { isTerraformPlan, parsePlan, validatePlan, type ParsedPlan, type ResourceChange, type TerraformPlan } from './plan.ts';
export { buildMatcherIndex, type MatcherIndex } from './match.ts';
export { InstanceTypeTable, resolveQuantity, type QuantityResult } from './quantity.ts';
