// The measured process of the webhook-memory bench: what `entitlegate serve`
// holds for a live cluster — the Kubernetes Inventory (informers over every
// workload kind, Namespaces and Nodes) and an Engine fed its usage — started
// against a (fake) API server, with RSS taken after the first full sync.
//
// Plain JavaScript importing the compiled dist/ on purpose: the server runs
// compiled code, and a .ts entry would add Node's type stripper (~17 MB RSS)
// to the figure.
//
//   node --expose-gc bench/lib/inventory-probe.mjs API_URL CONFIG_FILE  → prints a ProbeResult (memory.ts) as JSON
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

const [apiUrl, configFile] = process.argv.slice(2);
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
const inventory = new Inventory({
  kubeConfig,
  products: loaded.config.products,
  settings: loaded.config.kubernetes,
  cluster: 'bench-1',
  retryDelayMs: 60_000,
  onError: (kind, e) => errors.push(`${kind}: ${String(e)}`),
});
const start = performance.now();
await inventory.start();
await inventory.synced;
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
