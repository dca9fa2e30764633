// Prometheus metrics, one registry per server (tests run several servers in
// one process). Standing usage and capacity are computed at scrape time from
// the engine, so they are never stale and cost nothing between scrapes.
import type { FastifyPluginAsync } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { standingReport } from '../engine/report.ts';
import type { AdmissionResult } from './decide.ts';
import type { Gate } from './gate.ts';

export class Metrics {
  readonly registry = new Registry();
  readonly decisions: Counter<'result' | 'code'>;
  readonly latency: Histogram<'result'>;
  readonly reloads: Counter<'kind'>;
  readonly reloadFailures: Counter<'kind'>;
  readonly badRequests: Counter;

  constructor(gate: Gate, opts: { defaultMetrics?: boolean; ready: () => boolean }) {
    const registers = [this.registry];
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'entitlegate_' });
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
      name: 'entitlegate_config_info',
      help: 'Digests of the config and policy in use (value 1)',
      labelNames: ['config', 'policy'],
      registers,
      collect() {
        this.reset();
        this.set({ config: gate.engine.configDigest, policy: gate.engine.policy.digest }, 1);
        for (const g of [productUsed, productCapacity, entUsed, entCapacity, daysToExpiry, reserved]) g.reset();
        const report = standingReport(gate.engine, gate.clock());
        for (const p of report.products) {
          productUsed.set({ product: p.product, metric: p.metric }, p.used);
          productCapacity.set({ product: p.product, metric: p.metric }, p.capacity);
          for (const e of p.entitlements) {
            const labels = { product: p.product, entitlement: e.id, kind: e.kind };
            entUsed.set(labels, e.used);
            entCapacity.set(labels, e.capacity);
            if (e.daysToExpiry !== null) daysToExpiry.set(labels, e.daysToExpiry);
          }
        }
        const held = new Map<string, number>();
        if (gate.shared) for (const [product, q] of gate.shared.stats.reserved) held.set(product, q);
        else for (const r of gate.reservations.active()) held.set(r.product, (held.get(r.product) ?? 0) + r.quantity);
        for (const [product, q] of held) reserved.set({ product }, q);
      },
    });
    const reserved = new Gauge({
      name: 'entitlegate_product_reserved',
      help: 'Quantity held by reservations, per product (shared mode: in the Leases this replica read last)',
      labelNames: ['product'],
      registers,
    });
    const productUsed = new Gauge({
      name: 'entitlegate_product_used',
      help: 'Usage in the engine per product (snapshots and cluster; reservations not included)',
      labelNames: ['product', 'metric'],
      registers,
    });
    const productCapacity = new Gauge({
      name: 'entitlegate_product_capacity',
      help: 'Capacity usable now per product (entitlements and exceptions)',
      labelNames: ['product', 'metric'],
      registers,
    });
    const entUsed = new Gauge({
      name: 'entitlegate_entitlement_used',
      help: 'Usage charged to each entitlement or exception',
      labelNames: ['product', 'entitlement', 'kind'],
      registers,
    });
    const entCapacity = new Gauge({
      name: 'entitlegate_entitlement_capacity',
      help: 'Capacity of each entitlement or exception usable now (0 when expired or not yet valid)',
      labelNames: ['product', 'entitlement', 'kind'],
      registers,
    });
    const daysToExpiry = new Gauge({
      name: 'entitlegate_entitlement_days_to_expiry',
      help: 'Whole days until an entitlement ends (grace included)',
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
