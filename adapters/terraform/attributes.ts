// Attribute paths into a resource's planned values and into `after_unknown`.

/** `a.b.0.c`, `a.b[0].c` → ['a','b','0','c']. */
export function splitPath(path: string): string[] {
  return path
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter((s) => s !== '');
}

export type Lookup = { found: true; value: unknown } | { found: false };

/**
 * Follows a path through an attribute value. Numeric segments index lists; a
 * name on a one-element list (Terraform's nested blocks) steps into it, so
 * `os_disk.caching` works as well as `os_disk.0.caching`.
 */
export function lookup(root: unknown, path: readonly string[]): Lookup {
  let cur: unknown = root;
  for (const seg of path) {
    if (Array.isArray(cur)) {
      if (/^\d+$/.test(seg)) {
        cur = cur[Number(seg)];
        if (cur === undefined) return { found: false };
        continue;
      }
      if (cur.length !== 1) return { found: false };
      cur = cur[0];
    }
    if (typeof cur !== 'object' || cur === null || !Object.hasOwn(cur, seg)) return { found: false };
    cur = (cur as Record<string, unknown>)[seg];
  }
  return { found: true, value: cur };
}

/** True when `after_unknown` marks the value at `path` (or anything above it) as known only after apply. */
export function isUnknown(afterUnknown: unknown, path: readonly string[]): boolean {
  let cur: unknown = afterUnknown;
  for (const seg of path) {
    if (cur === true) return true;
    if (Array.isArray(cur)) {
      if (/^\d+$/.test(seg)) {
        cur = cur[Number(seg)];
        continue;
      }
      cur = cur.length === 1 ? cur[0] : undefined;
      if (cur === true) return true;
    }
    if (typeof cur !== 'object' || cur === null) return false;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur === true;
}
