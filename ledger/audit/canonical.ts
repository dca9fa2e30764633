// RFC 8785 (JSON Canonicalization Scheme): the bytes a decision-log record is
// hashed over. Written here rather than taken from npm: the scheme is defined
// on top of ECMAScript's own JSON serialisation of numbers and strings, so it
// is a few lines over JSON.stringify, and canonical.test.ts checks it against
// the RFC's own vectors. What RFC 8785 forbids (lone surrogates, NaN,
// Infinity) is refused rather than written in some spelling.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json | undefined };

export class CanonicalJsonError extends Error {}

export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed()) throw new CanonicalJsonError('a string holds a lone surrogate, which RFC 8785 refuses');
      return JSON.stringify(value);
    case 'number':
      // ECMAScript's Number-to-string is RFC 8785's number format (-0 is written 0).
      if (!Number.isFinite(value)) throw new CanonicalJsonError(`${value} is not a JSON number`);
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
      const obj = value as Record<string, unknown>;
      // The default sort compares UTF-16 code units, as RFC 8785 section 3.2.3 asks.
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      let out = '{';
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        out += `${i ? ',' : ''}${canonicalJson(k)}:${canonicalJson(obj[k])}`;
      }
      return `${out}}`;
    }
    default:
      throw new CanonicalJsonError(`a ${typeof value} is not JSON`);
  }
}
