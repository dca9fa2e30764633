import { describe, expect, it } from 'vitest';
import type { Product } from './settings.ts';
import { isTerraformState, usageFromState } from './state.ts';

const products = [
  {
    id: 'db',
    vendor: 'x',
    name: 'x',
    metric: 'vcpu',
    match: { terraform: [{ type: 'aws_db_instance', where: { engine: 'oracle-ee' }, quantity: { instanceType: 'instance_class' } }] },
  },
] as unknown as Product[];

const state = (resources: object[], child: object[] = []) => ({
  format_version: '1.0',
  terraform_version: '1.5.7',
  values: { root_module: { resources, child_modules: child } },
});

const db = (address: string, values: object) => ({ address, mode: 'managed', type: 'aws_db_instance', name: 'x', values });

describe('Terraform state → usage records', () => {
  it('one record per matched managed resource, by address, with its region, through child modules', () => {
    const s = state(
      [
        db('aws_db_instance.a', { engine: 'oracle-ee', instance_class: 'db.r5.large', region: 'eu-west-1' }),
        db('aws_db_instance.pg', { engine: 'postgres', instance_class: 'db.r5.large' }),
      ],
      [{ address: 'module.m', resources: [db('module.m.aws_db_instance.b[0]', { engine: 'oracle-ee', instance_class: 'db.r5.xlarge' })] }],
    );
    expect(isTerraformState(s)).toBe(true);
    expect(usageFromState(s, { products })).toEqual([
      { product: 'db', quantity: 2, scope: { region: 'eu-west-1' }, resource: 'aws_db_instance.a' },
      { product: 'db', quantity: 4, scope: {}, resource: 'module.m.aws_db_instance.b[0]' },
    ]);
  });

  it('an empty state is no usage; a plan or a usage snapshot is not a state', () => {
    expect(usageFromState({ format_version: '1.0' }, { products })).toEqual([]);
    expect(isTerraformState({ format_version: '1.2', resource_changes: [] })).toBe(false);
    expect(isTerraformState({ version: 1, usage: [] })).toBe(false);
  });

  it('a matched resource whose quantity cannot be told refuses the state, naming it', () => {
    const s = state([db('aws_db_instance.odd', { engine: 'oracle-ee', instance_class: 'db.unknown.size' })]);
    expect(() => usageFromState(s, { products }, 'state.json')).toThrow(/state.json: 1 resource in the state cannot be counted/);
  });
});
