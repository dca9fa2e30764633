// The dashboard's answers as an identity limited to products or a scope reads
// them (docs/ledger.md, "Tokens and roles"): series, forecasts and views keep
// only what sees() lets through, and totals are computed over that alone.
// A limited identity gets the fields named here and no others, so a field added
// to a view later shows to it only once it is filtered here too.
import { type Identity, isLimited, sees } from '../identity.ts';
import type { Ledger } from '../ledger.ts';
import { viewOf } from '../ledger.ts';
import { seesReservation } from '../visible.ts';
import { reconcile } from './reconciliation.ts';
import type { PlatformProduct, platformView } from './views.ts';

/** A product's series (scope null: its total over every scope) that the identity sees. */
export function visibleSeries<S extends { scope: Record<string, string> | null }>(who: Identity, product: string, series: S[]): S[] {
  return series.filter((s) => (s.scope === null ? sees(who, product) : sees(who, product, s.scope)));
}

/** The reservations of a view or list that the identity sees whole. */
export function visibleReservations<R extends { lines: Parameters<typeof seesReservation>[1]['lines'] }>(who: Identity, list: R[]): R[] {
  return list.filter((r) => seesReservation(who, r));
}

/**
 * The platform view for a limited identity. Limited to products only, each of its
 * products' rows is the product's own, as for anyone. Limited to a scope, a
 * product's total over every scope is not its to see: its row is rebuilt from
 * what it sees (the entitlements restricted to its scope, usage and reservations
 * in it), so headroom is that of its scope's own entitlements.
 */
export async function visiblePlatform(ledger: Ledger, who: Identity, view: Awaited<ReturnType<typeof platformView>>) {
  if (!isLimited(who)) return view;
  const rec = await reconcile(ledger, 90, who);
  const products: PlatformProduct[] = who.scope
    ? rec.products
        .filter((p) => p.entitled > 0 || p.scopes.length > 0)
        .map((p) => {
          const used = p.declared + p.discovered + p.other;
          const headroom = Math.max(0, p.entitled - used - p.reserved);
          return {
            product: p.product,
            metric: p.metric,
            capacity: p.entitled,
            used,
            reserved: p.reserved,
            headroom,
            utilization: p.entitled > 0 ? (used + p.reserved) / p.entitled : null,
            // Every entitlement it sees is restricted to its scope, so each scope within it is covered by all of them alone.
            scopes: p.scopes.map((s) => ({
              scope: s.scope,
              used: s.declared + s.discovered + s.other,
              reserved: s.reserved,
              capacity: p.entitled,
              headroom,
            })),
          };
        })
    : view.products.filter((p) => sees(who, p.product));
  const open = await ledger.store.listReservations(ledger.clock().getTime(), ['held', 'confirmed'], 10_000);
  return {
    asOf: view.asOf,
    products,
    reservations: visibleReservations(who, open).slice(0, 200).map(viewOf),
    stale: rec.stale,
    overlaps: rec.overlaps.length,
  };
}
