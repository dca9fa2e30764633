import { describe, expect, it } from 'vitest';
import { cpuMillis, wholeCores } from './cpu.ts';

describe('cpuMillis', () => {
  it.each([
    ['500m', 500],
    ['2', 2000],
    ['1.5', 1500],
    ['0.1', 100],
    ['.25', 250],
    ['100n', 1], // Kubernetes rounds up to a whole millicore
    ['1500u', 2],
    ['1e3', 1_000_000],
    ['2E-3', 2],
    ['1k', 1_000_000],
    ['1Ki', 1_024_000],
    [' 750m ', 750],
    ['+3', 3000],
    [2, 2000],
    [0.1, 100],
    [0, 0],
  ])('%j is %i millicores', (input, expected) => {
    expect(cpuMillis(input)).toBe(expected);
  });

  it.each(['', 'abc', '-1', '1.2.3', '5 m', 'm', '1Z', null, undefined, {}, -2, Number.NaN])('%j is not a CPU quantity', (input) => {
    expect(cpuMillis(input)).toBeUndefined();
  });

  it('adds decimals exactly where floating point would not', () => {
    // 0.1 + 0.2 in floats is 0.30000000000000004; three pods of 0.1 must be 300m, one core.
    const millis = [cpuMillis('0.1')!, cpuMillis('0.2')!].reduce((a, b) => a + b);
    expect(millis).toBe(300);
    expect(wholeCores(cpuMillis('0.1')! * 10)).toBe(1);
    expect(wholeCores(1001)).toBe(2);
    expect(wholeCores(0)).toBe(0);
  });
});
