// Per-product views of the config and of usage, built once per config or
// usage change so that a decision touches only the products it names.
import type { LicenceConfig, Product } from './config/schema.ts';
import { byChargeOrder, entitlementPool, exceptionPool, type PoolDef } from './pools.ts';
import { scopeKey } from './scope.ts';
import type { Item } from './accounting.ts';
import type { UsageRecord } from './types.ts';

export interface Book {
  product: Product;
  /** Entitlements then exceptions, in charge order. */
  pools: PoolDef[];
}

export function buildBooks(config: LicenceConfig): Map<string, Book> {
  const books = new Map<string, Book>();
  for (const product of config.products) books.set(product.id, { product, pools: [] });
  for (const e of config.entitlements) books.get(e.product)?.pools.push(entitlementPool(e));
  for (const x of config.exceptions) books.get(x.product)?.pools.push(exceptionPool(x));
  for (const book of books.values()) book.pools.sort(byChargeOrder);
  return books;
}

/** Usage per product, records with the same scope summed. */
export function usageItems(records: Iterable<UsageRecord>): Map<string, Item[]> {
  const byProduct = new Map<string, Map<string, Item>>();
  for (const r of records) {
    let scopes = byProduct.get(r.product);
    if (!scopes) byProduct.set(r.product, (scopes = new Map()));
    const key = scopeKey(r.scope);
    const item = scopes.get(key);
    if (item) item.quantity += r.quantity;
    else scopes.set(key, { scope: { ...r.scope }, quantity: r.quantity });
  }
  return new Map([...byProduct].map(([p, m]) => [p, [...m.values()]]));
}

/** What the policy reads as data.config: set once per config. */
export function policyData(config: LicenceConfig) {
  const licensed = new Set([...config.entitlements, ...config.exceptions].map((e) => e.product));
  // Owners per product, so a message costs a lookup, not a scan of all entitlements.
  const owners = new Map<string, Set<string>>();
  for (const e of config.entitlements) if (e.owner) owners.set(e.product, (owners.get(e.product) ?? new Set()).add(e.owner));
  return {
    config: {
      defaults: config.defaults,
      products: Object.fromEntries(
        config.products.map((p) => [
          p.id,
          {
            metric: p.metric,
            vendor: p.vendor ?? null,
            name: p.name ?? null,
            licensed: licensed.has(p.id),
            owners: [...(owners.get(p.id) ?? [])].sort(),
          },
        ]),
      ),
      entitlements: Object.fromEntries(
        config.entitlements.map((e) => [
          e.id,
          {
            product: e.product,
            quantity: e.quantity,
            owner: e.owner ?? null,
            validUntil: e.validUntil ?? null,
            contract: e.contract ?? null,
          },
        ]),
      ),
      exceptions: Object.fromEntries(
        config.exceptions.map((x) => [
          x.id,
          {
            product: x.product,
            quantity: x.quantity,
            until: x.until,
            reason: x.reason,
            requestedBy: x.requestedBy,
            approvedBy: x.approvedBy,
          },
        ]),
      ),
    },
  };
}
