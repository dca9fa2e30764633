import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EntitlegateError } from '../../engine/errors.ts';
import type { TerraformAdapterConfig } from '../terraform/claims.ts';
import { product } from '../terraform/test-helpers.ts';
import { claimsFromCdktfOut, isCdktfOut } from './synth.ts';

const out = fileURLToPath(new URL('./fixtures/cdktf.out', import.meta.url));

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
  ],
};

describe('cdktf.out', () => {
  it('is recognised by its manifest or its stacks folder', () => {
    expect(isCdktfOut(out)).toBe(true);
    expect(isCdktfOut(join(out, 'stacks'))).toBe(false);
    expect(isCdktfOut(join(out, 'manifest.json'))).toBe(false);
    expect(isCdktfOut('/nonexistent')).toBe(false);
    const dir = mkdtempSync(join(tmpdir(), 'eg-cdktf-'));
    cpSync(join(out, 'stacks'), join(dir, 'stacks'), { recursive: true });
    expect(isCdktfOut(dir)).toBe(true);
    expect(claimsFromCdktfOut(dir, config)).toHaveLength(6);
    rmSync(dir, { recursive: true });
  });

  it('every resource is a create of its desired state, addressed by construct path', () => {
    const claims = claimsFromCdktfOut(out, config, { scope: { environment: 'prod' } });
    const brief = claims.map((c) => ({
      address: c.resource?.address,
      product: c.product,
      quantity: c.quantity,
      region: c.scope.region,
      reason: c.unknownReason,
    }));
    expect(brief).toEqual([
      { address: 'app/orders/db', product: 'oracle-db-ee', quantity: 8, region: 'eu-west-1', reason: undefined },
      // count = 3 literal: three m5.xlarge, on the aliased provider's region.
      { address: 'app/web', product: 'weblogic-ee', quantity: 12, region: 'us-east-1', reason: undefined },
      {
        address: 'app/workers',
        product: 'weblogic-ee',
        quantity: null,
        region: 'eu-west-1',
        reason: 'count is ${var.worker_count}, known only at plan time',
      },
      {
        address: 'app/edge',
        product: 'weblogic-ee',
        quantity: null,
        region: 'eu-west-1',
        reason: expect.stringMatching(/^for_each is .* known only at plan time$/),
      },
      {
        address: 'app/sized',
        product: 'weblogic-ee',
        quantity: null,
        region: 'eu-west-1',
        reason: 'instance_type is known only after apply',
      },
      // for_each over a literal map: one instance per key; provider region is an expression.
      { address: 'batch/node', product: 'weblogic-ee', quantity: 4, region: undefined, reason: undefined },
    ]);
    expect(claims[0]?.resource).toMatchObject({
      kind: 'aws_db_instance',
      name: 'orders_db_6C1B2F4A',
      file: expect.stringMatching(/stacks\/app\/cdk\.tf\.json$/),
    });
    expect(claims.every((c) => c.scope.environment === 'prod')).toBe(true);
  });

  it('a broken cdk.tf.json or manifest is an input error with its position', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eg-cdktf-'));
    cpSync(out, dir, { recursive: true });
    writeFileSync(join(dir, 'stacks', 'batch', 'cdk.tf.json'), '{\n  "resource": {\n');
    const err = (() => {
      try {
        claimsFromCdktfOut(dir, config);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(EntitlegateError);
    expect((err as EntitlegateError).message).toMatch(/stacks\/batch\/cdk\.tf\.json:3:1 the JSON ends early/);
    writeFileSync(join(dir, 'manifest.json'), '{"version": "0.20.10"}');
    expect(() => claimsFromCdktfOut(dir, config)).toThrow(/not a cdktf manifest/);
    rmSync(dir, { recursive: true });
  });
});

describe('cdktf.out files as editors and tools leave them', () => {
  it('reads a stack with a UTF-8 byte-order mark, and refuses a FIFO instead of blocking on it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eg-cdktf-'));
    cpSync(join(out, 'stacks'), join(dir, 'stacks'), { recursive: true });
    const file = join(dir, 'stacks', 'app', 'cdk.tf.json');
    writeFileSync(file, `\uFEFF${readFileSync(file, 'utf8')}`);
    expect(claimsFromCdktfOut(dir, config)).toHaveLength(6);
    unlinkSync(file);
    expect(spawnSync('mkfifo', [file]).status).toBe(0);
    expect(() => claimsFromCdktfOut(dir, config)).toThrow(/is not a regular file/);
    // Nor does a FIFO named manifest.json block the test whether a folder is a cdktf.out.
    expect(spawnSync('mkfifo', [join(dir, 'manifest.json')]).status).toBe(0);
    expect(isCdktfOut(dir)).toBe(true);
    rmSync(dir, { recursive: true });
  });
});
