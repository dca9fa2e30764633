import { describe, expect, it } from 'vitest';
import { BoundedMemo } from './memo.ts';

describe('BoundedMemo', () => {
  it('computes a key once, remembers undefined too, and starts afresh when full', () => {
    const memo = new BoundedMemo<string, number | undefined>(2);
    let calls = 0;
    const f = (k: string) => {
      calls++;
      return k === 'x' ? undefined : k.length;
    };
    expect(memo.get('ab', f)).toBe(2);
    expect(memo.get('ab', f)).toBe(2);
    expect(memo.get('x', f)).toBeUndefined();
    expect(memo.get('x', f)).toBeUndefined();
    expect(calls).toBe(2);
    expect(memo.get('abc', f)).toBe(3); // full: cleared, then stored
    expect(memo.get('ab', f)).toBe(2);
    expect(calls).toBe(4);
  });
});
