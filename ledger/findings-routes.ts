// GET /v1/findings and the findings' metrics: products over capacity now, and
// the time each past one took to remediate. The sweep re-checks them as time
// passes (an entitlement or exception ending puts usage over without a report).
import type { FastifyInstance } from 'fastify';
import { Gauge, type Registry } from 'prom-client';
import { checkFindings, findingView } from './findings.ts';
import type { RouteDeps } from './guard.ts';
import { isLimited, sees } from './identity.ts';

export function findingsRoutes(app: FastifyInstance, { ledger, guarded }: RouteDeps, registry: Registry, intervalMs: number): void {
  app.get(
    '/v1/findings',
    guarded('findings', ['viewer', 'auditor', 'finance', 'procurement', 'approver'], async (req, _actor, _reply, who) => {
      const limit = Math.min(Number(req.query.limit ?? 100) || 100, 1000);
      const now = ledger.clock().getTime();
      const limited = isLimited(who);
      // A limited reader's counts are over the findings it sees, read from the store's recent ones.
      const read = (await ledger.store.listFindings(limited ? 100_000 : limit)).filter((f) => sees(who, f.product, f.scope));
      const closed = read.filter((f) => f.closedAt !== null);
      const all = [...read.filter((f) => f.closedAt === null), ...closed.slice(0, limit)].map((f) => findingView(f, now));
      const totals = limited
        ? read.reduce(
            (t, f) => (f.closedAt === null ? t : { closed: t.closed + 1, remediationMs: t.remediationMs + (f.closedAt - f.openedAt) }),
            { closed: 0, remediationMs: 0 },
          )
        : await ledger.store.findingTotals();
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
