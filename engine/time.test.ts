// Moments as configs, usage snapshots and --now spell them: one pattern, and
// only days that exist.
import { describe, expect, it } from 'vitest';
import { endOf, parseNow, startOf } from './time.ts';

describe('--now', () => {
  it('takes an instant with its offset, or a date as the start of that UTC day', () => {
    expect(parseNow('2026-11-28T10:00:00Z')?.toISOString()).toBe('2026-11-28T10:00:00.000Z');
    expect(parseNow('2026-11-28T11:00:00+01:00')?.toISOString()).toBe('2026-11-28T10:00:00.000Z');
    expect(parseNow('2026-11-28')?.toISOString()).toBe('2026-11-28T00:00:00.000Z');
    expect(parseNow('2028-02-29')?.toISOString()).toBe('2028-02-29T00:00:00.000Z');
  });

  it('refuses a day that does not exist instead of rolling it into the next month, as the config does', () => {
    for (const bad of ['2026-02-30', '2026-02-29', '2026-04-31T10:00:00Z', '2026-13-01']) expect(parseNow(bad), bad).toBeNull();
  });

  it('refuses a time without an offset, and words', () => {
    for (const bad of ['2026-11-28T10:00:00', 'tomorrow', '1']) expect(parseNow(bad), bad).toBeNull();
  });
});

describe('terms', () => {
  it('a date is the whole UTC day; an instant is exact', () => {
    expect(endOf('2026-12-31') - startOf('2026-12-31')).toBe(86_400_000);
    expect(endOf('2026-12-31T12:00:00Z')).toBe(startOf('2026-12-31T12:00:00Z'));
  });
});
