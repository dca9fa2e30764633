// Fail-closed answers over real HTTPS: an admission that cannot be evaluated
// is denied (or admitted in a fail-open namespace) with a reason a user can
// act on — the step that failed and why — never "undefined" or "Maximum call
// stack size exceeded".
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Inventory } from '../adapters/kubernetes/inventory.ts';
import { buildPolicy, opaUnavailable } from '../engine/policy/compile.ts';
import { Gate } from './gate.ts';
import { buildServer } from './server.ts';
import { configYaml, deployment, httpsTestbed, NOW, review, scale, usageYaml } from './test-support.ts';

const opaMissing = opaUnavailable();

const bed = httpsTestbed();

async function start(extra = '') {
  const dir = bed.runDir();
  writeFileSync(join(dir, 'entitlegate.yaml'), configYaml(64) + extra);
  writeFileSync(join(dir, 'usage.yaml'), usageYaml(54));
  const gate = await Gate.create({ files: { config: join(dir, 'entitlegate.yaml'), usage: [join(dir, 'usage.yaml')] }, clock: () => NOW });
  const app = await buildServer({ gate, tls: bed.tls, cluster: null, reloadIntervalMs: 0, defaultMetrics: false, logger: false });
  bed.defer(() => app.close());
  const client = bed.client(await app.listen({ port: 0, host: '127.0.0.1' }));
  return { gate, client, dir };
}

/** A CREATE whose container's CPU limit is `cpu` (JSON text, spliced in as is). */
function createWithCpu(cpuJson: string, namespace = 'prod'): string {
  const body = JSON.stringify(review({ operation: 'CREATE', object: deployment({ name: 'deep', namespace, cpu: '1' }) }));
  return body.replace('"cpu":"1"', `"cpu":${cpuJson}`);
}

const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

function expectActionable(message: string): void {
  expect(message).not.toMatch(/Maximum call stack|: undefined\b|internal error: undefined/);
  expect(message).not.toMatch(/\n\s+at /);
}

describe('fail-closed answers say what failed', () => {
  it('an object nested too deeply to read: denied, naming the step and why (not "Maximum call stack size exceeded")', async () => {
    const { client, gate } = await start();
    const { status, json } = await client.post('/validate', createWithCpu(deepObject(20_000)));
    expect(status).toBe(200);
    const r = json.response;
    expect(r.allowed).toBe(false);
    expect(r.status.message).toMatch(
      /^entitlegate could not evaluate this change, so it is denied: the input is nested too deeply to read while reading the object/,
    );
    expectActionable(r.status.message);
    expect(r.auditAnnotations).toMatchObject({ decision: 'error-denied', error: 'EG_ERR_INTERNAL' });
    expect(gate.reservations.size).toBe(0);
  });

  it('a cluster inventory that throws: denied, naming the inventory step; in a fail-open namespace admitted with the same words', async () => {
    const { client, gate } = await start();
    // An inventory in a broken state: what it throws is not an Error and has no message.
    const broken = {
      workload: () => {
        throw undefined;
      },
      namespaceLabels: () => undefined,
      nodeCount: undefined,
      usage: () => [],
      reconfigure: () => undefined,
    } as unknown as Inventory;
    gate.attachInventory(broken);
    const closed = await client.post('/validate', scale('orders', 4, 2));
    expect(closed.json.response.allowed).toBe(false);
    expect(closed.json.response.status.message).toBe(
      'entitlegate could not evaluate this change, so it is denied: an unexpected error while reading the cluster inventory (EG_ERR_INTERNAL, a bug in entitlegate; the server log has the details, please report it): undefined with no message',
    );
    const open = await client.post('/validate', scale('orders', 4, 2, 'sandbox'));
    expect(open.json.response.allowed).toBe(true);
    expect(open.json.response.warnings[0]).toMatch(
      /^entitlegate could not evaluate \(admitted: namespace sandbox is fail-open\): an unexpected error while reading the clust/,
    );
  });

  it.skipIf(opaMissing)(
    'a custom rule that stops with a runtime error: denied with the rule file, line and what to do (not "undefined")',
    async () => {
      const rules = join(bed.dir, 'boom');
      mkdirSync(rules);
      // Two values for one complete rule when quantity > 1: OPA aborts the evaluation at run time.
      writeFileSync(
        join(rules, 'rules.rego'),
        'package entitlegate.custom.boom\n\ntier := "a" if input.claims[0].quantity > 0\n\ntier := "b" if input.claims[0].quantity > 1\n\nviolation contains {"code": "BOOM", "message": tier} if tier == "z"\n',
      );
      const wasm = join(bed.dir, 'boom.wasm');
      buildPolicy(wasm, [rules]);
      const { client } = await start(`policy: ${wasm}\n`);
      const { json } = await client.post('/validate', review({ operation: 'CREATE', object: deployment({ name: 'two', cpu: '2' }) }));
      expect(json.response.allowed).toBe(false);
      const message: string = json.response.status.message;
      expect(message).toMatch(/the policy failed to evaluate: .*rules\.rego:5:1: var assignment conflict/);
      expect(message).toMatch(/rebuild the policy/);
      expectActionable(message);
    },
  );
});
