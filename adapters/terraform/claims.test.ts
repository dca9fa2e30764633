import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Claim } from '../../engine/types.ts';
import { claimsFromPlan, claimsFromPlanJson, claimsFromPlanValue, type TerraformAdapterConfig } from './claims.ts';
import { change, plan, product } from './test-helpers.ts';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

// terraform_data-like resource: input.vcpu is the quantity.
const cfg: TerraformAdapterConfig = {
  products: [product('app-ee', [{ type: 'terraform_data', where: { 'input.product': 'app-ee' }, quantity: { attribute: 'input.vcpu' } }])],
};
const td = (vcpu: number, productId = 'app-ee') => ({
  id: 'x',
  input: { product: productId, vcpu },
  output: { product: productId, vcpu },
  triggers_replace: null,
});
const one = (claims: Claim[]) => {
  expect(claims).toHaveLength(1);
  return claims[0] as Claim;
};

describe('actions', () => {
  it('create claims the new quantity', () => {
    const c = one(claimsFromPlan(plan([change('terraform_data.a', ['create'], null, td(4))]), cfg));
    expect(c).toMatchObject({
      product: 'app-ee',
      quantity: 4,
      peak: 4,
      resource: { kind: 'terraform_data', name: 'a', address: 'terraform_data.a' },
    });
  });
  it('delete frees the old quantity', () => {
    const c = one(claimsFromPlan(plan([change('terraform_data.a', ['delete'], td(4), null)]), cfg));
    expect(c).toMatchObject({ quantity: -4, peak: 0 });
  });
  it('update claims after − before', () => {
    expect(one(claimsFromPlan(plan([change('terraform_data.a', ['update'], td(4), td(6))]), cfg))).toMatchObject({ quantity: 2, peak: 2 });
    expect(one(claimsFromPlan(plan([change('terraform_data.a', ['update'], td(6), td(4))]), cfg))).toMatchObject({ quantity: -2, peak: 0 });
  });
  it('an update that changes no quantity is not a claim', () => {
    expect(claimsFromPlan(plan([change('terraform_data.a', ['update'], td(4), { ...td(4), id: 'y' })]), cfg)).toEqual([]);
  });
  it('an update that makes a resource stop matching frees its quantity', () => {
    expect(one(claimsFromPlan(plan([change('terraform_data.a', ['update'], td(4), td(4, 'other'))]), cfg))).toMatchObject({ quantity: -4 });
  });
  it('no-op, read and forget change nothing', () => {
    const p = plan([
      change('terraform_data.a', ['no-op'], td(4), td(4)),
      change('terraform_data.b', ['read'], null, td(4)),
      change('terraform_data.c', ['forget'], td(4), null),
    ]);
    expect(claimsFromPlan(p, cfg)).toEqual([]);
  });
  it('replace (delete then create) claims the net, peak no more than the net', () => {
    expect(one(claimsFromPlan(plan([change('terraform_data.a', ['delete', 'create'], td(4), td(6))]), cfg))).toMatchObject({
      quantity: 2,
      peak: 2,
    });
    expect(one(claimsFromPlan(plan([change('terraform_data.a', ['delete', 'create'], td(6), td(4))]), cfg))).toMatchObject({
      quantity: -2,
      peak: 0,
    });
  });
  it('create-before-destroy peaks at the new quantity: both exist at once', () => {
    expect(one(claimsFromPlan(plan([change('terraform_data.a', ['create', 'delete'], td(4), td(6))]), cfg))).toMatchObject({
      quantity: 2,
      peak: 6,
    });
    expect(one(claimsFromPlan(plan([change('terraform_data.a', ['create', 'delete'], td(4), td(4))]), cfg))).toMatchObject({
      quantity: 0,
      peak: 4,
    });
  });
  it('create then forget (lifecycle destroy = false) keeps the old one running', () => {
    expect(one(claimsFromPlan(plan([change('terraform_data.a', ['create', 'forget'], td(4), td(4))]), cfg))).toMatchObject({
      quantity: 4,
      peak: 4,
    });
  });
  it('a deposed object being deleted frees capacity and says so', () => {
    const c = one(claimsFromPlan(plan([change('terraform_data.a', ['delete'], td(4), null, { deposed: '00000001' })]), cfg));
    expect(c).toMatchObject({ quantity: -4, resource: { address: 'terraform_data.a (deposed 00000001)' } });
  });
  it('an action entitlegate does not know gives an unknown quantity, not silence', () => {
    const c = one(claimsFromPlan(plan([change('terraform_data.a', ['teleport'], td(4), td(4))]), cfg));
    expect(c.quantity).toBeNull();
    expect(c.unknownReason).toMatch(/unsupported Terraform action/);
  });
});

describe('addresses', () => {
  it('keeps module, count, for_each and nested module addresses', () => {
    const addrs = [
      'terraform_data.a[0]',
      'terraform_data.a[1]',
      'terraform_data.b["blue.green"]',
      'module.m.terraform_data.a',
      'module.m[0].module.inner["x"].terraform_data.a[2]',
    ];
    const claims = claimsFromPlan(plan(addrs.map((a) => change(a, ['create'], null, td(1)))), cfg, { file: 'plan.json' });
    expect(claims.map((c) => c.resource?.address)).toEqual(addrs);
    expect(claims.every((c) => c.resource?.file === 'plan.json' && c.resource.kind === 'terraform_data')).toBe(true);
  });
  it('ignores data sources', () => {
    const p = plan([change('data.terraform_data.a', ['read'], null, td(4)), change('data.terraform_data.b', ['create'], null, td(4))]);
    expect(claimsFromPlan(p, cfg)).toEqual([]);
  });
  it('a moved resource with no changes counts nothing; a moved and resized one counts once', () => {
    const p = plan([
      change('module.new.terraform_data.a', ['no-op'], td(4), td(4), { previous_address: 'terraform_data.a' }),
      change('module.new.terraform_data.b', ['update'], td(4), td(8), { previous_address: 'terraform_data.b' }),
    ]);
    const claims = claimsFromPlan(p, cfg);
    expect(claims).toHaveLength(1);
    expect(claims[0]).toMatchObject({ quantity: 4, resource: { address: 'module.new.terraform_data.b' } });
  });
});

describe('unknown values', () => {
  it('a quantity attribute known only after apply → null quantity', () => {
    const c = one(
      claimsFromPlan(
        plan([
          change('terraform_data.a', ['create'], null, { input: { product: 'app-ee' } }, { after_unknown: { input: { vcpu: true } } }),
        ]),
        cfg,
      ),
    );
    expect(c.quantity).toBeNull();
    expect(c.unknownReason).toBe('input.vcpu is known only after apply');
  });
  it('a whole object known only after apply → null quantity', () => {
    const c = one(
      claimsFromPlan(plan([change('terraform_data.a', ['update'], td(2), { input: null }, { after_unknown: { input: true } })]), cfg),
    );
    expect(c.quantity).toBeNull();
  });
  it('a where-condition on an unknown value cannot rule the product out: null quantity', () => {
    const c = one(
      claimsFromPlan(
        plan([change('terraform_data.a', ['create'], null, { input: { vcpu: 2 } }, { after_unknown: { input: { product: true } } })]),
        cfg,
      ),
    );
    expect(c).toMatchObject({ product: 'app-ee', quantity: null });
    expect(c.unknownReason).toMatch(/input\.product is known only after apply/);
  });
  it('...unless a known condition already rules it out', () => {
    const two: TerraformAdapterConfig = {
      products: [product('p', [{ type: 'terraform_data', where: { 'input.kind': 'db', 'input.product': 'p' }, quantity: 1 }])],
    };
    const p = plan([
      change('terraform_data.a', ['create'], null, { input: { kind: 'web' } }, { after_unknown: { input: { product: true } } }),
    ]);
    expect(claimsFromPlan(p, two)).toEqual([]);
  });
  it('a missing or non-numeric quantity attribute → null with a reason', () => {
    const p = plan([
      change('terraform_data.a', ['create'], null, { input: { product: 'app-ee' } }),
      change('terraform_data.b', ['create'], null, { input: { product: 'app-ee', vcpu: 'lots' } }),
      change('terraform_data.c', ['create'], null, { input: { product: 'app-ee', vcpu: '3' } }),
    ]);
    const [a, b, c] = claimsFromPlan(p, cfg);
    expect(a).toMatchObject({ quantity: null, unknownReason: 'input.vcpu is not set' });
    expect(b).toMatchObject({ quantity: null });
    expect(b?.unknownReason).toMatch(/not a non-negative number/);
    expect(c).toMatchObject({ quantity: 3 });
  });
});

describe('matchers', () => {
  const config: TerraformAdapterConfig = {
    products: [
      product('exact', [{ type: 'r', where: { edition: 'ee' }, quantity: 2 }]),
      product('glob', [{ type: 'r', where: { image: 'registry.example.com/oracle/*' } }], 'instances'),
      product('list', [{ type: 'r', where: { tier: ['gold', 'platinum'] }, quantity: { attribute: 'spec.cpu.count' } }]),
      product('two-matchers', [
        { type: 'r', where: { edition: 'se' }, quantity: 1 },
        { type: 's', quantity: 3 },
      ]),
    ],
  };
  const claimsFor = (after: unknown, type = 'r') =>
    claimsFromPlan(plan([change(`${type}.x`, ['create'], null, after)]), config).map((c) => [c.product, c.quantity]);

  it('exact value, glob across slashes, list of values, nested path', () => {
    expect(claimsFor({ edition: 'ee' })).toEqual([['exact', 2]]);
    expect(claimsFor({ edition: 'eex' })).toEqual([]);
    expect(claimsFor({ image: 'registry.example.com/oracle/db/enterprise:19' })).toEqual([['glob', 1]]);
    expect(claimsFor({ image: 'docker.io/oracle/db' })).toEqual([]);
    expect(claimsFor({ tier: 'platinum', spec: { cpu: { count: 12 } } })).toEqual([['list', 12]]);
    expect(claimsFor({ tier: 'silver', spec: { cpu: { count: 12 } } })).toEqual([]);
  });
  it('one resource can be several products; each product once', () => {
    expect(claimsFor({ edition: 'se', tier: 'gold', spec: { cpu: { count: 4 } } })).toEqual([
      ['list', 4],
      ['two-matchers', 1],
    ]);
    expect(claimsFor({}, 's')).toEqual([['two-matchers', 3]]);
  });
  it('a list attribute matches when one element does; numbers and booleans compare as values', () => {
    const c2: TerraformAdapterConfig = {
      products: [product('p', [{ type: 'r', where: { zones: 'eu-*', replicas: 3, ha: true }, quantity: 1 }])],
    };
    const run = (after: unknown) => claimsFromPlan(plan([change('r.x', ['create'], null, after)]), c2).length;
    expect(run({ zones: ['us-1', 'eu-2'], replicas: 3, ha: true })).toBe(1);
    expect(run({ zones: ['us-1'], replicas: 3, ha: true })).toBe(0);
    expect(run({ zones: ['eu-1'], replicas: 2, ha: true })).toBe(0);
    expect(run({ zones: ['eu-1'], replicas: 3, ha: false })).toBe(0);
  });
  it('a config without terraform matchers yields no claims', () => {
    expect(claimsFromPlan(plan([change('r.x', ['create'], null, {})]), { products: [] })).toEqual([]);
  });
});

describe('scope', () => {
  it('region comes from the provider config, per alias and per module; flags win', () => {
    const config: TerraformAdapterConfig = {
      products: [product('p', [{ type: 'aws_instance', quantity: { instanceType: 'instance_type' } }])],
    };
    const p = plan(
      [
        change('aws_instance.a', ['create'], null, { instance_type: 't3.micro' }),
        change('aws_instance.b', ['create'], null, { instance_type: 't3.micro' }),
        change('module.m["k"].module.n[0].aws_instance.c', ['create'], null, { instance_type: 't3.micro' }),
        change('aws_instance.d', ['create'], null, { instance_type: 't3.micro', region: 'ap-south-1' }),
      ],
      {
        provider_config: {
          aws: { name: 'aws', expressions: { region: { constant_value: 'eu-west-1' } } },
          'aws.us': { name: 'aws', alias: 'us', expressions: { region: { constant_value: 'us-east-1' } } },
          'module.m.module.n:aws': {
            name: 'aws',
            module_address: 'module.m.module.n',
            expressions: { region: { constant_value: 'eu-north-1' } },
          },
        },
        root_module: {
          resources: [
            { address: 'aws_instance.a', provider_config_key: 'aws' },
            { address: 'aws_instance.b', provider_config_key: 'aws.us' },
            { address: 'aws_instance.d', provider_config_key: 'aws' },
          ],
          module_calls: {
            m: {
              module: {
                module_calls: {
                  n: { module: { resources: [{ address: 'aws_instance.c', provider_config_key: 'module.m.module.n:aws' }] } },
                },
              },
            },
          },
        },
      },
    );
    expect(claimsFromPlan(p, config).map((c) => c.scope)).toEqual([
      { region: 'eu-west-1' },
      { region: 'us-east-1' },
      { region: 'eu-north-1' },
      { region: 'ap-south-1' },
    ]);
    const flagged = claimsFromPlan(p, config, { scope: { region: 'global', account: '123456789012', environment: 'prod' } });
    expect(flagged.map((c) => c.scope)).toEqual(Array(4).fill({ region: 'global', account: '123456789012', environment: 'prod' }));
    const partial = claimsFromPlan(p, config, { scope: { account: '1', region: undefined } as never });
    expect(partial[0]?.scope).toEqual({ region: 'eu-west-1', account: '1' });
  });
});

describe('cloud fixtures (real plan format)', () => {
  const config: TerraformAdapterConfig = {
    products: [
      product('weblogic-ee', [
        { type: 'aws_instance', where: { 'tags.licence': 'weblogic-ee' }, quantity: { instanceType: 'instance_type' } },
      ]),
      product('oracle-db-ee', [
        {
          type: 'aws_db_instance',
          where: { engine: 'oracle-ee', license_model: 'bring-your-own-license' },
          quantity: { instanceType: 'instance_class' },
        },
      ]),
      product('sql-server-ent', [
        {
          type: 'azurerm_linux_virtual_machine',
          where: { 'source_image_reference.sku': 'enterprise' },
          quantity: { instanceType: 'size' },
        },
      ]),
      product('sap-hana', [
        { type: 'google_compute_instance', where: { 'labels.licence': 'sap-hana' }, quantity: { instanceType: 'machine_type' } },
      ]),
    ],
  };
  const brief = (claims: Claim[]) =>
    claims.map((c) => ({
      address: c.resource?.address,
      product: c.product,
      quantity: c.quantity,
      peak: c.peak,
      region: c.scope.region,
      line: c.resource?.line,
    }));

  it('AWS: EC2 and RDS, alias and module providers, unknown type, delete, data source', () => {
    const claims = claimsFromPlanJson(fixture('aws-plan.json'), config, { file: 'aws-plan.json' });
    expect(brief(claims)).toEqual([
      { address: 'aws_instance.app', product: 'weblogic-ee', quantity: 8, peak: 8, region: 'eu-west-1', line: 60 },
      { address: 'aws_instance.batch', product: 'weblogic-ee', quantity: null, peak: undefined, region: 'eu-west-1', line: 100 },
      { address: 'aws_instance.legacy', product: 'weblogic-ee', quantity: -4, peak: 0, region: undefined, line: 125 },
      { address: 'aws_instance.east', product: 'weblogic-ee', quantity: 2, peak: 2, region: 'us-east-1', line: 148 },
      { address: 'module.db.aws_db_instance.this[0]', product: 'oracle-db-ee', quantity: 8, peak: 8, region: 'eu-central-1', line: 167 },
    ]);
    expect(claims[1]?.unknownReason).toBe('instance_type is known only after apply');
  });
  it('Azure: resize in place, create-before-destroy, case-insensitive sizes, constrained vCPU sizes, location', () => {
    expect(brief(claimsFromPlanJson(fixture('azure-plan.json'), config))).toEqual([
      {
        address: 'azurerm_linux_virtual_machine.sql["primary"]',
        product: 'sql-server-ent',
        quantity: 4,
        peak: 4,
        region: 'westeurope',
        line: 7,
      },
      {
        address: 'azurerm_linux_virtual_machine.sql["replica"]',
        product: 'sql-server-ent',
        quantity: 4,
        peak: 8,
        region: 'northeurope',
        line: 43,
      },
    ]);
  });
  it('GCP: module for_each + count, passed provider alias, moved no-op, custom and unknown machine types', () => {
    const claims = claimsFromPlanJson(fixture('gcp-plan.json'), config);
    expect(brief(claims)).toEqual([
      {
        address: 'module.cluster["eu"].google_compute_instance.node[1]',
        product: 'sap-hana',
        quantity: 32,
        peak: 32,
        region: 'europe-west4',
        line: 7,
      },
      { address: 'google_compute_instance.tools', product: 'sap-hana', quantity: 6, peak: 6, region: undefined, line: 58 },
      { address: 'google_compute_instance.mystery', product: 'sap-hana', quantity: null, peak: undefined, region: undefined, line: 78 },
    ]);
    expect(claims[2]?.unknownReason).toMatch(/instance type z9-quantum-64 \(machine_type\) is not in the vCPU table/);
  });
  it('config overrides of the instance-type table', () => {
    const withOverride = { ...config, terraform: { instanceTypes: { 'z9-quantum-64': 64, 'm5.2xlarge': 6 } } };
    const gcp = claimsFromPlanJson(fixture('gcp-plan.json'), withOverride);
    expect(gcp[2]).toMatchObject({ quantity: 64 });
    const aws = claimsFromPlanJson(fixture('aws-plan.json'), withOverride);
    expect(aws[0]).toMatchObject({ quantity: 6 });
  });
  it('claimsFromPlanValue gives the same claims from JSON parsed by the caller', () => {
    const text = fixture('aws-plan.json');
    expect(claimsFromPlanValue(JSON.parse(text), config, { text, file: 'aws-plan.json' })).toEqual(
      claimsFromPlanJson(text, config, { file: 'aws-plan.json' }),
    );
  });
  it('single-line plan JSON (as Terraform writes it) gives no line numbers', () => {
    const text = JSON.stringify(JSON.parse(fixture('aws-plan.json')));
    expect(claimsFromPlanJson(text, config).every((c) => c.resource?.line === undefined)).toBe(true);
  });
});

describe('unknown quantities that cannot block (accounting rule 5)', () => {
  // aws_db_instance sized by its instance class; db.x99.custom is in no table.
  const db: TerraformAdapterConfig = {
    products: [product('ora', [{ type: 'aws_db_instance', where: { engine: 'oracle-ee' }, quantity: { instanceType: 'instance_class' } }])],
  };
  const inst = (cls: string, extra: Record<string, unknown> = {}) => ({ engine: 'oracle-ee', instance_class: cls, tags: {}, ...extra });
  const claims = (actions: string[], before: unknown, after: unknown, afterUnknown: unknown = {}) =>
    claimsFromPlan(plan([change('aws_db_instance.a', actions, before, after, { after_unknown: afterUnknown })]), db);

  it('destroying a resource of unknown size frees it and claims nothing', () => {
    expect(claims(['delete'], inst('db.x99.custom'), null)).toEqual([]);
  });
  it('a change that takes an unknown-sized resource out of the product claims nothing', () => {
    expect(claims(['update'], inst('db.x99.custom'), inst('db.x99.custom', { engine: 'postgres' }))).toEqual([]);
  });
  it('an update or replace that leaves the unknown quantity as it was claims nothing', () => {
    const tagged = inst('db.x99.custom', { tags: { team: 'b' } });
    expect(claims(['update'], inst('db.x99.custom'), tagged)).toEqual([]);
    expect(claims(['delete', 'create'], inst('db.x99.custom'), tagged)).toEqual([]);
  });
  it('stays unknown where old and new may run side by side, or the value changes, or is known only after apply', () => {
    const same = inst('db.x99.custom');
    expect(one(claims(['create', 'delete'], same, same)).quantity).toBeNull();
    expect(one(claims(['update'], same, inst('db.x99.bigger'))).quantity).toBeNull();
    expect(one(claims(['update'], same, inst('db.x99.custom'), { instance_class: true })).quantity).toBeNull();
    expect(one(claims(['update'], inst('db.x99.custom'), inst('db.r5.large'))).quantity).toBeNull();
  });
  it('an unknown quantity carries what to do about it in Terraform terms', () => {
    expect(one(claims(['create'], null, inst('db.x99.custom')))).toMatchObject({
      quantity: null,
      unknownReason: 'instance type db.x99.custom (instance_class) is not in the vCPU table',
      remedy: 'add db.x99.custom under terraform.instanceTypes in the config, with its vCPU count',
    });
    expect(one(claims(['create'], null, inst('db.x99.custom'), { instance_class: true })).remedy).toMatch(
      /a value Terraform knows at plan time/,
    );
  });
});
