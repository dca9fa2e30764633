// entitlegate's own claims JSON: {"claims": [...]}, for any tool that can
// compute what it deploys (and for tests and what-if questions).
import { EntitlegateError } from '../../engine/errors.ts';
import { claimsFile } from '../../engine/config/schema.ts';
import { parseSource, positionOf, problemAt, sortProblems, validate } from '../../engine/source.ts';
import type { Claim, Metric, Scope } from '../../engine/types.ts';

export function isClaimsDocument(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Array.isArray((value as { claims?: unknown }).claims);
}

/** Parses and validates a claims file; `flags` scope values win over the file's. */
export function claimsFromText(file: string, text: string, opts: { products: ReadonlyMap<string, Metric>; scope?: Scope }): Claim[] {
  const src = parseSource(file, text, 'EG_ERR_INPUT_INVALID', 'the claims file');
  const { value, problems } = validate(src, claimsFile);
  value?.claims.forEach((c, i) => {
    const metric = opts.products.get(c.product);
    // A claim that only frees may name a product the config no longer has (a delete needs no entitlement).
    const adds = c.quantity === null || c.quantity > 0 || (c.peak ?? 0) > 0;
    if (metric === undefined) {
      if (adds) problems.push(problemAt(src, ['claims', i, 'product'], `unknown product "${c.product}"`));
    } else if (c.metric !== undefined && c.metric !== metric)
      problems.push(
        problemAt(
          src,
          ['claims', i, 'metric'],
          `metric "${c.metric}" is not the metric of product "${c.product}", which is counted in ${metric}`,
        ),
      );
    if (c.peak !== undefined && c.quantity !== null && c.peak < c.quantity) {
      problems.push(problemAt(src, ['claims', i, 'peak'], `peak ${c.peak} is below quantity ${c.quantity}`));
    }
  });
  if (!value || problems.length) {
    const sorted = sortProblems(problems);
    throw new EntitlegateError(
      'EG_ERR_INPUT_INVALID',
      `${file}: the claims file has ${sorted.length} problem${sorted.length === 1 ? '' : 's'}`,
      sorted,
    );
  }
  return value.claims.map((c, i) => {
    const claim: Claim = { product: c.product, quantity: c.quantity, scope: { ...c.scope, ...opts.scope } };
    if (c.peak !== undefined) claim.peak = c.peak;
    if (c.unknownReason) claim.unknownReason = c.unknownReason;
    if (c.remedy) claim.remedy = c.remedy;
    claim.resource = c.resource ?? { kind: 'Claim', name: `${c.product}#${i}` };
    if (!claim.resource.file) claim.resource = { ...claim.resource, file, line: positionOf(src, ['claims', i]).line };
    return claim;
  });
}
