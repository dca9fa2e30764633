// Smoke test: a real etcd + kube-apiserver start, accept an admin client
// certificate, store a Namespace and a Deployment, and stop cleanly.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppsV1Api, CoreV1Api, VersionApi, type V1Deployment } from "@kubernetes/client-node";
import { existsSync } from "node:fs";
import { request } from "node:https";
import { controlPlaneUnavailable, KUBE_VERSION, startControlPlane, type ControlPlane } from "./controlplane.ts";

const unavailable = controlPlaneUnavailable();
if (unavailable) {
  console.warn(`skipping e2e control-plane tests: ${unavailable}`);
}

describe.skipIf(unavailable !== undefined)("real control plane", () => {
  let cp: ControlPlane | undefined;

  beforeAll(async () => {
    cp = await startControlPlane();
  });

  afterAll(async () => {
    await cp?.stop();
  });

  it("serves the pinned Kubernetes version", async () => {
    const info = await cp!.kubeConfig().makeApiClient(VersionApi).getCode();
    expect(info.gitVersion).toBe(KUBE_VERSION);
  });

  it("stores a Namespace and a Deployment and reads them back", async () => {
    const kc = cp!.kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const ns = `smoke-${Date.now().toString(36)}`;

    await core.createNamespace({ body: { metadata: { name: ns, labels: { "entitlegate.io/e2e": "true" } } } });
    const deployment: V1Deployment = {
      metadata: { name: "web", namespace: ns, annotations: { "entitlegate.io/product": "acme-db" } },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: {
            containers: [{ name: "web", image: "registry.example/acme/db:1.2", resources: { requests: { cpu: "500m" } } }],
          },
        },
      },
    };
    const created = await apps.createNamespacedDeployment({ namespace: ns, body: deployment });
    expect(created.metadata?.uid).toBeTruthy();

    const read = await apps.readNamespacedDeployment({ name: "web", namespace: ns });
    expect(read.spec?.replicas).toBe(3);
    expect(read.metadata?.annotations?.["entitlegate.io/product"]).toBe("acme-db");
    expect(read.spec?.template.spec?.containers[0]?.image).toBe("registry.example/acme/db:1.2");
    // No controller-manager runs: nothing reconciles the Deployment.
    expect(read.status?.replicas ?? 0).toBe(0);

    const list = await apps.listNamespacedDeployment({ namespace: ns });
    expect(list.items.map((d) => d.metadata?.name)).toEqual(["web"]);
  });

  it("treats a caller without a client certificate as system:anonymous (RBAC: 403)", async () => {
    const { status, body } = await httpsGet(`${cp!.server}/api/v1/namespaces`, cp!.caPem);
    expect(status).toBe(403);
    expect(body).toContain("system:anonymous");
  });

  it("stop() ends both processes and removes the working directory", async () => {
    const { dir, server, caPem } = cp!;
    await cp!.stop();
    expect(existsSync(dir)).toBe(false);
    await expect(httpsGet(`${server}/readyz`, caPem)).rejects.toThrow(/ECONNREFUSED/);
    await cp!.stop(); // idempotent
    cp = undefined;
  });
});

function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, timeout: 5_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}
