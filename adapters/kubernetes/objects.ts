// Safe readers for Kubernetes objects. Manifests and AdmissionReviews are
// untrusted input, so nothing here assumes a field has the type the API says.

export type Obj = Record<string, unknown>;

export function rec(v: unknown): Obj | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** A string map such as labels or annotations; non-string values are dropped. */
export function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const r = rec(v);
  if (!r) return out;
  for (const [k, val] of Object.entries(r)) if (typeof val === 'string') out[k] = val;
  return out;
}

/** A non-negative integer field (replicas, parallelism); undefined when absent or not one. */
export function count(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined;
}

export function metadata(o: unknown): Obj {
  return rec(rec(o)?.metadata) ?? {};
}

export function spec(o: unknown): Obj {
  return rec(rec(o)?.spec) ?? {};
}

export function kindOf(o: unknown): string {
  return str(rec(o)?.kind) ?? '';
}

/** The API group of an `apiVersion` ("apps/v1" → "apps", "v1" → ""). */
export function groupOf(o: unknown): string {
  const v = str(rec(o)?.apiVersion) ?? '';
  const slash = v.indexOf('/');
  return slash < 0 ? '' : v.slice(0, slash);
}
