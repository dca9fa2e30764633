// Usage by source, as the engine sees it: every source's current report, a
// resource reported by several sources counted once (from the report observed
// last), and sources silent past their staleAfter named in a warning.
import type { UsageSource } from '../engine/engine.ts';
import type { Finding } from '../engine/types.ts';
import type { ReportedResource, SourceUsageRecord, UsageReport } from './store/types.ts';

export function effectiveUsage(reports: readonly UsageReport[], products: ReadonlySet<string>): UsageSource[] {
  const newest = [...reports].sort((a, b) => Date.parse(b.observedAt) - Date.parse(a.observedAt) || b.reportedAt - a.reportedAt);
  const seen = new Set<string>();
  const kept = new Map<string, UsageSource>();
  for (const r of newest) {
    const usage = r.usage.filter((u) => {
      // A report can outlive the product (the config changed since): it no longer counts.
      if (!products.has(u.product)) return false;
      if (u.resource === undefined) return true;
      const key = `${u.product}\u0000${u.resource}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    kept.set(r.source, {
      source: r.source,
      observedAt: r.observedAt,
      usage: usage.map((u) => ({ product: u.product, quantity: u.quantity, scope: u.scope })),
    });
  }
  return reports.map((r) => kept.get(r.source)!);
}

export function staleWarnings(reports: readonly UsageReport[], now: number): Finding[] {
  return reports
    .filter((r) => r.staleAfterMs !== null && now - r.reportedAt > r.staleAfterMs)
    .map((r) => ({
      code: 'STALE_USAGE',
      product: null,
      entitlement: null,
      message: `usage source ${r.source} last reported at ${new Date(r.reportedAt).toISOString()}, longer ago than its staleAfter (${Math.round(r.staleAfterMs! / 1000)} s): its usage may be out of date; check that its reporter runs`,
      resources: [],
    }));
}

export interface Overlap {
  product: string;
  resource: string;
  /** The source whose record counts (observed last). */
  counted: { source: string; quantity: number; observedAt: string };
  /** The other sources that report the same resource, not counted. */
  also: { source: string; quantity: number; observedAt: string }[];
}

/** Resources two or more sources report: which one counts, and what the others say (reconciliation). */
export function overlaps(reports: readonly UsageReport[]): Overlap[] {
  const newest = [...reports].sort((a, b) => Date.parse(b.observedAt) - Date.parse(a.observedAt) || b.reportedAt - a.reportedAt);
  const byResource = new Map<string, Overlap>();
  for (const r of newest) {
    for (const u of r.usage) {
      if (u.resource === undefined) continue;
      const key = `${u.product}\u0000${u.resource}`;
      const entry = { source: r.source, quantity: u.quantity, observedAt: r.observedAt };
      const seen = byResource.get(key);
      if (seen) seen.also.push(entry);
      else byResource.set(key, { product: u.product, resource: u.resource, counted: entry, also: [] });
    }
  }
  return [...byResource.values()]
    .filter((o) => o.also.length > 0)
    .sort((a, b) => a.product.localeCompare(b.product) || a.resource.localeCompare(b.resource));
}

/** Each (product, resource) a report names, with its quantity summed over the report's records for it. */
export function reportedResources(usage: readonly SourceUsageRecord[]): ReportedResource[] {
  const by = new Map<string, ReportedResource>();
  for (const u of usage) {
    if (u.resource === undefined) continue;
    const key = `${u.product}\u0000${u.resource}`;
    const seen = by.get(key);
    if (seen) seen.quantity += u.quantity;
    else by.set(key, { product: u.product, resource: u.resource, quantity: u.quantity });
  }
  return [...by.values()];
}

/**
 * What the reports say each resource is at now, keyed `product\0resource`: from
 * the report observed last that names it (the one effectiveUsage counts). A
 * reservation's target is this plus what its claim adds.
 */
export function reportedQuantities(reports: readonly UsageReport[]): Map<string, number> {
  const newest = [...reports].sort((a, b) => Date.parse(b.observedAt) - Date.parse(a.observedAt) || b.reportedAt - a.reportedAt);
  const out = new Map<string, number>();
  for (const r of newest) {
    for (const p of reportedResources(r.usage)) {
      const key = `${p.product}\u0000${p.resource}`;
      if (!out.has(key)) out.set(key, p.quantity);
    }
  }
  return out;
}
