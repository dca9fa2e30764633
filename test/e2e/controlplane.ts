// A real, minimal Kubernetes control plane for end-to-end tests: etcd and
// kube-apiserver built from source by scripts/install-kube.sh, started on
// loopback with a throw-away CA. No controller-manager, scheduler or kubelet
// run: objects are stored, validated and admitted (including by webhooks), but
// nothing reconciles them (a Deployment gets no ReplicaSet or Pods, a deleted
// Namespace stays Terminating).
//
//   const cp = await startControlPlane();
//   try { ...new KubeConfig().loadFromFile(cp.kubeconfigPath)... }
//   finally { await cp.stop(); }

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile, open } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { toolCacheDir } from '../../engine/policy/compile.ts';
import { AdmissionregistrationV1Api, KubeConfig, type V1RuleWithOperations } from '@kubernetes/client-node';

const execFileP = promisify(execFile);

/** Versions built by scripts/install-kube.sh (keep in step with it). */
export const KUBE_VERSION = 'v1.37.2';
export const ETCD_VERSION = 'v3.7.3';

/**
 * Where the binaries are: $ENTITLEGATE_KUBE_BIN, else the install-kube.sh
 * cache ($EG_CACHE or $XDG_CACHE_HOME/entitlegate or ~/.cache/entitlegate).
 */
export function kubeBinDir(): string {
  const fromEnv = process.env.ENTITLEGATE_KUBE_BIN;
  if (fromEnv) return fromEnv;
  return join(toolCacheDir(), `kube-${KUBE_VERSION}`, 'bin');
}

/** Why the control plane cannot start here, or undefined if it can. */
export function controlPlaneUnavailable(binDir = kubeBinDir()): string | undefined {
  const missing = ['etcd', 'kube-apiserver'].filter((b) => !existsSync(join(binDir, b)));
  if (missing.length > 0) {
    return `${missing.join(' and ')} not found in ${binDir}; run scripts/install-kube.sh or set ENTITLEGATE_KUBE_BIN`;
  }
  return undefined;
}

export interface ControlPlaneOptions {
  /** Working directory (certs, etcd data, logs, kubeconfig). Default: a new temp dir, removed by stop(). */
  dir?: string;
  /** Directory holding `etcd` and `kube-apiserver`. Default: kubeBinDir(). */
  binDir?: string;
  /** How long to wait for /readyz. Default 120 s (a loaded 2-core CI box needs ~10-30 s). */
  readyTimeoutMs?: number;
  /** Extra kube-apiserver flags, e.g. ["--v=4"]. Later flags win. */
  apiserverArgs?: string[];
  /** Keep the working directory after stop() (for debugging). Default: false, or true if $ENTITLEGATE_E2E_KEEP is set. */
  keepDir?: boolean;
}

export interface ServingCert {
  certPem: string;
  keyPem: string;
  certPath: string;
  keyPath: string;
}

export interface ControlPlane {
  /** Admin kubeconfig (client certificate in group system:masters). */
  kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** The CA that signed the API server's serving cert and the admin client cert. */
  caPem: string;
  /** Admin client certificate and key (PEM), for raw HTTPS calls. */
  adminCertPem: string;
  adminKeyPem: string;
  /** etcd client URL (plain HTTP on loopback). */
  etcdUrl: string;
  /** Working directory and log files. */
  dir: string;
  logs: { etcd: string; apiserver: string };
  /** A fresh KubeConfig loaded from kubeconfigPath. */
  kubeConfig(): KubeConfig;
  /**
   * Issues a TLS serving certificate from the same CA (for a webhook server);
   * hosts are DNS names or IP addresses. Use `caPem` as the webhook's caBundle.
   */
  issueServingCert(name: string, hosts?: string[]): Promise<ServingCert>;
  /** Last lines of both logs, for failure messages. */
  logTail(lines?: number): Promise<string>;
  /** Stops kube-apiserver then etcd (SIGTERM, then SIGKILL after 10 s) and removes the working dir. Idempotent. */
  stop(): Promise<void>;
}

/** Starts etcd and kube-apiserver on loopback and waits until /readyz is ok. */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const binDir = opts.binDir ?? kubeBinDir();
  const why = controlPlaneUnavailable(binDir);
  if (why) throw new Error(why);
  await requireOpenssl();

  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'entitlegate-kube-')));
  await mkdir(dir, { recursive: true });
  const keepDir = opts.keepDir ?? Boolean(process.env.ENTITLEGATE_E2E_KEEP);
  const logs = { etcd: join(dir, 'etcd.log'), apiserver: join(dir, 'kube-apiserver.log') };
  const procs: Supervised[] = [];
  let stopped = false;

  const logTail = async (lines = 60): Promise<string> => {
    const parts: string[] = [];
    for (const [name, path] of Object.entries(logs)) {
      const text = await readFile(path, 'utf8').catch(() => '(no log)');
      parts.push(
        `--- ${name} (${path}), last ${lines} lines ---\n${text
          .split('\n')
          .slice(-lines - 1)
          .join('\n')}`,
      );
    }
    return parts.join('\n');
  };

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // API server first, so it does not log a storm of etcd errors.
    for (const p of [...procs].reverse()) await p.stop();
    if (ownDir && !keepDir) await rm(dir, { recursive: true, force: true });
  };

  try {
    const pki = join(dir, 'pki');
    await mkdir(pki, { recursive: true });
    const ca = await makeCa(pki);
    const [etcdPort, etcdPeerPort, apiPort] = await freePorts(3);
    const host = '127.0.0.1';
    const serving = await issueCert(pki, ca, 'kube-apiserver', {
      cn: 'kube-apiserver',
      sans: sanList([host, 'localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', '10.0.0.1']),
      usage: 'serverAuth',
    });
    const admin = await issueCert(pki, ca, 'admin', { cn: 'entitlegate-e2e-admin', org: 'system:masters', usage: 'clientAuth' });
    const saKey = join(pki, 'sa.key');
    const saPub = join(pki, 'sa.pub');
    await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', saKey]);
    await openssl(['pkey', '-in', saKey, '-pubout', '-out', saPub]);

    // etcd: single member, plain HTTP on loopback, no fsync (test data only).
    const etcdUrl = `http://${host}:${etcdPort}`;
    const peerUrl = `http://${host}:${etcdPeerPort}`;
    procs.push(
      await supervise(
        'etcd',
        join(binDir, 'etcd'),
        [
          '--name=e2e',
          `--data-dir=${join(dir, 'etcd-data')}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=${peerUrl}`,
          `--initial-advertise-peer-urls=${peerUrl}`,
          `--initial-cluster=e2e=${peerUrl}`,
          '--initial-cluster-state=new',
          '--unsafe-no-fsync',
          '--log-level=warn',
        ],
        logs.etcd,
      ),
    );
    await waitFor('etcd /health', 30_000, procs, logTail, async () => {
      const { status, body } = await get(`${etcdUrl}/health`);
      return status === 200 && body.includes('"health":"true"');
    });

    const server = `https://${host}:${apiPort}`;
    procs.push(
      await supervise(
        'kube-apiserver',
        join(binDir, 'kube-apiserver'),
        [
          `--etcd-servers=${etcdUrl}`,
          `--bind-address=${host}`,
          `--advertise-address=${host}`,
          // The endpoint reconciler refuses a loopback advertise address; with
          // "none" the default/kubernetes Service simply gets no endpoints.
          '--endpoint-reconciler-type=none',
          `--secure-port=${apiPort}`,
          `--cert-dir=${pki}`,
          `--tls-cert-file=${serving.certPath}`,
          `--tls-private-key-file=${serving.keyPath}`,
          `--client-ca-file=${ca.certPath}`,
          `--service-account-issuer=${server}`,
          `--service-account-key-file=${saPub}`,
          `--service-account-signing-key-file=${saKey}`,
          '--service-cluster-ip-range=10.0.0.0/24',
          '--authorization-mode=RBAC',
          // Default admission plugins stay on (including MutatingAdmissionWebhook
          // and ValidatingAdmissionWebhook). ServiceAccount is off: it refuses
          // Pods until the controller-manager has created the namespace's
          // "default" ServiceAccount, and no controller-manager runs here.
          '--disable-admission-plugins=ServiceAccount',
          '--allow-privileged=true',
          '--profiling=false',
          ...(opts.apiserverArgs ?? []),
        ],
        logs.apiserver,
      ),
    );
    const client = { ca: ca.certPem, cert: admin.certPem, key: admin.keyPem };
    await waitFor('kube-apiserver /readyz', opts.readyTimeoutMs ?? 120_000, procs, logTail, async () => {
      const { status } = await get(`${server}/readyz`, client);
      return status === 200;
    });

    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(kubeconfigPath, kubeconfigYaml(server, ca.certPem, admin.certPem, admin.keyPem), { mode: 0o600 });

    return {
      kubeconfigPath,
      server,
      caPem: ca.certPem,
      adminCertPem: admin.certPem,
      adminKeyPem: admin.keyPem,
      etcdUrl,
      dir,
      logs,
      kubeConfig() {
        const kc = new KubeConfig();
        kc.loadFromFile(kubeconfigPath);
        return kc;
      },
      async issueServingCert(name, hosts = ['127.0.0.1', 'localhost']) {
        if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`cert name must be [a-z0-9-]: ${name}`);
        return issueCert(pki, ca, `serving-${name}`, { cn: hosts[0] ?? name, sans: sanList(hosts), usage: 'serverAuth' });
      },
      logTail,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

// ---------------------------------------------------------------- webhooks

export interface RegisterWebhookOptions {
  /** A kubeconfig path or a loaded KubeConfig (admin). */
  kubeconfig: string | KubeConfig;
  /** ValidatingWebhookConfiguration name; also the webhook name prefix. Default "entitlegate". */
  name?: string;
  /** https URL of the webhook endpoint, e.g. https://127.0.0.1:8443/validate */
  url: string;
  /** PEM of the CA that signed the webhook's serving cert (becomes caBundle). */
  caPem: string;
  failurePolicy: 'Fail' | 'Ignore';
  rules: V1RuleWithOperations[];
  timeoutSeconds?: number;
  /** Limit to namespaces with these labels (default: all namespaces). */
  namespaceLabels?: Record<string, string>;
}

/**
 * Creates (or replaces) a ValidatingWebhookConfiguration pointing at `url`.
 * Returns a function that deletes it. The API server picks the configuration
 * up through its own informer, so it takes effect shortly after (typically
 * well under a second) rather than at the instant this resolves: tests that
 * need it active should retry until the webhook has been called once.
 */
export async function registerWebhook(opts: RegisterWebhookOptions): Promise<() => Promise<void>> {
  let kc: KubeConfig;
  if (typeof opts.kubeconfig === 'string') {
    kc = new KubeConfig();
    kc.loadFromFile(opts.kubeconfig);
  } else {
    kc = opts.kubeconfig;
  }
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  const name = opts.name ?? 'entitlegate';
  const body = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name },
    webhooks: [
      {
        name: `${name}.entitlegate.io`,
        clientConfig: { url: opts.url, caBundle: Buffer.from(opts.caPem).toString('base64') },
        rules: opts.rules,
        failurePolicy: opts.failurePolicy,
        sideEffects: 'NoneOnDryRun',
        admissionReviewVersions: ['v1'],
        timeoutSeconds: opts.timeoutSeconds ?? 10,
        matchPolicy: 'Equivalent',
        ...(opts.namespaceLabels ? { namespaceSelector: { matchLabels: opts.namespaceLabels } } : {}),
      },
    ],
  };
  try {
    await api.createValidatingWebhookConfiguration({ body });
  } catch (err) {
    if (httpCode(err) !== 409) throw err;
    const current = await api.readValidatingWebhookConfiguration({ name });
    await api.replaceValidatingWebhookConfiguration({
      name,
      body: { ...body, metadata: { name, resourceVersion: current.metadata?.resourceVersion } },
    });
  }
  return async () => {
    try {
      await api.deleteValidatingWebhookConfiguration({ name });
    } catch (err) {
      if (httpCode(err) !== 404) throw err;
    }
  };
}

/** HTTP status of a @kubernetes/client-node ApiException, if it is one. */
export function httpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

// ---------------------------------------------------------------- processes

interface Supervised {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  exitCode(): number | null | undefined;
  stop(): Promise<void>;
}

// The binary runs under a tiny sh watchdog in its own process group: when the
// test process dies without calling stop() (crash, SIGKILL from the runner),
// the watchdog's stdin pipe closes and it sends SIGTERM to the binary, then
// SIGKILL after 5 s (kube-apiserver hangs in shutdown once etcd is gone), so
// no etcd or kube-apiserver outlives the test run.
const WATCHDOG = `
exec 3<&0
"$@" </dev/null 3<&- &
child=$!
{ cat <&3 >/dev/null 2>&1; kill -TERM "$child" 2>/dev/null; sleep 5; kill -KILL "$child" 2>/dev/null; } &
exec 3<&-
wait "$child"
`;

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of live) killGroup(c, 'SIGKILL');
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}

async function supervise(name: string, bin: string, args: string[], logPath: string): Promise<Supervised> {
  const log = await open(logPath, 'a');
  installExitHook();
  const child = spawn('sh', ['-c', WATCHDOG, name, bin, ...args], {
    detached: true, // own process group, so stop() can kill the whole tree
    stdio: ['pipe', log.fd, log.fd],
  });
  await log.close(); // the child holds its own copy of the descriptor
  child.stdin?.on('error', () => {}); // EPIPE if the watchdog is already gone
  live.add(child);
  let code: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (c, sig) => {
      code = c ?? (sig ? -1 : null);
      live.delete(child);
      resolve(code);
    });
    child.once('error', () => {
      code = -1;
      live.delete(child);
      resolve(-1);
    });
  });
  return {
    name,
    child,
    exited,
    exitCode: () => code,
    async stop() {
      if (code !== undefined) {
        killGroup(child, 'SIGKILL'); // the watchdog's cat, if still around
        return;
      }
      // Closing stdin makes the watchdog SIGTERM the binary and exit after it
      // (signalling the group would kill the watchdog before the binary is done).
      child.stdin?.end();
      const timer = sleep(10_000).then(() => 'timeout' as const);
      if ((await Promise.race([exited, timer])) === 'timeout') {
        killGroup(child, 'SIGKILL');
        await exited;
      }
      killGroup(child, 'SIGKILL');
    },
  };
}

async function waitFor(
  what: string,
  timeoutMs: number,
  procs: Supervised[],
  logTail: () => Promise<string>,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr = '';
  while (Date.now() < deadline) {
    for (const p of procs) {
      const c = p.exitCode();
      if (c !== undefined) throw new Error(`${p.name} exited (code ${c}) while waiting for ${what}\n${await logTail()}`);
    }
    try {
      if (await check()) return;
      lastErr = 'not ready';
    } catch (err) {
      lastErr = (err as Error).message;
    }
    await sleep(250);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${lastErr})\n${await logTail()}`);
}

function get(url: string, tls?: { ca: string; cert: string; key: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const handler = (res: import('node:http').IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    };
    const req = url.startsWith('https:')
      ? httpsRequest(url, { ...tls, timeout: 5_000 }, handler)
      : httpRequest(url, { timeout: 5_000 }, handler);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function freePorts(n: number): Promise<number[]> {
  // Hold all listeners open at once so the ports are distinct, then release.
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<import('node:net').Server>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  ).then(async (servers) => {
    const ports = servers.map((s) => (s.address() as AddressInfo).port);
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    return ports;
  });
}

// ---------------------------------------------------------------- certificates

interface Ca {
  certPath: string;
  keyPath: string;
  certPem: string;
}

async function openssl(args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileP('openssl', args, { encoding: 'utf8' });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? e.message}`);
  }
}

async function requireOpenssl(): Promise<void> {
  try {
    await execFileP('openssl', ['version']);
  } catch {
    throw new Error('the openssl CLI is required to generate the test CA (apt-get install openssl)');
  }
}

async function makeCa(pki: string): Promise<Ca> {
  const keyPath = join(pki, 'ca.key');
  const certPath = join(pki, 'ca.crt');
  await openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    '2',
    '-subj',
    '/CN=entitlegate-e2e-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { certPath, keyPath, certPem: await readFile(certPath, 'utf8') };
}

function sanList(hosts: string[]): string {
  return hosts.map((h) => (/^[\d.]+$/.test(h) || h.includes(':') ? `IP:${h}` : `DNS:${h}`)).join(',');
}

async function issueCert(
  pki: string,
  ca: Ca,
  file: string,
  spec: { cn: string; org?: string; sans?: string; usage: 'serverAuth' | 'clientAuth' },
): Promise<ServingCert> {
  const keyPath = join(pki, `${file}.key`);
  const csrPath = join(pki, `${file}.csr`);
  const certPath = join(pki, `${file}.crt`);
  const extPath = join(pki, `${file}.ext`);
  const subj = `${spec.org ? `/O=${spec.org}` : ''}/CN=${spec.cn}`;
  await openssl([
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    csrPath,
    '-subj',
    subj,
  ]);
  const ext = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${spec.usage}`,
    ...(spec.sans ? [`subjectAltName=${spec.sans}`] : []),
  ];
  await writeFile(extPath, ext.join('\n') + '\n');
  await openssl([
    'x509',
    '-req',
    '-in',
    csrPath,
    '-CA',
    ca.certPath,
    '-CAkey',
    ca.keyPath,
    '-CAcreateserial',
    '-days',
    '2',
    '-sha256',
    '-extfile',
    extPath,
    '-out',
    certPath,
  ]);
  return { certPath, keyPath, certPem: await readFile(certPath, 'utf8'), keyPem: await readFile(keyPath, 'utf8') };
}

function kubeconfigYaml(server: string, caPem: string, certPem: string, keyPem: string): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  // JSON is valid YAML; every kubeconfig loader (kubectl, client-node) reads it.
  return (
    JSON.stringify(
      {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'e2e', cluster: { server, 'certificate-authority-data': b64(caPem) } }],
        users: [{ name: 'admin', user: { 'client-certificate-data': b64(certPem), 'client-key-data': b64(keyPem) } }],
        contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: 'admin' } }],
        'current-context': 'e2e',
      },
      null,
      2,
    ) + '\n'
  );
}
