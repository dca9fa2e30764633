// Product matchers from `products[].match.terraform`, compiled once into an
// index by resource type so a plan costs one map lookup per resource change,
// however many products the config has.
import picomatch from 'picomatch';
import type { Product } from './settings.ts';
import { isUnknown, lookup, splitPath } from './attributes.ts';
import { compileQuantity, type CompiledQuantity } from './quantity.ts';

type Scalar = string | number | boolean;
type Test = (v: Scalar) => boolean;

interface Condition {
  attribute: string;
  path: string[];
  test: Test;
}

export interface CompiledMatcher {
  conditions: Condition[];
  quantity: CompiledQuantity;
}

/** One product's matchers for one resource type, in config order. */
export interface ProductMatchers {
  product: string;
  matchers: CompiledMatcher[];
}

export type MatcherIndex = Map<string, ProductMatchers[]>;

export function buildMatcherIndex(products: readonly Product[]): MatcherIndex {
  const index: MatcherIndex = new Map();
  for (const product of products) {
    for (const m of product.match?.terraform ?? []) {
      let list = index.get(m.type);
      if (!list) index.set(m.type, (list = []));
      let entry = list.find((e) => e.product === product.id);
      if (!entry) list.push((entry = { product: product.id, matchers: [] }));
      entry.matchers.push({
        quantity: compileQuantity(m.quantity),
        conditions: Object.entries(m.where ?? {}).map(([attribute, expected]) => ({
          attribute,
          path: splitPath(attribute),
          test: compileTest(expected),
        })),
      });
    }
  }
  return index;
}

const globOptions = { dot: true, bash: true } as const;

function compileScalar(expected: Scalar): Test {
  if (typeof expected === 'string') {
    if (picomatch.scan(expected).isGlob) {
      const isMatch = picomatch(expected, globOptions);
      return (v) => typeof v === 'string' && isMatch(v);
    }
    return (v) => v === expected || (typeof v !== 'string' && String(v) === expected);
  }
  return (v) => v === expected || (typeof v === 'string' && v === String(expected));
}

function compileTest(expected: Scalar | Scalar[]): Test {
  if (!Array.isArray(expected)) return compileScalar(expected);
  const tests = expected.map(compileScalar);
  return (v) => tests.some((t) => t(v));
}

export type MatchOutcome = { kind: 'match' } | { kind: 'miss' } | { kind: 'unknown'; attribute: string };

/**
 * Does one side (before or after) of a resource satisfy the matcher's `where`?
 * A condition on a value known only after apply can be neither confirmed nor
 * ruled out: that is `unknown` unless another condition already rules it out.
 */
export function matchConditions(m: CompiledMatcher, values: unknown, afterUnknown: unknown): MatchOutcome {
  let unknownAttr: string | undefined;
  for (const c of m.conditions) {
    if (afterUnknown !== undefined && isUnknown(afterUnknown, c.path)) {
      unknownAttr ??= c.attribute;
      continue;
    }
    const got = lookup(values, c.path);
    if (!got.found || !satisfies(got.value, c.test)) return { kind: 'miss' };
  }
  return unknownAttr === undefined ? { kind: 'match' } : { kind: 'unknown', attribute: unknownAttr };
}

function satisfies(value: unknown, test: Test): boolean {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return test(value);
  // A list or set attribute matches when one of its elements does.
  if (Array.isArray(value)) return value.some((v) => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') && test(v));
  return false;
}
