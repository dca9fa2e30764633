// Prometheus metrics, one registry per server (tests run several servers in
// one process). Standing usage and capacity are computed at scrape time from
// the engine, so they are never stale and cost nothing between scrapes.
// Named by Prometheus' conventions: one unit per metric name (a vCPU gauge
// and an instance gauge are different metrics, suffixed with their unit),
// times as `_timestamp_seconds`, `entitlegate_build_info` for the version and
// digests, and the standard unprefixed `process_*` / `nodejs_*` metrics.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyPluginAsync } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { standingReport } from '../engine/report.ts';
import { METRICS, type Metric } from '../engine/types.ts';
import { VERSION } from '../engine/version.ts';
import type { AdmissionResult } from './decide.ts';
import type { Gate } from './gate.ts';

/** The unit each licence metric is counted in, as a metric-name suffix (plural, as Prometheus names units). */
export const UNIT: Record<Metric, string> = { vcpu: 'vcpus', instances: 'instances', users: 'users', devices: 'devices', units: 'units' };

export class Metrics {
  readonly registry = new Registry();
  readonly decisions: Counter<'result' | 'code'>;
  readonly latency: Histogram<'result'>;
  readonly reloads: Counter<'kind'>;
  readonly reloadFailures: Counter<'kind'>;
  readonly badRequests: Counter;

  constructor(gate: Gate, opts: { defaultMetrics?: boolean; ready: () => boolean }) {
    const registers = [this.registry];
    if (opts.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry });
      // prom-client's gauges named `_total` (a counter suffix, which `promtool
      // check metrics` rejects); each is the sum of its labelled twin
      // (nodejs_active_handles{type} and so on), so nothing is lost.
      for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
        this.registry.removeSingleMetric(name);
    }
    this.decisions = new Counter({
      name: 'entitlegate_admission_decisions_total',
      help: 'Admission decisions by result (allowed, denied, exempt, skipped, error-denied, error-allowed) and code (first violation code, error code, or NONE)',
      labelNames: ['result', 'code'],
      registers,
    });
    this.latency = new Histogram({
      name: 'entitlegate_admission_duration_seconds',
      help: 'Time to decide one admission, from parsed request to response',
      labelNames: ['result'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers,
    });
    this.badRequests = new Counter({
      name: 'entitlegate_admission_bad_requests_total',
      help: 'Requests to /validate answered with HTTP 4xx (not an AdmissionReview)',
      registers,
    });
    this.reloads = new Counter({
      name: 'entitlegate_reloads_total',
      help: 'Successful reloads by kind (config, tls)',
      labelNames: ['kind'],
      registers,
    });
    this.reloadFailures = new Counter({
      name: 'entitlegate_reload_failures_total',
      help: 'Refused reloads by kind (config, tls); the previous config or certificate keeps serving',
      labelNames: ['kind'],
      registers,
    });
    new Gauge({
      name: 'entitlegate_ready',
      help: '1 when the server decides with complete usage (cluster inventory synced, or snapshot mode)',
      registers,
      collect() {
        this.set(opts.ready() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'entitlegate_reservations',
      help: 'Admitted objects the cluster inventory has not reported yet (shared mode: entries in the Leases this replica read last)',
      registers,
      collect() {
        this.set(gate.shared ? gate.shared.size : gate.reservations.size);
      },
    });
    // Shared reservations (Leases): cumulative counts kept by the store, read at scrape time.
    const sharedCounter = (name: string, help: string, read: (s: NonNullable<Gate['shared']>['stats']) => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          if (gate.shared) this.inc(read(gate.shared.stats));
        },
      });
    sharedCounter('entitlegate_shared_reservation_writes_total', 'Admissions recorded in the shared reservation Leases', (s) => s.writes);
    sharedCounter(
      'entitlegate_shared_reservation_conflicts_total',
      'Lease writes refused with 409 Conflict (another replica wrote first) and retried',
      (s) => s.conflicts,
    );
    sharedCounter(
      'entitlegate_shared_reservation_failures_total',
      'Admissions that failed safe because the Leases could not be read or written in time',
      (s) => s.failures,
    );
    // Registered before the gauges it fills: a scrape collects in registration
    // order, and one standing report serves them all.
    new Gauge({
      name: 'entitlegate_build_info',
      help: 'The entitlegate version and the digests of the policy and config in use (value 1)',
      labelNames: ['version', 'policy', 'config'],
      registers,
      collect() {
        this.reset();
        this.set({ version: VERSION, policy: gate.engine.policy.digest, config: gate.engine.configDigest }, 1);
        for (const g of [...Object.values(perUnit).flatMap((u) => Object.values(u)), expiry]) g.reset();
        const report = standingReport(gate.engine, gate.clock());
        const metricOf = new Map<string, Metric>();
        for (const p of report.products) {
          metricOf.set(p.product, p.metric);
          const g = perUnit[p.metric];
          g.productUsed.set({ product: p.product }, p.used);
          g.productCapacity.set({ product: p.product }, p.capacity);
          for (const e of p.entitlements) {
            const labels = { product: p.product, entitlement: e.id, kind: e.kind };
            g.entUsed.set(labels, e.used);
            g.entCapacity.set(labels, e.capacity);
            if (e.expiresAt !== null) expiry.set(labels, Date.parse(e.expiresAt) / 1000);
          }
        }
        const held = new Map<string, number>();
        if (gate.shared) for (const [product, q] of gate.shared.stats.reserved) held.set(product, q);
        else for (const r of gate.reservations.active()) held.set(r.product, (held.get(r.product) ?? 0) + r.quantity);
        for (const [product, q] of held) {
          const metric = metricOf.get(product);
          if (metric) perUnit[metric].reserved.set({ product }, q);
        }
      },
    });
    // One family per unit: vCPUs and instances never share a name.
    const perUnit = Object.fromEntries(
      METRICS.map((m) => {
        const unit = UNIT[m];
        const gauge = (name: string, help: string, labelNames: string[]) =>
          new Gauge({ name: `${name}_${unit}`, help: `${help}, in ${unit}`, labelNames, registers });
        const ent = ['product', 'entitlement', 'kind'];
        return [
          m,
          {
            productUsed: gauge(
              'entitlegate_product_used',
              'Usage in the engine per product (snapshots and cluster; reservations not included)',
              ['product'],
            ),
            productCapacity: gauge('entitlegate_product_capacity', 'Capacity usable now per product (entitlements and exceptions)', [
              'product',
            ]),
            reserved: gauge(
              'entitlegate_product_reserved',
              'Quantity held by reservations per product (shared mode: in the Leases this replica read last)',
              ['product'],
            ),
            entUsed: gauge('entitlegate_entitlement_used', 'Usage charged to each entitlement or exception', ent),
            entCapacity: gauge(
              'entitlegate_entitlement_capacity',
              'Capacity of each entitlement or exception usable now (0 when expired or not yet valid)',
              ent,
            ),
          },
        ];
      }),
    ) as Record<Metric, Record<'productUsed' | 'productCapacity' | 'reserved' | 'entUsed' | 'entCapacity', Gauge>>;
    const expiry = new Gauge({
      name: 'entitlegate_entitlement_expiry_timestamp_seconds',
      help: 'When the capacity of an entitlement or exception ends (validUntil, grace included), as a Unix time; absent when it has no end',
      labelNames: ['product', 'entitlement', 'kind'],
      registers,
    });
  }

  observe(result: AdmissionResult, code: string, seconds: number): void {
    this.decisions.inc({ result, code });
    this.latency.observe({ result }, seconds);
  }
}

/** GET /metrics in the Prometheus text format. */
export const metricsPlugin: FastifyPluginAsync<{ metrics: Metrics }> = async (app, { metrics }) => {
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
};

export interface MetricsServer {
  /** http://host:port */
  url: string;
  close(): Promise<void>;
}

/**
 * /metrics alone on its own plain-HTTP port (`serve --metrics-port`): a
 * Prometheus that scrapes without the webhook's CA, and a port a
 * NetworkPolicy can open to monitoring only. Anything else is 404.
 */
export async function startMetricsServer(metrics: Metrics, host: string, port: number): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: this port serves GET /metrics only\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return {
    url: `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`,
    close: () =>
      new Promise((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
