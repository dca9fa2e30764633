// The container image (deploy/Containerfile) behind a real kube-apiserver:
// run by podman as a cluster would run it (read-only root filesystem, no
// capabilities, its own uid), serving HTTPS with a certificate of the control
// plane's CA and watching the API server through a kubeconfig; the API
// server's webhook points at it.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlPlaneUnavailable, httpCode, registerWebhook, startControlPlane, type ControlPlane } from './controlplane.ts';
import { createReview, e2eConfig, errorBody, eventually, licensedDeployment } from './entitlegate.ts';
import { entitlegateImage, podman, podmanAsync, podmanUnavailable } from './podman.ts';

const unavailable = controlPlaneUnavailable() ?? podmanUnavailable();
if (unavailable) {
  if (process.env.ENTITLEGATE_E2E_REQUIRE) throw new Error(`e2e image test required but unavailable: ${unavailable}`);
  console.warn(`skipping e2e image tests: ${unavailable}`);
}

const LABEL = { 'entitlegate.io/e2e': 'image' };
const RULES = [
  { apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments'], scope: 'Namespaced' },
];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.skipIf(unavailable !== undefined)('the container image behind a real kube-apiserver', () => {
  let cp: ControlPlane | undefined;
  let kc: KubeConfig;
  let dir: string;
  let image: string;
  let port: number;
  let unregister: (() => Promise<void>) | undefined;
  const name = `entitlegate-e2e-${process.pid}`;

  beforeAll(async () => {
    image = entitlegateImage();
    cp = await startControlPlane();
    kc = cp.kubeConfig();
    // Everything the container reads, readable by its uid (65532), as a ConfigMap and Secret mount would be.
    dir = mkdtempSync(join(tmpdir(), 'eg-image-'));
    chmodSync(dir, 0o755);
    const cert = await cp.issueServingCert('webhook', ['127.0.0.1', 'localhost']);
    const files: Record<string, string> = {
      'entitlegate.yaml': e2eConfig({ fits: 4 }),
      'tls.crt': cert.certPem,
      'tls.key': cert.keyPem,
      kubeconfig: readFileSync(cp.kubeconfigPath, 'utf8'),
    };
    for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text, { mode: 0o644 });
    port = await freePort();
    // Host network: the API server on loopback reaches the container, and the container the API server.
    const run = podman([
      'run',
      '--detach',
      '--name',
      name,
      '--network=host',
      '--read-only',
      '--cap-drop=ALL',
      '--security-opt=no-new-privileges',
      '--volume',
      `${dir}:/etc/entitlegate:ro`,
      '--env',
      'KUBECONFIG=/etc/entitlegate/kubeconfig',
      image,
      'serve',
      '--config=/etc/entitlegate/entitlegate.yaml',
      '--tls-cert=/etc/entitlegate/tls.crt',
      '--tls-key=/etc/entitlegate/tls.key',
      `--port=${port}`,
    ]);
    expect(run.code, run.stderr).toBe(0);
    await eventually(
      async () => {
        const r = podman(['logs', name]);
        return /"inventory synced|Server listening/.test(r.stdout + r.stderr) ? true : undefined;
      },
      60_000,
      'the container listening',
    );
    unregister = await registerWebhook({
      kubeconfig: kc,
      name: 'entitlegate-image',
      url: `https://127.0.0.1:${port}/validate`,
      caPem: cp.caPem,
      failurePolicy: 'Fail',
      timeoutSeconds: 10,
      namespaceLabels: LABEL,
      rules: RULES,
    });
  }, 600_000);

  afterAll(async () => {
    podman(['rm', '--force', '--time=0', name]);
    await unregister?.().catch(() => {});
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is small, shell-less and runs as uid 65532', () => {
    const inspect = JSON.parse(podman(['image', 'inspect', image]).stdout) as {
      Size: number;
      Config: { User: string; Entrypoint: string[] };
    }[];
    expect(inspect[0]!.Config.User).toBe('65532:65532');
    expect(inspect[0]!.Config.Entrypoint).toEqual(['/usr/local/bin/entitlegate']);
    expect(inspect[0]!.Size).toBeLessThan(200 * 2 ** 20);
    for (const shell of ['/bin/sh', '/bin/bash', '/usr/bin/sh']) {
      const r = podman(['run', '--rm', '--entrypoint', shell, image, '-c', 'true']);
      expect(r.code, shell).not.toBe(0);
      expect(r.stderr).toMatch(/no such file or directory/);
    }
  });

  it('the API server calls it: a Deployment that fits is stored, one that would exceed is refused with the reason', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const ns = `image-${Date.now().toString(36)}`;
    await core.createNamespace({ body: { metadata: { name: ns, labels: LABEL } } });
    /** The API server's refusal of a dry-run create (its body), once there is one. */
    const refusal = (name: string, replicas: number, what: string) =>
      eventually(
        async () => {
          try {
            await apps.createNamespacedDeployment({ namespace: ns, body: licensedDeployment(name, 'fits', replicas), dryRun: 'All' });
            return undefined;
          } catch (err) {
            return httpCode(err) === 403 ? errorBody(err) : undefined;
          }
        },
        30_000,
        what,
      );
    // The configuration reaches the API server's informer shortly after it is created.
    const denied = await refusal('too-big', 5, 'the webhook refusing an over-capacity Deployment');
    expect(denied).toContain('entitlegate');
    expect(denied).toMatch(/fits: 5 vcpu projected exceeds the 4 vcpu covered/);
    const stored = await apps.createNamespacedDeployment({ namespace: ns, body: licensedDeployment('fits', 'fits', 3) });
    expect(stored.metadata?.uid).toBeTruthy();
    // the container's informer counts the stored Deployment: 3 + 2 > 4
    expect(await refusal('second', 2, 'usage from the cluster')).toMatch(
      /fits: 5 vcpu projected exceeds the 4 vcpu covered \(3 used \+ 2 requested\)/,
    );
  });

  it('stops on SIGTERM as PID 1: an admission in flight is answered, then it exits 0, no shell or init needed', async () => {
    // An AdmissionReview whose body is still arriving when SIGTERM comes.
    const body = JSON.stringify(createReview(licensedDeployment('in-flight', 'fits', 1, 'default')));
    const req = request(`https://127.0.0.1:${port}/validate`, {
      method: 'POST',
      ca: cp!.caPem,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      req.on('error', reject);
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
    });
    req.write(body.slice(0, 100));
    await new Promise((resolve) => req.once('socket', (socket) => socket.once('secureConnect', resolve)));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stopped = podmanAsync(['stop', '--time=20', name]);
    await eventually(() => {
      const logs = podman(['logs', name]);
      return /shutting down/.test(logs.stdout + logs.stderr) ? true : undefined;
    }, 20_000);
    req.end(body.slice(100));
    const reply = await answer;
    expect(reply.status).toBe(200);
    expect((JSON.parse(reply.text) as { response: { allowed: boolean } }).response.allowed).toBe(true);
    expect(await stopped).toBe(0);
    const state = JSON.parse(podman(['container', 'inspect', name]).stdout) as { State: { ExitCode: number } }[];
    expect(state[0]!.State.ExitCode).toBe(0);
    const logs = podman(['logs', name]);
    expect(logs.stdout + logs.stderr).toContain('shutting down: finishing requests in flight');
  });
});
