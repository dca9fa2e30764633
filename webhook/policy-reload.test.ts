// A rebuilt custom policy is served without a restart: the running webhook
// watches the `.wasm` the config names, over real HTTPS.
import { copyFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { buildPolicy, opaUnavailable } from '../engine/policy/compile.ts';
import { builtinPolicyPath } from '../engine/policy/wasm.ts';
import { Gate } from './gate.ts';
import { buildServer } from './server.ts';
import { configYaml, deployment, httpsTestbed, NOW, review, usageYaml } from './test-support.ts';

const opaMissing = opaUnavailable();

const bed = httpsTestbed();

/** A server whose config names `policy.wasm` (a copy of the built-in policy to start with), reloading every 20 ms. */
async function start() {
  const dir = bed.runDir();
  const wasm = join(dir, 'policy.wasm');
  copyFileSync(builtinPolicyPath(), wasm);
  writeFileSync(join(dir, 'entitlegate.yaml'), `${configYaml(64)}policy: policy.wasm\n`);
  writeFileSync(join(dir, 'usage.yaml'), usageYaml(54));
  const gate = await Gate.create({ files: { config: join(dir, 'entitlegate.yaml'), usage: [join(dir, 'usage.yaml')] }, clock: () => NOW });
  const logs: string[] = [];
  const app = await buildServer({
    gate,
    tls: bed.tls,
    cluster: null,
    reloadIntervalMs: 20,
    defaultMetrics: false,
    logger: { level: 'info', stream: { write: (line: string) => void logs.push(line) } },
  });
  bed.defer(() => app.close());
  const client = bed.client(await app.listen({ port: 0, host: '127.0.0.1' }));
  const admit = async (cpu: string) =>
    (await client.post('/validate', review({ operation: 'CREATE', object: deployment({ name: 'orders', cpu }), dryRun: true }))).json
      .response;
  return { dir, wasm, admit, logs };
}

/** The same policy with a WebAssembly custom section appended: other bytes, same rules. */
function withCustomSection(bytes: Buffer, note: string): Buffer {
  const name = Buffer.from(note);
  return Buffer.concat([bytes, Buffer.from([0x00, name.length + 1, name.length]), name]);
}

describe('a rebuilt custom policy', () => {
  it('is served once its .wasm changes (no restart, no touch of the config); a broken rebuild is refused and the last good one keeps serving', async () => {
    const { wasm, admit, logs } = await start();
    const first = (await admit('1')).auditAnnotations.policy;
    const rebuilt = withCustomSection(readFileSync(wasm), 'rebuilt');
    writeFileSync(wasm, rebuilt);
    await vi.waitFor(async () => expect((await admit('1')).auditAnnotations.policy).not.toBe(first), { timeout: 10_000, interval: 50 });
    const second = (await admit('1')).auditAnnotations.policy;
    expect(logs.some((l) => l.includes('"msg":"policy reloaded"'))).toBe(true);

    writeFileSync(wasm, 'not wasm at all');
    await vi.waitFor(() => expect(logs.some((l) => l.includes('policy reload refused; the previous policy keeps serving'))).toBe(true), {
      timeout: 10_000,
      interval: 50,
    });
    const after = await admit('1');
    expect(after.allowed).toBe(true);
    expect(after.auditAnnotations.policy).toBe(second);
  });

  it.skipIf(opaMissing)('with a new custom rule: its findings appear in admissions once the rebuild lands', async () => {
    const { dir, wasm, admit } = await start();
    expect((await admit('8')).allowed).toBe(true);
    const rules = join(dir, 'rules');
    mkdirSync(rules);
    writeFileSync(
      join(rules, 'rules.rego'),
      'package entitlegate.custom.team\n\nviolation contains {"code": "TEAM_TOO_BIG", "message": "more than 4 vCPU in one change", "product": c.product} if {\n\tsome c in input.claims\n\tc.quantity > 4\n}\n',
    );
    buildPolicy(join(dir, 'next.wasm'), [rules]);
    // As a build pipeline would: the new file renamed over the old one.
    renameSync(join(dir, 'next.wasm'), wasm);
    await vi.waitFor(async () => expect((await admit('8')).allowed).toBe(false), { timeout: 10_000, interval: 50 });
    expect((await admit('8')).status.message).toContain('more than 4 vCPU in one change');
    expect((await admit('2')).allowed).toBe(true);
  });
});
