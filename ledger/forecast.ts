// A trend over daily peaks: ordinary least squares over the last `window` days,
// with an 80% prediction interval (Student's t), when capacity runs out, and a
// quantity for the next term. Pure: the caller gives the series and the dates.

export interface ForecastOptions {
  /** Days of history the trend is fitted to (the most recent). */
  windowDays: number;
  /** How far ahead an exhaustion date is looked for. */
  horizonDays: number;
  /** Capacity the trend is compared with. */
  capacity: number;
  /** Days from the last point to the renewal, for the suggested quantity; null without a renewal. */
  renewalInDays: number | null;
  /** Added to the forecast peak at renewal (0.1 = 10%). */
  buffer: number;
  /** Fewer points than this in the window and the trend is not given. */
  minPoints: number;
  /** Whether to give the band (a chart wants it; a table of 1,000 products does not, and its 366 points each are most of the cost). */
  band: boolean;
}

export const FORECAST_DEFAULTS: ForecastOptions = {
  windowDays: 90,
  horizonDays: 365,
  capacity: Number.POSITIVE_INFINITY,
  renewalInDays: null,
  buffer: 0.1,
  minPoints: 14,
  band: true,
};

export type Forecast =
  | { status: 'insufficient'; points: number; needed: number }
  | {
      status: 'ok';
      points: number;
      /** Units per day. */
      slope: number;
      /** The fitted value at the last point (day 0). */
      level: number;
      /** Residual standard error. */
      sigma: number;
      /** Days after the last point when the trend reaches capacity; null: not within the horizon. */
      exhaustionInDays: number | null;
      /** Days until the interval's upper bound reaches capacity (the early warning); null: not within the horizon. */
      exhaustionUpperInDays: number | null;
      /** ceil(forecast at renewal × (1 + buffer)); null without a renewal. */
      suggested: number | null;
      /** The trend and its 80% interval, one point per day from the last point (day 0) to the horizon (empty with band: false). */
      band: { day: number; mean: number; lower: number; upper: number }[];
    };

// The 0.9 quantile of the standard normal: a two-sided 80% interval.
const Z90 = 1.2815515655446004;

/** Student's t 0.9 quantile with `df` degrees of freedom (Cornish–Fisher expansion; within 0.5% for df ≥ 3). */
export function t90(df: number): number {
  if (df === 1) return 3.0776835371752536;
  if (df === 2) return 1.8856180831641267;
  const z = Z90;
  const z3 = z ** 3;
  const z5 = z ** 5;
  const z7 = z ** 7;
  return z + (z3 + z) / (4 * df) + (5 * z5 + 16 * z3 + 3 * z) / (96 * df ** 2) + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * df ** 3);
}

/**
 * `peaks[i]` is the peak on day i (oldest first; null where the day has no
 * value). Day 0 of the answer is the last day of the series.
 */
export function forecast(peaks: readonly (number | null)[], options: Partial<ForecastOptions> = {}): Forecast {
  const o = { ...FORECAST_DEFAULTS, ...options };
  const start = Math.max(0, peaks.length - o.windowDays);
  const last = peaks.length - 1;
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = start; i <= last; i++) {
    const y = peaks[i];
    if (y === null || y === undefined) continue;
    xs.push(i - last);
    ys.push(y);
  }
  const n = xs.length;
  const needed = Math.max(3, o.minPoints);
  if (n < needed) return { status: 'insufficient', points: n, needed };
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - mx) ** 2;
    sxy += (xs[i]! - mx) * (ys[i]! - my);
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const intercept = my - slope * mx;
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (ys[i]! - (intercept + slope * xs[i]!)) ** 2;
  const sigma = Math.sqrt(sse / (n - 2));
  const t = t90(n - 2);
  const at = (x: number) => {
    const mean = intercept + slope * x;
    const half = t * sigma * Math.sqrt(1 + 1 / n + (x - mx) ** 2 / sxx);
    return { day: x, mean, lower: mean - half, upper: mean + half };
  };
  const band = o.band ? Array.from({ length: o.horizonDays + 1 }, (_, d) => at(d)) : [];
  // Rounding noise in a flat fit must not read as a trend that reaches capacity in a million days.
  const reaches = (key: 'mean' | 'upper') => {
    for (let d = 0; d <= o.horizonDays; d++) {
      const mean = intercept + slope * d;
      const v = key === 'mean' ? mean : mean + t * sigma * Math.sqrt(1 + 1 / n + (d - mx) ** 2 / sxx);
      if (v >= o.capacity - 1e-9) return d;
    }
    return null;
  };
  const renewal = o.renewalInDays === null ? null : at(Math.max(0, o.renewalInDays)).mean;
  return {
    status: 'ok',
    points: n,
    slope,
    level: intercept,
    sigma,
    exhaustionInDays: reaches('mean'),
    exhaustionUpperInDays: reaches('upper'),
    suggested: renewal === null ? null : Math.ceil(Math.max(0, renewal) * (1 + o.buffer) - 1e-9),
    band,
  };
}
