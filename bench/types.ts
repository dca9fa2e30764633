// One row of the benchmark table. Every row of a run is measured on the same
// machine in the same run; ratios against the row's baseline are the headline.
export interface BenchRow {
  /** Section: decision, webhook, terraform, growth. */
  section: string;
  /** What was measured, e.g. "entitlegate serve (HTTPS)". */
  subject: string;
  /** The input, e.g. "10,000 resource changes". */
  input: string;
  /** Operations per second, where the row measures throughput. */
  opsPerSec?: number;
  p50Ms?: number;
  p99Ms?: number;
  wallMs?: number;
  peakRssMb?: number;
  /** The subject of the baseline row this one is compared with. */
  baseline?: string;
  /** This row's figure over the baseline's (throughput: higher is better; time: lower is better). */
  ratio?: number;
  /** The docs/architecture.md target this row checks, and whether it was met. */
  target?: string;
  met?: boolean;
  note?: string;
}

export interface BenchSection {
  name: string;
  run(opts: { quick: boolean; log: (line: string) => void }): Promise<BenchRow[]>;
}
