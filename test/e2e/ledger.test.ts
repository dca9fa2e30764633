// Every surface on one ledger (issue 17's end-to-end acceptance): two real
// control planes, each with its own `entitlegate serve --ledger` process, plus
// a `check --reserve` and the HCP Terraform run task, all compete for one
// entitlement and together never exceed it; each cluster's usage shows in the
// ledger as its own source.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { change, plan } from '../../adapters/terraform/test-helpers.ts';
import { createLedgerToken } from '../../ledger/serve.ts';
import { freePort } from '../../ledger/testing/postgres.ts';
import { type LedgerProcess, startLedgerProcess } from '../../ledger/testing/process.ts';
import { type ControlPlane, controlPlaneUnavailable, registerWebhook, startControlPlane } from './controlplane.ts';
import { e2eConfig, errorBody, eventually, licensedDeployment } from './entitlegate.ts';

const unavailable = controlPlaneUnavailable();
if (unavailable) {
  if (process.env.ENTITLEGATE_E2E_REQUIRE) throw new Error(`e2e control plane required but unavailable: ${unavailable}`);
  console.warn(`skipping e2e ledger tests: ${unavailable}`);
}

const MAIN = resolve(import.meta.dirname, '../../cli/main.ts');
const CAPACITY = 12;
const HMAC_KEY = 'e2e-run-task-hmac-key';
const RUN_TOKEN = 'atlasv1.e2e-run-token';

/** One product, `db`, 12 vCPU, matched in Kubernetes by image and in Terraform by a terraform_data input; the run task on. */
function config(cluster: string): string {
  return e2eConfig({ db: CAPACITY })
    .replace(
      'images: ["registry.example/db:*"]',
      'images: ["registry.example/db:*"]\n      terraform:\n        - type: terraform_data\n          where: { input.product: db }\n          quantity: { attribute: input.vcpu }',
    )
    .replace('cluster: e2e', `cluster: ${cluster}`)
    .concat(`terraform:\n  runTaskHmacKey: ${HMAC_KEY}\n  runTaskHosts: ['127.0.0.1']\n`);
}

interface Serve {
  child: ChildProcess;
  url: string;
  log(): string;
  stop(): Promise<void>;
}

/** `entitlegate serve --ledger URL --token-file F` as its own process, watching `cp` through its admin kubeconfig. */
async function startServe(cp: ControlPlane, dir: string, cluster: string, ledgerUrl: string, tokenFile: string): Promise<Serve> {
  const configFile = join(dir, `${cluster}.yaml`);
  writeFileSync(configFile, config(cluster));
  const tls = await cp.issueServingCert(`serve-${cluster}`, ['127.0.0.1', 'localhost']);
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      MAIN,
      'serve',
      '--config',
      configFile,
      '--tls-cert',
      tls.certPath,
      '--tls-key',
      tls.keyPath,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--ledger',
      ledgerUrl,
      '--token-file',
      tokenFile,
      '--log-level',
      'warn',
    ],
    { env: { ...process.env, KUBECONFIG: cp.kubeconfigPath }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `https://127.0.0.1:${port}`;
  const serve: Serve = {
    child,
    url,
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`serve ${cluster} exited ${child.exitCode}: ${log}`);
      return (await httpsCall(url, cp.caPem, 'GET', '/readyz')).status === 200 ? true : undefined;
    },
    60_000,
    `serve ${cluster} ready`,
  ).catch(async (err) => {
    await serve.stop();
    throw new Error(`${(err as Error).message}\n${log}`);
  });
  return serve;
}

function httpsCall(url: string, ca: string, method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; text: string }>((resolveCall, reject) => {
    const req = httpsRequest(`${url}${path}`, { method, agent: new Agent({ ca }), headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolveCall({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** HCP Terraform's side of the run task: the plan JSON API and the result callback, on loopback. */
async function startFakeHcp(
  planJson: string,
): Promise<{ url: string; results: Promise<{ status: string; message: string }>; close(): Promise<void> }> {
  let done!: (r: { status: string; message: string }) => void;
  const results = new Promise<{ status: string; message: string }>((r) => (done = r));
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/api/v2/plans/plan-1/json-output') {
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(planJson);
      }
      if (req.method === 'PATCH' && req.url === '/api/v2/task-results/tr-1/callback') {
        res.writeHead(200).end();
        return void done(JSON.parse(body).data.attributes);
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, results, close: () => new Promise((r) => server.close(() => r())) };
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolveRun({ code: code ?? -1, stdout, stderr }));
  });
}

describe.skipIf(unavailable !== undefined)('two clusters, a deploy job and the run task on one ledger', { timeout: 240_000 }, () => {
  let dir: string;
  let ledger: LedgerProcess;
  let admin: string;
  let gateTokenFile: string;
  const planes: ControlPlane[] = [];
  const serves: Serve[] = [];

  const ask = async (path: string): Promise<any> =>
    (await fetch(ledger.url + path, { headers: { authorization: `Bearer ${admin}` } })).json();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'eg-e2e-ledger-'));
    const store = join(dir, 'ledger.db');
    const now = new Date();
    const webhookToken = (await createLedgerToken({ store, name: 'webhooks', roles: ['gate', 'reporter'], now })).token;
    const gateToken = (await createLedgerToken({ store, name: 'deploy-jobs', roles: ['gate'], now })).token;
    admin = (await createLedgerToken({ store, name: 'admin', roles: ['admin'], now })).token;
    const webhookTokenFile = join(dir, 'webhook-token');
    writeFileSync(webhookTokenFile, `${webhookToken}\n`);
    gateTokenFile = join(dir, 'gate-token');
    writeFileSync(gateTokenFile, `${gateToken}\n`);
    const ledgerConfig = join(dir, 'ledger.yaml');
    writeFileSync(ledgerConfig, config('ledger'));
    ledger = await startLedgerProcess({ config: ledgerConfig, store });
    planes.push(...(await Promise.all([startControlPlane(), startControlPlane()])));
    for (const [i, cluster] of ['east', 'west'].entries()) {
      const cp = planes[i]!;
      const serve = await startServe(cp, dir, cluster, ledger.url, webhookTokenFile);
      serves.push(serve);
      await registerWebhook({
        kubeconfig: cp.kubeconfigPath,
        url: `${serve.url}/validate`,
        caPem: cp.caPem,
        failurePolicy: 'Fail',
        rules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments'] }],
      });
      await cp
        .kubeConfig()
        .makeApiClient(CoreV1Api)
        .createNamespace({ body: { metadata: { name: 'apps' } } });
    }
  });

  afterAll(async () => {
    for (const s of serves) await s.stop().catch(() => {});
    for (const cp of planes) await cp.stop().catch(() => {});
    await ledger?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('twelve requests of 2 vCPU for 12 vCPU: exactly 6 get through, across clusters, the deploy job and the run task', async () => {
    const appsApis = planes.map((cp) => cp.kubeConfig().makeApiClient(AppsV1Api));
    // The webhook is registered through the API server's own informer: wait until it decides (a dry run that cannot fit).
    for (const api of appsApis) {
      await eventually(
        async () => {
          try {
            await api.createNamespacedDeployment({
              namespace: 'apps',
              body: licensedDeployment('probe', 'db', CAPACITY + 1),
              dryRun: 'All',
            });
            return undefined;
          } catch (err) {
            return errorBody(err).includes('entitlegate') ? true : undefined;
          }
        },
        30_000,
        'webhook active',
      );
    }

    const claims = join(dir, 'claims.json');
    writeFileSync(
      claims,
      JSON.stringify({
        claims: [{ product: 'db', quantity: 2, scope: {}, resource: { kind: 'Deployment', name: 'batch', namespace: 'jobs' } }],
      }),
    );
    const planJson = JSON.stringify(
      plan([
        change(
          'terraform_data.db',
          ['create'],
          null,
          { input: { product: 'db', vcpu: 2 }, output: null, triggers_replace: null },
          { after_unknown: { id: true, output: true } },
        ),
      ]),
    );
    const hcp = await startFakeHcp(planJson);
    const payload = JSON.stringify({
      payload_version: 1,
      stage: 'post_plan',
      access_token: RUN_TOKEN,
      is_speculative: false,
      run_id: 'run-e2e',
      workspace_name: 'payments',
      task_result_id: 'tr-1',
      task_result_callback_url: `${hcp.url}/api/v2/task-results/tr-1/callback`,
      plan_json_api_url: `${hcp.url}/api/v2/plans/plan-1/json-output`,
    });

    // All at once: 5 Deployments per cluster, the deploy job's check --reserve, the run task.
    const creates = appsApis.flatMap((api, c) =>
      Array.from({ length: 5 }, (_, i) =>
        api.createNamespacedDeployment({ namespace: 'apps', body: licensedDeployment(`app-${c}-${i}`, 'db', 2) }).then(
          () => true,
          (err) => {
            // Refused by the ledger on capacity, not by a failure.
            expect(errorBody(err)).toMatch(/entitlegate: db: \d+ vcpu projected exceeds the 12 vcpu covered/);
            return false;
          },
        ),
      ),
    );
    const check = cli(['check', claims, '--ledger', ledger.url, '--reserve', '--token-file', gateTokenFile, '--format', 'json']);
    const runTask = httpsCall(serves[0]!.url, planes[0]!.caPem, 'POST', '/terraform/run-task', payload, {
      'content-type': 'application/json',
      'x-tfc-task-signature': createHmac('sha512', HMAC_KEY).update(payload).digest('hex'),
    });
    const [stored, checked, accepted] = await Promise.all([Promise.all(creates), check, runTask]);
    expect(accepted.status).toBe(200);
    const result = await hcp.results;
    await hcp.close();

    const clusterAdmitted = stored.filter(Boolean).length;
    const checkReserved = checked.code === 0 ? 1 : 0;
    expect([0, 1]).toContain(checked.code);
    const runReserved = result.status === 'passed' ? 1 : 0;
    // Exactly what fits, never more: 6 × 2 = 12.
    expect(clusterAdmitted + checkReserved + runReserved).toBe(CAPACITY / 2);

    // What is stored in each cluster is what the ledger admitted there.
    const perCluster = await Promise.all(
      appsApis.map(
        async (api) =>
          (await api.listNamespacedDeployment({ namespace: 'apps' })).items.filter((d) => d.metadata?.name?.startsWith('app-')).length,
      ),
    );
    expect(perCluster[0]! + perCluster[1]!).toBe(clusterAdmitted);

    // Each cluster reports as its own source, and once reported its Deployments count from the report, not from reservations.
    await eventually(
      async () => {
        const { sources } = await ask('/v1/sources');
        const names = (sources as { source: string }[]).map((s) => s.source);
        return names.includes('cluster:east') && names.includes('cluster:west') ? true : undefined;
      },
      30_000,
      'both clusters reported',
    );
    const reported = async (cluster: string) => {
      const { reports } = await ask(`/v1/sources/${encodeURIComponent(`cluster:${cluster}`)}/usage/history`);
      return (reports[0].usage as { quantity: number }[]).reduce((a, r) => a + r.quantity, 0);
    };
    await eventually(
      async () => ((await reported('east')) === perCluster[0]! * 2 && (await reported('west')) === perCluster[1]! * 2 ? true : undefined),
      30_000,
      'reports match the clusters',
    );
    await eventually(
      async () => {
        const { reservations } = await ask('/v1/reservations?state=held,confirmed&limit=100');
        return reservations.length === checkReserved + runReserved ? true : undefined;
      },
      30_000,
      'cluster reservations settled by the reports',
    );
    // Full: one more anywhere is refused.
    await expect(
      appsApis[1]!.createNamespacedDeployment({ namespace: 'apps', body: licensedDeployment('one-more', 'db', 1) }),
    ).rejects.toThrow();
  });
});
