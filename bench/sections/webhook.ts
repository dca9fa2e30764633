// Webhook section: `entitlegate serve` (POST /validate, HTTPS on loopback)
// beside a bare fastify HTTPS server that parses the same AdmissionReview and
// returns a fixed response. Each server runs in its own process; the load
// generator is a third (bench/lib/load.ts and bench/loadgen, shared with the
// decision section): keep-alive connections, one request in flight on each.
//
//   1. saturation: closed loop, CONNECTIONS requests in flight, for both,
//      alternating for SAT_ROUNDS rounds (the median round is reported). The
//      note gives how busy each server's main thread was: a server below
//      ~90% was not saturated, and its figure is the client's or the machine's;
//   2. latency at half of entitlegate's saturation rate: open loop, paced,
//      latency measured from each request's scheduled start (no coordinated
//      omission), for both at the same rate.
//
// The payload is a dryRun CREATE of a Deployment that fits, so every request
// makes the same full decision (claims, accounting, the compiled policy) and
// no reservation piles up across the run.
//
// Run directly, this file is one of the helper processes:
//   node bench/sections/webhook.ts bare --port N --cert F --key F
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { admissionRequestOf, claimsFromAdmission } from '../../adapters/kubernetes/admission.ts';
import { policyData } from '../../engine/books.ts';
import { loadConfig } from '../../config/load.ts';
import { Engine } from '../../engine/engine.ts';
import { loadUsage } from '../../engine/usage.ts';
import { startOpaServer, type OpaServer } from '../lib/opa-server.ts';
import { runLoad, type LoadResult } from '../lib/load.ts';
import type { BenchRow, BenchSection } from '../types.ts';

const HERE = fileURLToPath(import.meta.url);
const ROOT = join(HERE, '..', '..', '..');
const NOW = '2026-11-28T10:00:00Z';
const CONNECTIONS = 32;
const SAT_ROUNDS = 3;
// Each load run is a new process with new connections; without a warm-up the
// TLS handshakes of all of them land in the measured latencies.
const WARMUP_MS = 500;
const BARE = 'bare fastify HTTPS (fixed AdmissionReview)';
const EG = 'entitlegate serve POST /validate (HTTPS)';
const OPA = 'OPA server REST, same decision (plain HTTP)';

export function payload(): string {
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'orders-db', namespace: 'prod', labels: { app: 'orders-db' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'orders-db' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
      template: {
        metadata: { labels: { app: 'orders-db' } },
        spec: {
          containers: [
            {
              name: 'db',
              image: 'container-registry.oracle.com/database/enterprise:21.3.0.0',
              resources: { limits: { cpu: '2', memory: '8Gi' }, requests: { cpu: '1', memory: '8Gi' } },
            },
            { name: 'exporter', image: 'ghcr.io/example/oracle-exporter:1.0', resources: { limits: { cpu: '100m' } } },
          ],
        },
      },
    },
  };
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      name: 'orders-db',
      namespace: 'prod',
      operation: 'CREATE',
      userInfo: { username: 'alice@example.com', groups: ['system:authenticated'] },
      object: deployment,
      oldObject: null,
      dryRun: true,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  });
}

/**
 * What the OPA server is asked for the same admission: the policy input the
 * engine prepares from the AdmissionReview's claims (OPA cannot do the
 * accounting or read Kubernetes objects), and the engine's policy data.
 */
async function opaPeer(): Promise<{ data: object; body: string }> {
  const config = loadConfig(join(ROOT, 'examples', 'entitlegate.yaml'));
  const engine = await Engine.create(config, [loadUsage(join(ROOT, 'examples', 'usage.yaml'))]);
  const claims = claimsFromAdmission(admissionRequestOf(JSON.parse(payload())), {
    products: config.config.products,
    settings: config.config.kubernetes,
  });
  const { input } = engine.prepare(claims, { now: new Date(NOW) });
  return { data: policyData(config.config), body: JSON.stringify({ input }) };
}

// ---------------------------------------------------------------- helpers

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export function certs(dir: string): { ca: string; cert: string; key: string } {
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=bench CA']);
  writeFileSync(join(dir, 'ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', '/CN=localhost']);
  run([
    'x509',
    '-req',
    '-in',
    'tls.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'tls.crt',
    '-days',
    '1',
    '-extfile',
    'ext',
  ]);
  return { ca: join(dir, 'ca.crt'), cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
}

/** The package's bin (the bundle `npm run build` makes), as users run it; the sources without a build. */
export function entitlegateCmd(): string[] {
  const bin = join(ROOT, 'dist', 'bin', 'entitlegate.js');
  return existsSync(bin) ? [bin] : [join(ROOT, 'cli', 'main.ts')];
}

async function waitReady(url: string, ca: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const { Agent, request } = await import('undici');
  const agent = new Agent({ connect: { ca: readFileSync(ca), servername: 'localhost' } });
  const deadline = Date.now() + 30_000;
  try {
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${stderr()}`);
      try {
        const res = await request(`${url}/readyz`, { dispatcher: agent });
        await res.body.text();
        if (res.statusCode === 200) return;
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`server at ${url} not ready after 30 s: ${stderr()}`);
  } finally {
    await agent.close();
  }
}

export interface Server {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** CPU time of a process's main thread so far, in ms; undefined where there is no /proc. */
function mainThreadCpuMs(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime (fields 14 and 15 of stat), in clock ticks of 10 ms on Linux
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** How busy `server`'s main thread was while `run` ran, in percent. */
export async function withBusy<T>(server: Server, run: () => Promise<T>): Promise<{ result: T; busy: number | undefined }> {
  const cpu0 = mainThreadCpuMs(server.pid);
  const t0 = performance.now();
  const result = await run();
  const cpu1 = mainThreadCpuMs(server.pid);
  const busy = cpu0 === undefined || cpu1 === undefined ? undefined : Math.round(((cpu1 - cpu0) / (performance.now() - t0)) * 100);
  return { result, busy };
}

export async function startServer(args: string[], port: number, ca: string): Promise<Server> {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err = (err + String(d)).slice(-4000)));
  const url = `https://127.0.0.1:${port}`;
  await waitReady(url, ca, child, () => err);
  return {
    url,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

// ---------------------------------------------------------------- the section

export const webhookSection: BenchSection = {
  name: 'webhook',
  async run({ quick, log }) {
    const dir = mkdtempSync(join(tmpdir(), 'eg-bench-webhook-'));
    const servers: Server[] = [];
    let opa: OpaServer | undefined;
    try {
      const tls = certs(dir);
      const body = join(dir, 'review.json');
      writeFileSync(body, payload());
      const satMs = quick ? 1500 : 5000;
      const warmMs = quick ? 500 : 2000;
      const pacedMs = quick ? 1500 : 5000;
      const review = readFileSync(body, 'utf8');
      const load = (url: string, ms: number, rate?: number) =>
        runLoad({
          url: `${url}/validate`,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: review,
          concurrency: CONNECTIONS,
          // fresh connections first (TLS handshakes), then the measured run
          warmupMs: WARMUP_MS,
          runMs: ms,
          runs: 1,
          ca: tls.ca,
          expectBody: '"allowed":true',
          ...(rate ? { rate } : {}),
        });

      const barePort = await freePort();
      const bare = await startServer([HERE, 'bare', '--port', String(barePort), '--cert', tls.cert, '--key', tls.key], barePort, tls.ca);
      servers.push(bare);
      const egPort = await freePort();
      const config = join(ROOT, 'examples', 'entitlegate.yaml');
      const usage = join(ROOT, 'examples', 'usage.yaml');
      const eg = await startServer(
        [
          ...entitlegateCmd(),
          'serve',
          '--config',
          config,
          '--usage',
          usage,
          '--tls-cert',
          tls.cert,
          '--tls-key',
          tls.key,
          '--port',
          String(egPort),
          '--host',
          '127.0.0.1',
          '--no-cluster',
          '--now',
          NOW,
          '--log-level',
          'warn',
        ],
        egPort,
        tls.ca,
      );
      servers.push(eg);

      log(`webhook: warm-up ${warmMs} ms each`);
      await load(bare.url, warmMs);
      await load(eg.url, warmMs);
      // One saturation run of each varies by ±10% on a small shared VM, so
      // full runs alternate bare and entitlegate for several rounds and report
      // the round with the median ratio (all rounds' ratios go in the note).
      const rounds = quick ? 1 : SAT_ROUNDS;
      log(`webhook: saturation, ${CONNECTIONS} connections, ${satMs} ms each, ${rounds} round${rounds === 1 ? '' : 's'} alternating`);
      const satRounds: { bare: LoadResult; eg: LoadResult; ratio: number; busy: string }[] = [];
      for (let r = 0; r < rounds; r++) {
        const b = await withBusy(bare, () => load(bare.url, satMs));
        const e = await withBusy(eg, () => load(eg.url, satMs));
        if (e.result.unexpected || e.result.errors)
          log(`webhook: warning: ${e.result.unexpected} not allowed, ${e.result.errors} errors from entitlegate`);
        satRounds.push({
          bare: b.result,
          eg: e.result,
          ratio: e.result.opsPerSec / b.result.opsPerSec,
          busy: `${b.busy ?? '?'}%/${e.busy ?? '?'}%`,
        });
      }
      const median = [...satRounds].sort((a, b) => a.ratio - b.ratio)[Math.floor(satRounds.length / 2)]!;
      const { bare: bareSat, eg: egSat } = median;
      const busyNote = `; main thread busy (bare/entitlegate, warm-up included) ${satRounds.map((r) => r.busy).join(', ')}`;
      const roundsNote =
        (rounds > 1 ? `; median of ${rounds} alternating rounds, ratios ${satRounds.map((r) => r.ratio.toFixed(2)).join(', ')}` : '') +
        busyNote;
      const rate = Math.max(1, Math.floor(egSat.opsPerSec / 2));
      log(`webhook: paced at ${rate} req/s (half of entitlegate's saturation), ${pacedMs} ms each`);
      // Alternating rounds here too; each server's round with the median p99 is reported.
      const pacedRounds: { bare: LoadResult; eg: LoadResult }[] = [];
      for (let r = 0; r < rounds; r++)
        pacedRounds.push({ eg: await load(eg.url, pacedMs, rate), bare: await load(bare.url, pacedMs, rate) });
      const medianP99 = (xs: LoadResult[]) => [...xs].sort((a, b) => a.p99Ms - b.p99Ms)[Math.floor(xs.length / 2)]!;
      const egPaced = medianP99(pacedRounds.map((r) => r.eg));
      const barePaced = medianP99(pacedRounds.map((r) => r.bare));
      const pacedNote = (xs: LoadResult[]) =>
        `open loop: latency from each request's due time${rounds > 1 ? `; median of ${rounds} alternating rounds, p99 ${xs.map((x) => x.p99Ms.toFixed(2)).join(', ')} ms` : ''}`;

      // The OPA server as the peer a Gatekeeper-style setup would call: same
      // decision, same load generator and connections; plain HTTP (an advantage to it).
      const peer = await opaPeer();
      opa = await startOpaServer(peer.data);
      const opaLoad = (ms: number) =>
        runLoad({
          url: `${opa!.url}/v1/data/entitlegate/decision`,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: peer.body,
          concurrency: CONNECTIONS,
          // fresh connections first (TLS handshakes), then the measured run
          warmupMs: WARMUP_MS,
          runMs: ms,
          runs: 1,
          expectBody: '"allowed":true',
        });
      log(`webhook: OPA server REST, ${CONNECTIONS} connections, ${satMs} ms`);
      await opaLoad(warmMs);
      const opaSat = await opaLoad(satMs);
      if (opaSat.unexpected || opaSat.errors)
        log(`webhook: warning: ${opaSat.unexpected} not allowed, ${opaSat.errors} errors from the OPA server`);

      const ratio = egSat.opsPerSec / bareSat.opsPerSec;
      const input = `AdmissionReview CREATE Deployment (dryRun), ${CONNECTIONS} connections`;
      const r2 = (n: number) => Math.round(n * 1000) / 1000;
      return [
        {
          section: 'webhook',
          subject: BARE,
          input,
          opsPerSec: Math.round(bareSat.opsPerSec),
          p50Ms: r2(bareSat.p50Ms),
          p99Ms: r2(bareSat.p99Ms),
          note: `saturation${rounds > 1 ? '; the median round' : ''}`,
        },
        {
          section: 'webhook',
          subject: EG,
          input,
          opsPerSec: Math.round(egSat.opsPerSec),
          p50Ms: r2(egSat.p50Ms),
          p99Ms: r2(egSat.p99Ms),
          baseline: BARE,
          ratio: Math.round(ratio * 1000) / 1000,
          target: '≥ 60% of bare throughput',
          met: ratio >= 0.6,
          note: `saturation${roundsNote}`,
        },
        {
          section: 'webhook',
          subject: OPA,
          input: `the same decision's policy input, ${CONNECTIONS} connections`,
          opsPerSec: Math.round(opaSat.opsPerSec),
          p50Ms: r2(opaSat.p50Ms),
          p99Ms: r2(opaSat.p99Ms),
          note: 'saturation',
        },
        {
          section: 'webhook',
          subject: EG,
          input,
          opsPerSec: Math.round(egSat.opsPerSec),
          baseline: OPA,
          ratio: Math.round((egSat.opsPerSec / opaSat.opsPerSec) * 1000) / 1000,
          target: 'ahead of the OPA server REST API',
          met: egSat.opsPerSec > opaSat.opsPerSec,
          note: 'saturation; entitlegate also reads the AdmissionReview, does the accounting and speaks TLS',
        },
        {
          section: 'webhook',
          subject: `${BARE}, paced`,
          input: `${rate} req/s open loop`,
          opsPerSec: Math.round(barePaced.opsPerSec),
          p50Ms: r2(barePaced.p50Ms),
          p99Ms: r2(barePaced.p99Ms),
          note: pacedNote(pacedRounds.map((r) => r.bare)),
        },
        {
          section: 'webhook',
          subject: `${EG}, paced`,
          input: `${rate} req/s open loop (half of saturation)`,
          opsPerSec: Math.round(egPaced.opsPerSec),
          p50Ms: r2(egPaced.p50Ms),
          p99Ms: r2(egPaced.p99Ms),
          baseline: `${BARE}, paced`,
          ratio: Math.round((egPaced.p99Ms / barePaced.p99Ms) * 100) / 100,
          target: 'p99 < 5 ms at half of saturation',
          met: egPaced.p99Ms < 5,
          note: pacedNote(pacedRounds.map((r) => r.eg)),
        },
      ] satisfies BenchRow[];
    } finally {
      await Promise.all([...servers.map((s) => s.stop()), opa?.stop()]);
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

// ---------------------------------------------------------------- helper processes

async function bareServer(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { port: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' } } });
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ https: { cert: readFileSync(values.cert!), key: readFileSync(values.key!) }, logger: false });
  const response = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true },
  };
  app.post('/validate', { bodyLimit: 8 * 1024 * 1024 }, (_req, reply) => reply.send(response));
  app.get('/readyz', async () => ({ status: 'ready' }));
  await app.listen({ port: Number(values.port), host: '127.0.0.1' });
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

if (process.argv[1] === HERE) {
  const [role, ...rest] = process.argv.slice(2);
  if (role === 'bare') await bareServer(rest);
  else {
    // Standalone: run the section and print its rows.
    const rows = await webhookSection.run({
      quick: rest.includes('--quick') || role === '--quick',
      log: (l) => process.stderr.write(`${l}\n`),
    });
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  }
}
