// The forecast on series whose answers are known by hand.
import { describe, expect, it } from 'vitest';
import { forecast, t90 } from './forecast.ts';

const series = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

/** Deterministic normal noise: an LCG through Box–Muller. */
function normals(seed: number, sd: number): () => number {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 1) / 4294967297;
  };
  return () => sd * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

describe('forecast', () => {
  it('flat usage: no trend, a zero-width band, never runs out, suggests the level plus the buffer', () => {
    const f = forecast(
      series(60, () => 50),
      { capacity: 100, renewalInDays: 30, buffer: 0.1 },
    );
    expect(f).toMatchObject({
      status: 'ok',
      points: 60,
      slope: 0,
      level: 50,
      sigma: 0,
      exhaustionInDays: null,
      exhaustionUpperInDays: null,
      suggested: 55,
    });
    if (f.status !== 'ok') throw new Error('no forecast');
    expect(f.band[365]).toEqual({ day: 365, mean: 50, lower: 50, upper: 50 });
  });

  it('linear growth: the exact slope, the day it reaches capacity, and the quantity at renewal', () => {
    // 10 + 2/day for 60 days: 128 on the last day; capacity 200 is reached in (200 - 128) / 2 = 36 days.
    const f = forecast(
      series(60, (i) => 10 + 2 * i),
      { capacity: 200, renewalInDays: 100, buffer: 0.1 },
    );
    expect(f.status).toBe('ok');
    if (f.status !== 'ok') return;
    expect(f.slope).toBeCloseTo(2, 12);
    expect(f.level).toBeCloseTo(128, 9);
    expect(f.exhaustionInDays).toBe(36);
    expect(f.exhaustionUpperInDays).toBe(36);
    // (128 + 200) × 1.1 = 360.8
    expect(f.suggested).toBe(361);
  });

  it('fits only the window: old flat history does not dilute recent growth', () => {
    const peaks = [...series(100, () => 20), ...series(30, (i) => 21 + i)];
    const recent = forecast(peaks, { windowDays: 30, capacity: 100 });
    const all = forecast(peaks, { windowDays: 130, capacity: 100 });
    if (recent.status !== 'ok' || all.status !== 'ok') throw new Error('no forecast');
    expect(recent.slope).toBeCloseTo(1, 12);
    expect(recent.exhaustionInDays).toBe(50);
    expect(all.slope).toBeLessThan(0.5);
  });

  it('a step: the least-squares slope of the whole window, and a flat trend once the window holds only the new level', () => {
    // 60 days at 20, then 30 at 40. Over x = 0..89: Sxx = 90(90² - 1)/12 = 60742.5, Sxy = 20 × Σ(x - 44.5) for x ≥ 60 = 18000.
    const peaks = [...series(60, () => 20), ...series(30, () => 40)];
    const whole = forecast(peaks, { capacity: 60 });
    if (whole.status !== 'ok') throw new Error('no forecast');
    expect(whole.slope).toBeCloseTo(18000 / 60742.5, 12);
    expect(whole.sigma).toBeGreaterThan(0);
    // The early warning (upper bound) comes before the trend itself.
    expect(whole.exhaustionUpperInDays).not.toBeNull();
    expect(whole.exhaustionUpperInDays!).toBeLessThan(whole.exhaustionInDays!);
    const after = forecast(peaks, { windowDays: 30, capacity: 60 });
    expect(after).toMatchObject({ status: 'ok', slope: 0, level: 40, exhaustionInDays: null });
  });

  it('noisy growth: the slope and noise are recovered, and about 80% of later days fall inside the 80% band', () => {
    const truth = (i: number) => 100 + 0.5 * i;
    let inside = 0;
    let total = 0;
    // One fit's band can be a little narrow or wide by chance; over many fits the coverage is the interval's.
    for (let seed = 1; seed <= 30; seed++) {
      const noise = normals(seed, 3);
      const f = forecast(
        series(90, (i) => truth(i) + noise()),
        { capacity: 10_000, horizonDays: 60 },
      );
      if (f.status !== 'ok') throw new Error('no forecast');
      expect(Math.abs(f.slope - 0.5)).toBeLessThan(0.1);
      expect(f.sigma).toBeGreaterThan(2.2);
      expect(f.sigma).toBeLessThan(3.8);
      for (let k = 0; k < 10; k++)
        for (const p of f.band.slice(1)) {
          const y = truth(89 + p.day) + noise();
          total++;
          if (y >= p.lower && y <= p.upper) inside++;
        }
    }
    expect(inside / total).toBeGreaterThan(0.77);
    expect(inside / total).toBeLessThan(0.83);
  });

  it('too short to say: fewer points than needed in the window, days without a value not counted', () => {
    expect(forecast(series(10, (i) => i))).toEqual({ status: 'insufficient', points: 10, needed: 14 });
    const gappy = series(40, (i) => (i % 4 === 0 ? i : null));
    expect(forecast(gappy)).toEqual({ status: 'insufficient', points: 10, needed: 14 });
    expect(
      forecast(
        series(2, (i) => i),
        { minPoints: 0 },
      ),
    ).toEqual({ status: 'insufficient', points: 2, needed: 3 });
  });

  it("Student's t quantile is within 0.5% of the tables", () => {
    for (const [df, table] of [
      [1, 3.077684],
      [2, 1.885618],
      [3, 1.637744],
      [10, 1.372184],
      [30, 1.310415],
      [120, 1.288646],
    ] as const)
      expect(Math.abs(t90(df) / table - 1)).toBeLessThan(0.005);
  });

  it('without the band (a table of every product): the same exhaustion days and suggestion, no band', () => {
    const noisy = Array.from({ length: 90 }, (_, i) => 40 + 0.4 * i + ((i * 7919) % 11) - 5);
    for (const capacity of [60, 90, 500]) {
      const o = { capacity, renewalInDays: 120, horizonDays: 365 };
      const full = forecast(noisy, o);
      const lean = forecast(noisy, { ...o, band: false });
      if (full.status !== 'ok' || lean.status !== 'ok') throw new Error('expected a trend');
      expect({ ...lean, band: full.band }).toEqual(full);
      expect(lean.band).toEqual([]);
    }
  });
});
