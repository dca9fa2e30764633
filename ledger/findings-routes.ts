// GET /v1/findings and the findings' metrics: products over capacity now, and
// the time each past one took to remediate. The sweep re-checks them as time
// passes (an entitlement or exception ending puts usage over without a report).
import type { FastifyInstance } from 'fastify';
import { Gauge, type Registry } from 'prom-client';
import { checkFindings, findingView } from './findings.ts';
import type { RouteDeps } from './guard.ts';

export function findingsRoutes(app: FastifyInstance, { ledger, guarded }: RouteDeps, registry: Registry, intervalMs: number): void {
  app.get(
    '/v1/findings',
    guarded('findings', ['viewer', 'auditor', 'finance', 'procurement', 'approver'], async (req) => {
      const limit = Math.min(Number(req.query.limit ?? 100) || 100, 1000);
      const now = ledger.clock().getTime();
      const all = (await ledger.store.listFindings(limit)).map((f) => findingView(f, now));
      const totals = await ledger.store.findingTotals();
      return {
        open: all.filter((f) => f.closedAt === null),
        closed: all.filter((f) => f.closedAt !== null),
        remediated: totals.closed,
        meanTimeToRemediateSeconds: totals.closed ? Math.round(totals.remediationMs / totals.closed / 1000) : null,
      };
    }),
  );

  // Read from the store at scrape time, so every replica reports the same figures.
  let totals: Promise<{ open: number; closed: number; remediationMs: number }> | null = null;
  const read = () => (totals ??= ledger.store.findingTotals().finally(() => setTimeout(() => (totals = null), 0)));
  new Gauge({
    name: 'entitlegate_ledger_findings_open',
    help: 'Products over capacity in a scope now (by reported usage), as the ledger last checked',
    registers: [registry],
    async collect() {
      this.set((await read()).open);
    },
  });
  new Gauge({
    name: 'entitlegate_ledger_findings_remediated',
    help: 'Findings that came back under capacity (count of remediations so far)',
    registers: [registry],
    async collect() {
      this.set((await read()).closed);
    },
  });
  new Gauge({
    name: 'entitlegate_ledger_time_to_remediate_seconds_sum',
    help: 'Total time, over every remediated finding, from over capacity to back under (divide by the remediated count for the mean)',
    registers: [registry],
    async collect() {
      this.set((await read()).remediationMs / 1000);
    },
  });

  if (intervalMs > 0) {
    const sweep = setInterval(() => {
      checkFindings(ledger).catch((err: Error) => app.log.warn({ err: err.message }, 'findings check failed; will retry'));
    }, Math.max(intervalMs, 1000) * 5);
    sweep.unref();
    app.addHook('onClose', async () => clearInterval(sweep));
  }
}
