// The measured process of the webhook-memory bench: what `entitlegate serve`
// holds for a live cluster — the Kubernetes Inventory (informers over every
// workload kind, Namespaces and Nodes) and an Engine fed its usage — started
// against a (fake) API server, with RSS taken after the first full sync.
//
// Plain JavaScript importing the compiled dist/ on purpose: the server runs
// compiled code, and a .ts entry would add Node's type stripper (~17 MB RSS)
// to the figure.
//
// CLIENT `own` (default) is the Inventory as shipped: entitlegate's own
// list/watch client (list-watch.ts). `informer` is the alternative the
// adapter's README weighs it against: one @kubernetes/client-node informer
// (makeInformer, listing with its generated API clients, as its docs show)
// per collection of the same table, each event slimmed into the same
// UsageIndex, so both give the same usage and differ only in the client.
//
//   node --expose-gc bench/lib/inventory-probe.mjs API_URL CONFIG_FILE [own|informer]  → prints a ProbeResult (memory.ts) as JSON
import { readFileSync } from 'node:fs';

const dist = new URL('../../dist/', import.meta.url);
const { KubeConfig } = await import('@kubernetes/client-node');
const { Inventory } = await import(new URL('adapters/kubernetes/inventory.js', dist).href);
const { parseConfig } = await import(new URL('config/load.js', dist).href);
const { Engine } = await import(new URL('engine/engine.js', dist).href);

const NOW = new Date('2026-11-28T10:00:00Z');
const mb = (b) => Math.round((b / 2 ** 20) * 10) / 10;

async function settle() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await new Promise((r) => setTimeout(r, 50));
  }
}

const [apiUrl, configFile, client = 'own'] = process.argv.slice(2);
const loaded = parseConfig(configFile, readFileSync(configFile, 'utf8'));
const engine = await Engine.create(loaded, []);
await settle();
const baseRss = process.memoryUsage().rss;
const kubeConfig = new KubeConfig();
kubeConfig.loadFromOptions({
  clusters: [{ name: 'bench', server: apiUrl, skipTLSVerify: true }],
  users: [{ name: 'bench', token: 'bench' }],
  contexts: [{ name: 'bench', cluster: 'bench', user: 'bench' }],
  currentContext: 'bench',
});
const errors = [];
const opts = { products: loaded.config.products, settings: loaded.config.kubernetes, cluster: 'bench-1' };
let inventory;
const start = performance.now();
if (client === 'informer') inventory = await informers(opts);
else {
  inventory = new Inventory({ kubeConfig, ...opts, retryDelayMs: 60_000, onError: (kind, e) => errors.push(`${kind}: ${String(e)}`) });
  await inventory.start();
  await inventory.synced;
}
const syncMs = performance.now() - start;
if (errors.length) throw new Error(`inventory errors: ${errors.slice(0, 3).join('; ')}`);
const usage = inventory.usage();
engine.setUsage([{ source: 'cluster', observedAt: NOW.toISOString(), usage }]);
const d = engine.decide(
  [{ product: 'oracle-db-ee', quantity: 2, scope: { environment: 'dev', cluster: 'bench-1', namespace: 'team-1' } }],
  { now: NOW },
);
await settle();
const mem = process.memoryUsage();
process.stdout.write(
  JSON.stringify({
    syncMs: Math.round(syncMs),
    rssMb: mb(mem.rss),
    maxRssMb: Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10,
    heapUsedMb: mb(mem.heapUsed),
    heapTotalMb: mb(mem.heapTotal),
    externalMb: mb(mem.external),
    baseRssMb: mb(baseRss),
    usageRecords: usage.length,
    usedVcpu: usage.filter((u) => u.product === 'oracle-db-ee').reduce((s, u) => s + u.quantity, 0),
    decisionAllowed: d.allowed,
  }),
);
await inventory.stop();
process.exit(0);

/** The same collections through client-node informers, into the same index; resolves once each has listed. */
async function informers(opts) {
  const k8s = await import('@kubernetes/client-node');
  const { INVENTORY_RESOURCES } = await import(new URL('adapters/kubernetes/inventory.js', dist).href);
  const { UsageIndex } = await import(new URL('adapters/kubernetes/usage-index.js', dist).href);
  const { slimObject } = await import(new URL('adapters/kubernetes/slim.js', dist).href);
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const apps = kubeConfig.makeApiClient(k8s.AppsV1Api);
  const batch = kubeConfig.makeApiClient(k8s.BatchV1Api);
  const lists = {
    Namespace: () => core.listNamespace(),
    Node: () => core.listNode(),
    Deployment: () => apps.listDeploymentForAllNamespaces(),
    StatefulSet: () => apps.listStatefulSetForAllNamespaces(),
    ReplicaSet: () => apps.listReplicaSetForAllNamespaces(),
    DaemonSet: () => apps.listDaemonSetForAllNamespaces(),
    ReplicationController: () => core.listReplicationControllerForAllNamespaces(),
    Pod: () => core.listPodForAllNamespaces(),
    Job: () => batch.listJobForAllNamespaces(),
    CronJob: () => batch.listCronJobForAllNamespaces(),
  };
  const index = new UsageIndex(opts);
  const started = [];
  for (const { kind, apiVersion, path } of INVENTORY_RESOURCES) {
    const list = lists[kind];
    if (!list) throw new Error(`informer probe: no list function for ${kind}`);
    const informer = k8s.makeInformer(kubeConfig, path, list);
    const upsert = (o) => index.upsert(slimObject(kind, apiVersion, o));
    informer.on('add', upsert);
    informer.on('update', upsert);
    informer.on('delete', (o) => index.remove(slimObject(kind, apiVersion, o)));
    informer.on('error', (e) => errors.push(`${kind}: ${String(e)}`));
    started.push(informer.start().then(() => informer));
  }
  const all = await Promise.all(started);
  index.markNodesKnown();
  return { usage: () => index.usage(), stop: () => Promise.all(all.map((i) => i.stop())) };
}
