// Patterns for names a rule or a token limit matches (OIDC claims, source
// names): exact text, or a glob where `*` is any run of characters. Nothing
// else is special, so a name with dots or slashes matches itself.
export function glob(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
}

/** Whether `name` matches one of `patterns`. */
export function matchesAny(patterns: readonly string[], name: string): boolean {
  return patterns.some((p) => glob(p).test(name));
}
