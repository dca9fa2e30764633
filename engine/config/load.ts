// Validates a config file as a whole: every problem is collected and
// reported together, and nothing is returned from a file with problems. The
// schema is the whole file's (config/schema.ts composes it); the rules that
// span entries are the licence part's, so they live here.
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import type * as z from 'zod/mini';
import { EntitlegateError, type Problem } from '../errors.ts';
import { parseSource, problemAt, sortProblems, validate, type SourceDoc } from '../source.ts';
import type { LicenceConfig } from './schema.ts';
import { endOf, startOf } from '../time.ts';

export interface LoadedConfig<C extends LicenceConfig = LicenceConfig> {
  config: C;
  file: string;
  /** sha256 of the file's bytes, for provenance. */
  digest: string;
  /** Absolute path of the custom policy, if the config names one. */
  policyPath?: string;
}

/** Parses `text` (the file `file`) against `schema`, a config schema whose licence part is the engine's. */
export function parseConfigWith<S extends z.ZodMiniType<LicenceConfig>>(schema: S, file: string, text: string): LoadedConfig<z.output<S>> {
  const src = parseSource(file, text, 'EG_ERR_CONFIG_INVALID', 'the config');
  if (src.doc.contents === null) {
    throw new EntitlegateError('EG_ERR_CONFIG_INVALID', `${file}: the config is empty`, [
      { file, line: 1, col: 1, message: 'the config is empty' },
    ]);
  }
  const { value, problems } = validate(src, schema);
  problems.push(...semanticProblems(src, src.doc.toJS({ maxAliasCount: 100 })));
  if (problems.length || !value) {
    const sorted = sortProblems(problems);
    throw new EntitlegateError(
      'EG_ERR_CONFIG_INVALID',
      `${file}: the config has ${sorted.length} problem${sorted.length === 1 ? '' : 's'}`,
      sorted,
    );
  }
  const digest = 'sha256:' + createHash('sha256').update(text).digest('hex');
  const loaded: LoadedConfig<z.output<S>> = { config: value, file, digest };
  if (value.policy) loaded.policyPath = resolve(dirname(file), value.policy);
  return loaded;
}

/** A list of objects from the raw document, whatever else is wrong with it. */
function entries(doc: unknown, key: string): Record<string, unknown>[] {
  const list = (doc as Record<string, unknown> | null)?.[key];
  return Array.isArray(list) ? list.map((e) => (e && typeof e === 'object' ? (e as Record<string, unknown>) : {})) : [];
}

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * Rules that span several entries, which a schema cannot express. They read
 * the raw document, so they are reported together with the schema's problems
 * (every problem at once, not one round at a time); entries the schema
 * already rejects are skipped where a value is missing.
 */
function semanticProblems(src: SourceDoc, doc: unknown): Problem[] {
  const problems: Problem[] = [];
  const productIds = new Set<string>();
  entries(doc, 'products').forEach((p, i) => {
    const id = text(p.id);
    if (id === undefined) return;
    if (productIds.has(id)) problems.push(problemAt(src, ['products', i, 'id'], `duplicate product id "${id}"`));
    productIds.add(id);
  });
  const seen = new Set<string>();
  for (const list of ['entitlements', 'exceptions'] as const) {
    entries(doc, list).forEach((e, i) => {
      const id = text(e.id);
      const product = text(e.product);
      if (id !== undefined && seen.has(id))
        problems.push(problemAt(src, [list, i, 'id'], `duplicate id "${id}" (entitlement and exception ids share one namespace)`));
      if (id !== undefined) seen.add(id);
      if (product !== undefined && !productIds.has(product))
        problems.push(problemAt(src, [list, i, 'product'], `unknown product "${product}"; declare it under products`));
    });
  }
  // Terms are compared only when both ends are real dates (the schema reports the others).
  const real = (v: unknown): v is string => typeof v === 'string' && !Number.isNaN(startOf(v));
  entries(doc, 'entitlements').forEach((e, i) => {
    // A date-only validUntil is the whole day: 12:00 that day to 2026-06-01 is a valid term.
    if (real(e.validFrom) && real(e.validUntil) && startOf(e.validFrom) >= endOf(e.validUntil)) {
      problems.push(
        problemAt(
          src,
          ['entitlements', i, 'validFrom'],
          `validFrom ${e.validFrom} is not before the end of validUntil ${e.validUntil}: the term is empty`,
        ),
      );
    }
  });
  entries(doc, 'exceptions').forEach((x, i) => {
    const approver = text(x.approvedBy);
    const requester = text(x.requestedBy);
    if (approver !== undefined && requester !== undefined && approver.trim().toLowerCase() === requester.trim().toLowerCase()) {
      problems.push(
        problemAt(
          src,
          ['exceptions', i, 'approvedBy'],
          `exception ${text(x.id) ?? i} is approved by its own requester "${requester}"; another person must approve it`,
        ),
      );
    }
    if (real(x.from) && real(x.until) && startOf(x.from) >= endOf(x.until)) {
      problems.push(
        problemAt(src, ['exceptions', i, 'from'], `from ${x.from} is not before the end of until ${x.until}: the exception never applies`),
      );
    }
  });
  return problems;
}
