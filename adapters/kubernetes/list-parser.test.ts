import { describe, expect, it } from 'vitest';
import { LineSplitter, ListPageParser } from './list-parser.ts';

describe('ListPageParser', () => {
  const doc = {
    kind: 'PodList',
    apiVersion: 'v1',
    metadata: { resourceVersion: '77', continue: 'tok"en\\' },
    items: [
      { metadata: { name: 'a', annotations: { note: 'has "quotes", \\backslashes\\\\ and {braces] and "items":[' } } },
      { metadata: { name: 'b' }, spec: { items: [1, 2, { items: [] }] } },
      { metadata: { name: 'ü-雪-🙂' } },
    ],
  };
  const text = JSON.stringify(doc, null, 1);

  it('hands on each item and keeps the rest, however the text is cut', () => {
    for (let size = 1; size <= 7; size++) {
      for (let offset = 0; offset < size; offset++) {
        const items: unknown[] = [];
        const p = new ListPageParser((i) => items.push(i));
        const cuts = [0, offset];
        for (let k = offset + size; k < text.length; k += size) cuts.push(k);
        cuts.push(text.length);
        for (let k = 0; k + 1 < cuts.length; k++) p.push(text.slice(cuts[k], cuts[k + 1]));
        expect(items).toEqual(doc.items);
        expect(p.end()).toEqual({ ...doc, items: [] });
      }
    }
  });

  it('rejects a document cut short', () => {
    const p = new ListPageParser(() => {});
    p.push(text.slice(0, 40));
    expect(() => p.end()).toThrow(/mid-document/);
  });
});

describe('LineSplitter', () => {
  it('joins a line split over chunks and splits chunks holding several lines', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    for (const chunk of ['{"a":', '1}\n{"b"', ':2}\n\n{"c":3}\n{"d"', ':4}']) s.push(chunk);
    s.end();
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}', '{"d":4}']);
  });
});
