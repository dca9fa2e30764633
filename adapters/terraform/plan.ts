// The `terraform show -json PLANFILE` document: parsing, shape checks and the
// few fields the adapter reads. Everything else in the plan is left alone.
import { preview } from '../../engine/preview.ts';
import { inputError } from '../../engine/errors.ts';
import { describeJsonError, lineCol } from '../../engine/json-position.ts';

export type PlanAction = 'no-op' | 'create' | 'read' | 'update' | 'delete' | 'forget' | (string & {});

export interface PlanChange {
  actions: PlanAction[];
  /** Absent or null for a create. */
  before?: unknown;
  /** Absent or null for a delete. */
  after?: unknown;
  /** Mirrors `after`: `true` where the value is known only after apply. */
  after_unknown?: unknown;
  before_sensitive?: unknown;
  after_sensitive?: unknown;
  importing?: unknown;
}

export interface ResourceChange {
  address: string;
  previous_address?: string;
  module_address?: string;
  mode: 'managed' | 'data' | (string & {});
  type: string;
  name: string;
  index?: number | string;
  provider_name?: string;
  deposed?: string;
  change: PlanChange;
  action_reason?: string;
}

export interface ProviderConfig {
  name: string;
  full_name?: string;
  alias?: string;
  module_address?: string;
  expressions?: Record<string, unknown>;
}

export interface ConfigResource {
  address: string;
  mode?: string;
  type?: string;
  name?: string;
  provider_config_key?: string;
}

export interface ConfigModule {
  resources?: ConfigResource[];
  module_calls?: Record<string, { source?: string; module?: ConfigModule }>;
}

export interface TerraformPlan {
  format_version: string;
  terraform_version?: string;
  planned_values?: unknown;
  /** Omitted by Terraform when the plan changes nothing. */
  resource_changes?: ResourceChange[];
  configuration?: {
    provider_config?: Record<string, ProviderConfig>;
    root_module?: ConfigModule;
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * True for the output of `terraform show -json PLANFILE` (not a state, not a
 * raw configuration). Cheap: looks at top-level keys only.
 */
export function isTerraformPlan(value: unknown): value is TerraformPlan {
  if (!isObject(value) || typeof value.format_version !== 'string') return false;
  return 'resource_changes' in value || 'planned_values' in value || 'prior_state' in value;
}

/**
 * Terraform state rather than a plan: `terraform show -json` run without a
 * plan file ({format_version, values}), or a raw terraform.tfstate ({version,
 * lineage, resources}). Recognised so it gets its own message: a state says
 * what runs, not what a change adds.
 */
export function isTerraformState(value: unknown): boolean {
  if (!isObject(value) || isTerraformPlan(value)) return false;
  if (typeof value.format_version === 'string') return 'values' in value || 'terraform_version' in value;
  return typeof value.version === 'number' && typeof value.lineage === 'string' && Array.isArray(value.resources);
}

const STATE =
  'this is Terraform state, not a plan: a state says what runs, not what a change adds. Give entitlegate the plan: `terraform plan -out=PLANFILE && terraform show -json PLANFILE > plan.json`';

/** A plan and, for pretty-printed JSON, the line each resource change starts on. */
export interface ParsedPlan {
  plan: TerraformPlan;
  /** Parallel to `plan.resource_changes`; undefined where unknown (single-line JSON). */
  lines: (number | undefined)[];
}

const BINARY_PLAN = 'this is a binary plan file; give entitlegate the JSON from `terraform show -json PLANFILE > plan.json`';

/** Parses and checks plan JSON text; throws EG_ERR_INPUT_INVALID with file:line:col on any problem. */
export function parsePlan(text: string, file = '<plan>'): ParsedPlan {
  if (text.startsWith('PK\u0003\u0004')) throw inputError({ file, message: BINARY_PLAN });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw inputError({ file, ...describeJsonError(text, err) });
  }
  return planFromValue(value, text, file);
}

/** For a caller that already parsed the JSON: validates it; `text`, when given, yields line numbers. */
export function planFromValue(value: unknown, text?: string, file = '<plan>'): ParsedPlan {
  const plan = validatePlan(value, file);
  return { plan, lines: text === undefined ? [] : locateResourceChanges(text, plan.resource_changes ?? []) };
}

/**
 * Text that starts like plan JSON, even if it does not parse (truncated): lets a
 * caller send it to `parsePlan` for a precise error instead of "unknown input".
 */
export function looksLikeTerraformPlanText(text: string): boolean {
  const head = text.slice(0, 512);
  return /^\s*\{\s*"format_version"\s*:/.test(head) && /"(terraform_version|planned_values|resource_changes)"/.test(text.slice(0, 4096));
}

/** Checks an already-parsed value is a plan the adapter can read. */
export function validatePlan(value: unknown, file = '<plan>'): TerraformPlan {
  if (isTerraformState(value)) throw inputError({ file, line: 1, col: 1, message: STATE });
  if (!isTerraformPlan(value)) {
    throw inputError({
      file,
      line: 1,
      col: 1,
      message:
        'not a Terraform plan: expected the JSON of `terraform show -json PLANFILE`, with format_version and resource_changes or planned_values',
    });
  }
  const major = value.format_version.split('.')[0];
  if (major !== '1') {
    throw inputError({
      file,
      line: 1,
      col: 1,
      message: `unsupported plan format_version ${preview(value.format_version)}: entitlegate reads format 1.x`,
    });
  }
  const changes: unknown = value.resource_changes;
  if (changes === undefined || changes === null) return { ...value, resource_changes: [] };
  if (!Array.isArray(changes)) throw inputError({ file, message: 'resource_changes must be an array' });
  for (let i = 0; i < changes.length; i++) {
    const problem = resourceChangeProblem(changes[i]);
    if (problem) throw inputError({ file, message: `resource_changes[${i}]: ${problem}` });
  }
  const configuration: unknown = value.configuration;
  if (configuration !== undefined && !isObject(configuration)) throw inputError({ file, message: 'configuration must be an object' });
  return value;
}

function resourceChangeProblem(rc: unknown): string | undefined {
  if (!isObject(rc)) return 'expected an object';
  for (const k of ['address', 'mode', 'type', 'name'] as const) {
    if (typeof rc[k] !== 'string') return `${k} must be a string`;
  }
  const change = rc.change;
  if (!isObject(change)) return `${String(rc.address)}: change must be an object`;
  const actions = change.actions;
  if (!Array.isArray(actions) || actions.length === 0 || !actions.every((a) => typeof a === 'string')) {
    return `${String(rc.address)}: change.actions must be a non-empty array of strings`;
  }
  return undefined;
}

/**
 * Line of each resource change in pretty-printed JSON. Terraform itself writes
 * one line, where a line number says nothing, so that case costs nothing.
 * Each change starts with its "address"; changes are in order, so one forward
 * scan finds them all (linear in the text).
 */
function locateResourceChanges(text: string, changes: ResourceChange[]): (number | undefined)[] {
  const lines: (number | undefined)[] = new Array(changes.length);
  const nl = text.indexOf('\n');
  if (changes.length === 0 || nl === -1 || text.slice(nl).trim() === '') return lines;
  let cursor = text.indexOf('"resource_changes"');
  if (cursor < 0) return lines;
  let line = lineCol(text, cursor).line;
  for (let i = 0; i < changes.length; i++) {
    const needle = JSON.stringify(changes[i]?.address);
    let at = text.indexOf(needle, cursor);
    // Skip values that are not this change's own "address" key.
    while (at !== -1 && !/"address"\s*:\s*$/.test(text.slice(Math.max(0, at - 40), at))) at = text.indexOf(needle, at + 1);
    if (at === -1) break;
    for (let j = text.indexOf('\n', cursor); j !== -1 && j < at; j = text.indexOf('\n', j + 1)) line++;
    lines[i] = line;
    cursor = at;
  }
  return lines;
}
