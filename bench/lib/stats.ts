// Timing helpers: warm-up, several timed runs, the median run as the figure.
// Latencies are pooled over the runs for p50/p99.

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface Throughput {
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Each run's ops/s, to show the spread. */
  runs: number[];
  ops: number;
}

export interface LoopOptions {
  /** Time spent before measuring (JIT, caches). */
  warmupMs: number;
  /** Length of each timed run. */
  runMs: number;
  runs: number;
}

/**
 * Calls `fn` back to back: `runs` timed runs of `runMs` each after a warm-up.
 * Every call is timed on its own for the percentiles; performance.now() costs
 * well under a microsecond, small beside what is measured here.
 */
export function timeLoop(fn: () => unknown, o: LoopOptions): Throughput {
  return timeInterleaved([fn], o)[0]!;
}

/** Keeps a result reachable so the loop is not optimised away. */
export function keep(x: unknown): void {
  (globalThis as { __benchSink?: unknown }).__benchSink = x;
}

export function round(x: number | undefined, digits = 3): number | undefined {
  if (x === undefined || !Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * Like timeLoop for several functions, their runs interleaved (run 1 of each,
 * then run 2 of each, …) so a noisy stretch of the machine hits them all and
 * their ratios stay meaningful.
 */
export function timeInterleaved(fns: readonly (() => unknown)[], o: LoopOptions): Throughput[] {
  let sink: unknown;
  for (const fn of fns) {
    const warmEnd = performance.now() + o.warmupMs;
    while (performance.now() < warmEnd) sink = fn();
  }
  const rates: number[][] = fns.map(() => []);
  const lats: number[][] = fns.map(() => []);
  for (let r = 0; r < o.runs; r++) {
    fns.forEach((fn, k) => {
      const lat = lats[k]!;
      const start = performance.now();
      const end = start + o.runMs;
      let n = 0;
      let t = start;
      while (t < end) {
        const t0 = t;
        sink = fn();
        t = performance.now();
        lat.push(t - t0);
        n++;
      }
      rates[k]!.push((n * 1000) / (t - start));
    });
  }
  keep(sink);
  return fns.map((_, k) => {
    const lat = lats[k]!.sort((a, b) => a - b);
    return { opsPerSec: median(rates[k]!), p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99), runs: rates[k]!, ops: lat.length };
  });
}
