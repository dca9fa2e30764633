// Usage snapshots: where each usage number came from (provenance) and what it is.
import { EntitlegateError } from './errors.ts';
import { parseSource, problemAt, readText, sortProblems, validate } from './source.ts';
import { usageSnapshot } from './config/schema.ts';
import type { UsageSnapshot } from './types.ts';

/** Reads a snapshot; with `products`, a record naming another product is a problem. */
export function loadUsage(file: string, products?: ReadonlySet<string>): UsageSnapshot {
  return parseUsage(file, readText(file, 'EG_ERR_USAGE_INVALID'), products);
}

export function parseUsage(file: string, text: string, products?: ReadonlySet<string>): UsageSnapshot {
  const src = parseSource(file, text, 'EG_ERR_USAGE_INVALID', 'the usage snapshot');
  if (src.doc.contents === null) {
    throw new EntitlegateError('EG_ERR_USAGE_INVALID', `${file}: the usage snapshot is empty`, [
      { file, line: 1, col: 1, message: 'the usage snapshot is empty' },
    ]);
  }
  const { value, problems } = validate(src, usageSnapshot);
  value?.usage.forEach((r, i) => {
    if (products && !products.has(r.product))
      problems.push(problemAt(src, ['usage', i, 'product'], `unknown product "${r.product}"; declare it in the config`));
  });
  if (!value || problems.length) {
    const sorted = sortProblems(problems);
    throw new EntitlegateError(
      'EG_ERR_USAGE_INVALID',
      `${file}: the usage snapshot has ${sorted.length} problem${sorted.length === 1 ? '' : 's'}`,
      sorted,
    );
  }
  return { ...value, file };
}
