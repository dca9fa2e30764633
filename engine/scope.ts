// Scope coverage: an entitlement lists allowed values per dimension (exact
// or glob); a missing dimension means any value. A claim that does not know a
// restricted dimension is not covered: we cannot prove it is in scope.
import picomatch from 'picomatch';
import { SCOPE_DIMENSIONS, type Scope, type ScopeDimension } from './types.ts';

export type ScopeSpec = Partial<Record<ScopeDimension, string | string[]>>;

export interface ScopeMatcher {
  /** How many dimensions the scope restricts (more is more specific). */
  restricted: number;
  covers(scope: Scope): boolean;
}

const GLOB = /[*?[\]{}!]/;

export function scopeMatcher(spec: ScopeSpec | undefined): ScopeMatcher {
  const tests: [ScopeDimension, (v: string) => boolean][] = [];
  for (const dim of SCOPE_DIMENSIONS) {
    const raw = spec?.[dim];
    if (raw === undefined) continue;
    const values = Array.isArray(raw) ? raw : [raw];
    const exact = new Set(values.filter((v) => !GLOB.test(v)));
    const globs = values.filter((v) => GLOB.test(v)).map((g) => picomatch(g, { dot: true }));
    tests.push([dim, (v) => exact.has(v) || globs.some((g) => g(v))]);
  }
  return {
    restricted: tests.length,
    covers: (scope) => tests.every(([dim, test]) => scope[dim] !== undefined && test(scope[dim]!)),
  };
}

/** A stable key for records with the same scope, so they can be summed. */
export function scopeKey(scope: Scope): string {
  return SCOPE_DIMENSIONS.map((d) => scope[d] ?? '').join('\u0000');
}

/** A stable key for usage of one product in one scope: the one key every part that sums usage uses. */
export function usageKey(product: string, scope: Scope): string {
  return `${product}\u0000${scopeKey(scope)}`;
}
