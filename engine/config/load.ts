// Loads and validates the config file as a whole: every problem is collected
// and reported together, and nothing is returned from a file with problems.
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { EntitlegateError, type Problem } from '../errors.ts';
import { parseSource, problemAt, readText, sortProblems, validate, type SourceDoc } from '../source.ts';
import { config as configSchema, type Config } from './schema.ts';
import { endOf, startOf } from '../time.ts';

export interface LoadedConfig {
  config: Config;
  file: string;
  /** sha256 of the file's bytes, for provenance. */
  digest: string;
  /** Absolute path of the custom policy, if the config names one. */
  policyPath?: string;
}

export function loadConfig(file: string): LoadedConfig {
  const text = readText(file, 'EG_ERR_CONFIG_INVALID');
  return parseConfig(file, text);
}

export function parseConfig(file: string, text: string): LoadedConfig {
  const src = parseSource(file, text, 'EG_ERR_CONFIG_INVALID', 'the config');
  if (src.doc.contents === null) {
    throw new EntitlegateError('EG_ERR_CONFIG_INVALID', `${file}: the config is empty`, [{ file, line: 1, col: 1, message: 'the config is empty' }]);
  }
  const { value, problems } = validate(src, configSchema);
  if (value) problems.push(...semanticProblems(src, value));
  if (problems.length || !value) {
    const sorted = sortProblems(problems);
    throw new EntitlegateError('EG_ERR_CONFIG_INVALID', `${file}: the config has ${sorted.length} problem${sorted.length === 1 ? '' : 's'}`, sorted);
  }
  const digest = 'sha256:' + createHash('sha256').update(text).digest('hex');
  const loaded: LoadedConfig = { config: value, file, digest };
  if (value.policy) loaded.policyPath = resolve(dirname(file), value.policy);
  return loaded;
}

/** Rules that span several entries, which a schema cannot express. */
function semanticProblems(src: SourceDoc, cfg: Config): Problem[] {
  const problems: Problem[] = [];
  const productIds = new Set<string>();
  cfg.products.forEach((p, i) => {
    if (productIds.has(p.id)) problems.push(problemAt(src, ['products', i, 'id'], `duplicate product id "${p.id}"`));
    productIds.add(p.id);
  });
  const seen = new Set<string>();
  const checkRefs = (list: 'entitlements' | 'exceptions') =>
    cfg[list].forEach((e, i) => {
      if (seen.has(e.id)) problems.push(problemAt(src, [list, i, 'id'], `duplicate id "${e.id}" (entitlement and exception ids share one namespace)`));
      seen.add(e.id);
      if (!productIds.has(e.product)) problems.push(problemAt(src, [list, i, 'product'], `unknown product "${e.product}"; declare it under products`));
    });
  checkRefs('entitlements');
  checkRefs('exceptions');
  cfg.entitlements.forEach((e, i) => {
    // A date-only validUntil is the whole day: 12:00 that day to 2026-06-01 is a valid term.
    if (e.validFrom && e.validUntil && startOf(e.validFrom) >= endOf(e.validUntil)) {
      problems.push(problemAt(src, ['entitlements', i, 'validFrom'], `validFrom ${e.validFrom} is not before the end of validUntil ${e.validUntil}: the term is empty`));
    }
  });
  cfg.exceptions.forEach((x, i) => {
    if (x.approvedBy.trim().toLowerCase() === x.requestedBy.trim().toLowerCase()) {
      problems.push(problemAt(src, ['exceptions', i, 'approvedBy'], `exception ${x.id} is approved by its own requester "${x.requestedBy}"; another person must approve it`));
    }
    if (x.from && startOf(x.from) >= endOf(x.until)) {
      problems.push(problemAt(src, ['exceptions', i, 'from'], `from ${x.from} is not before the end of until ${x.until}: the exception never applies`));
    }
  });
  return problems;
}
