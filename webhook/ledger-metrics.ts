// The webhook's ledger figures on its /metrics: how many admissions went to
// the ledger, how many the cached capacity denied without asking, and how the
// cluster's usage reports fare. Read from the gate's counts when scraped.
import { Counter, type Registry } from 'prom-client';
import type { LedgerGate } from './ledger-gate.ts';

const COUNTERS: [name: string, help: string, key: keyof LedgerGate['stats']][] = [
  ['entitlegate_ledger_round_trips_total', 'Admissions decided at the ledger (one round trip each)', 'roundTrips'],
  ['entitlegate_ledger_cached_denials_total', 'Admissions denied from the cached capacity without asking the ledger', 'cachedDenials'],
  ['entitlegate_ledger_reports_total', "Reports of the cluster's usage the ledger stored", 'reports'],
  [
    'entitlegate_ledger_report_failures_total',
    "Reports of the cluster's usage that failed (retried after the next debounce)",
    'reportFailures',
  ],
];

export function registerLedgerMetrics(registry: Registry, ledger: LedgerGate): void {
  for (const [name, help, key] of COUNTERS) {
    let seen = 0;
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const now = ledger.stats[key];
        if (now > seen) this.inc(now - seen);
        seen = now;
      },
    });
  }
}
