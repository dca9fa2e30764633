import { describe, expect, it } from 'vitest';
import { PREVIEW_MAX, preview, previewText } from './preview.ts';

describe('preview', () => {
  it('writes a short value as JSON', () => {
    expect(preview([[[1]]])).toBe('[[[1]]]');
    expect(preview({ a: 'x', b: undefined, c: [undefined] })).toBe('{"a":"x","c":[null]}');
    expect(preview('30')).toBe('"30"');
    expect(preview(undefined)).toBe('undefined');
  });

  it('cuts a value nested 100,000 deep, or a megabyte long, to the budget without walking it all', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const shown = preview(deep);
    expect(shown).toHaveLength(PREVIEW_MAX);
    expect(shown).toBe(`${'['.repeat(PREVIEW_MAX - 1)}…`);
    expect(preview('x'.repeat(1_000_000))).toHaveLength(PREVIEW_MAX);
    expect(preview(Array.from({ length: 1_000_000 }, (_, i) => i))).toMatch(/^\[0,1,2,.*…$/);
  });

  it('cuts text without quoting it', () => {
    expect(previewText('db.m5.large')).toBe('db.m5.large');
    expect(previewText('y'.repeat(500), 10)).toBe('yyyyyyyyy…');
  });
});
