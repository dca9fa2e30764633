// Builders for hand-written plans in tests, shaped like `terraform show -json`.
import type { Product } from './settings.ts';
import type { ResourceChange, TerraformPlan } from './plan.ts';

export function change(
  address: string,
  actions: string[],
  before: unknown,
  after: unknown,
  extra: Partial<ResourceChange> & { after_unknown?: unknown } = {},
): ResourceChange {
  const { after_unknown, ...rest } = extra;
  // address → module_address, type, name, index as Terraform writes them.
  const [modulePart, plain] = splitModule(address);
  const parts = /^(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)(?:\[(.+)\])?$/.exec(plain);
  if (!parts) throw new Error(`bad test address ${address}`);
  const index = parts[4] === undefined ? undefined : parts[4].startsWith('"') ? (JSON.parse(parts[4]) as string) : Number(parts[4]);
  return {
    address,
    ...(modulePart ? { module_address: modulePart } : {}),
    mode: parts[1] ? 'data' : 'managed',
    type: parts[2] as string,
    name: parts[3] as string,
    ...(index === undefined ? {} : { index }),
    provider_name: `registry.terraform.io/hashicorp/${(parts[2] as string).split('_')[0]}`,
    change: {
      actions,
      before,
      after,
      after_unknown: after_unknown ?? {},
      before_sensitive: before === null ? false : {},
      after_sensitive: after === null ? false : {},
    },
    ...rest,
  };
}

function splitModule(address: string): [string, string] {
  // module.a[0].module.b["x"].aws_instance.web → ['module.a[0].module.b["x"]', 'aws_instance.web']
  let i = 0;
  let lastModuleEnd = -1;
  while (address.startsWith('module.', i)) {
    i += 'module.'.length;
    while (i < address.length && address[i] !== '.' && address[i] !== '[') i++;
    if (address[i] === '[') {
      const close = address.indexOf(']', address[i + 1] === '"' ? address.indexOf('"', i + 2) : i);
      i = close + 1;
    }
    lastModuleEnd = i;
    i++;
  }
  return lastModuleEnd < 0 ? ['', address] : [address.slice(0, lastModuleEnd), address.slice(lastModuleEnd + 1)];
}

export function plan(resource_changes: ResourceChange[], configuration?: TerraformPlan['configuration']): TerraformPlan {
  return {
    format_version: '1.2',
    terraform_version: '1.5.7',
    planned_values: { root_module: {} },
    resource_changes,
    ...(configuration ? { configuration } : {}),
  };
}

export function product(
  id: string,
  terraform: NonNullable<NonNullable<Product['match']>['terraform']>,
  metric: Product['metric'] = 'vcpu',
): Product {
  return { id, metric, match: { terraform } };
}
