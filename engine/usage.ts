// Usage snapshots: where each usage number came from (provenance) and what it is.
import { EntitlegateError } from './errors.ts';
import { parseSource, readText, sortProblems, validate } from './source.ts';
import { usageSnapshot } from './config/schema.ts';
import type { UsageSnapshot } from './types.ts';

export function loadUsage(file: string): UsageSnapshot {
  return parseUsage(file, readText(file, 'EG_ERR_USAGE_INVALID'));
}

export function parseUsage(file: string, text: string): UsageSnapshot {
  const src = parseSource(file, text, 'EG_ERR_USAGE_INVALID', 'the usage snapshot');
  const { value, problems } = validate(src, usageSnapshot);
  if (src.doc.contents === null) problems.push({ file, line: 1, col: 1, message: 'the usage snapshot is empty' });
  if (!value || problems.length) {
    const sorted = sortProblems(problems);
    throw new EntitlegateError('EG_ERR_USAGE_INVALID', `${file}: the usage snapshot has ${sorted.length} problem${sorted.length === 1 ? '' : 's'}`, sorted);
  }
  return { ...value, file };
}
