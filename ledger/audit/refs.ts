// What a decision-log record names, for the log's search (GET /v1/audit/search):
// the products and resources in its details, and the reservation or exception
// its subject is about when the details do not say (a confirmation, an approval).
// The stores keep them in eg_log_refs, written with the record; an index to
// find records by, never evidence: verify reads the records, not these.
import type { LogEntry } from './chain.ts';

export type RefKind = 'product' | 'resource';

export interface LogRefs {
  products: string[];
  resources: string[];
  /** The table whose row named by the subject holds the record's products (and resources): read by the store in the same step. */
  about: 'reservation' | 'exception' | null;
}

/** Strings longer than this are not indexed (a key that long is not something anyone types into a filter). */
const MAX_VALUE = 512;

function walk(value: unknown, products: Set<string>, resources: Set<string>): void {
  if (Array.isArray(value)) for (const v of value) walk(v, products, resources);
  else if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    // Any object with a product: decision figures, violations, denied claims, reservation lines, usage records, an exception request.
    if (typeof o.product === 'string') products.add(o.product);
    if (typeof o.resource === 'string') resources.add(o.resource);
    if (Array.isArray(o.resources)) for (const r of o.resources) if (typeof r === 'string') resources.add(r);
    for (const v of Object.values(o)) walk(v, products, resources);
  }
}

export function logRefs(entry: Pick<LogEntry, 'action' | 'details'>): LogRefs {
  const products = new Set<string>();
  const resources = new Set<string>();
  walk(entry.details, products, resources);
  // A token limited to products names them as a list of ids.
  if (entry.action === 'token.create' && Array.isArray(entry.details.products))
    for (const p of entry.details.products) if (typeof p === 'string') products.add(p);
  const about = entry.action.startsWith('reservation.') ? 'reservation' : entry.action.startsWith('exception.') ? 'exception' : null;
  const short = (s: string) => s.length > 0 && s.length <= MAX_VALUE;
  return { products: [...products].filter(short), resources: [...resources].filter(short), about };
}
