// The aspect against a small fake construct tree shaped like constructs v10
// and cdktf's TerraformStack (cdktf itself is an optional peer dependency and
// is not installed here).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Claim, Finding } from '../../engine/types.ts';
import { product } from '../terraform/test-helpers.ts';
import { EntitlegateAspect, isTerraformStack, type ConstructLike, type ConstructNodeLike } from './aspect.ts';

interface Meta {
  type: string;
  data: unknown;
}

class FakeConstruct implements ConstructLike {
  readonly children: FakeConstruct[] = [];
  readonly metadata: Meta[] = [];
  readonly node: ConstructNodeLike & { path: string };
  constructor(scope: FakeConstruct | undefined, id: string) {
    const path: string = scope?.node.path ? `${scope.node.path}/${id}` : scope ? id : '';
    scope?.children.push(this);
    const all = (c: FakeConstruct): FakeConstruct[] => [c, ...c.children.flatMap(all)];
    this.node = {
      path,
      findAll: () => all(this),
      addMetadata: (type: string, data: unknown) => this.metadata.push({ type, data }),
    };
  }
}

class FakeStack extends FakeConstruct {
  readonly json: unknown;
  constructor(scope: FakeConstruct, id: string, json: unknown) {
    super(scope, id);
    this.json = json;
    Object.defineProperty(this, Symbol.for('cdktf/TerraformStack'), { value: true });
  }
  toTerraform(): unknown {
    return this.json;
  }
}

const stackJson = JSON.parse(readFileSync(new URL('./fixtures/cdktf.out/stacks/app/cdk.tf.json', import.meta.url), 'utf8')) as unknown;

function tree() {
  const app = new FakeConstruct(undefined, 'App');
  const stack = new FakeStack(app, 'app', stackJson);
  const orders = new FakeConstruct(stack, 'orders');
  const db = new FakeConstruct(orders, 'db');
  const web = new FakeConstruct(stack, 'web');
  return { app, stack, db, web };
}

const config = {
  products: [
    product('oracle-db-ee', [{ type: 'aws_db_instance', where: { engine: 'oracle-ee' }, quantity: { instanceType: 'instance_class' } }]),
    product('weblogic-ee', [
      { type: 'aws_instance', where: { 'tags.licence': 'weblogic-ee' }, quantity: { instanceType: 'instance_type' } },
    ]),
  ],
};

describe('EntitlegateAspect', () => {
  it('recognises cdktf stacks by their symbol', () => {
    const { app, stack, db } = tree();
    expect(isTerraformStack(stack)).toBe(true);
    expect(isTerraformStack(app)).toBe(false);
    expect(isTerraformStack(db)).toBe(false);
  });

  it('evaluates each stack once and annotates the constructs named by findings', () => {
    const { app, stack, db, web } = tree();
    const seen: Claim[][] = [];
    const over: Finding = {
      code: 'OVER_ENTITLEMENT',
      product: 'oracle-db-ee',
      entitlement: 'ORA',
      message: 'projected 72 > 64',
      resources: ['app/orders/db'],
    };
    const unknown: Finding = {
      code: 'UNKNOWN_QUANTITY',
      product: 'weblogic-ee',
      entitlement: null,
      message: 'count unknown',
      resources: ['app/workers'],
    };
    const aspect = new EntitlegateAspect({
      config,
      scope: { environment: 'prod' },
      evaluate: (claims, stackPath) => {
        seen.push(claims);
        expect(stackPath).toBe('app');
        return { violations: [over], warnings: [unknown] };
      },
    });
    // cdktf visits every construct, top-down.
    for (const c of app.node.findAll()) aspect.visit(c);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.map((c) => c.resource?.address)).toEqual(['app/orders/db', 'app/web', 'app/workers', 'app/edge', 'app/sized']);
    expect(seen[0]?.every((c) => c.scope.environment === 'prod')).toBe(true);
    expect(db.metadata).toEqual([{ type: '@cdktf/error', data: 'entitlegate OVER_ENTITLEMENT (oracle-db-ee): projected 72 > 64' }]);
    // No construct at app/workers in this tree: the warning lands on the stack.
    expect(stack.metadata).toEqual([{ type: '@cdktf/warn', data: 'entitlegate UNKNOWN_QUANTITY (weblogic-ee): count unknown' }]);
    expect(web.metadata).toEqual([]);
    expect(aspect.claims).toHaveLength(5);
  });

  it('a stack without licensed resources is not evaluated', () => {
    const app = new FakeConstruct(undefined, 'App');
    new FakeStack(app, 'empty', { resource: { aws_s3_bucket: { b: { bucket: 'x' } } } });
    let calls = 0;
    const aspect = new EntitlegateAspect({
      config,
      evaluate: () => {
        calls++;
        return { violations: [] };
      },
    });
    for (const c of app.node.findAll()) aspect.visit(c);
    expect(calls).toBe(0);
  });
});
