// Usage by source, as the engine sees it: every source's current report, a
// resource reported by several sources counted once, at the largest quantity
// any of them gives it, and sources silent past their staleAfter named in a
// warning. The largest, not the newest: a source (with its own reporter token)
// that reports another source's resource at less, or with a later observedAt,
// must not lower what counts; a resource that really shrank counts less once
// every source that names it says so.
import type { UsageSource } from '../engine/engine.ts';
import type { Finding } from '../engine/types.ts';
import type { ReportedResource, SourceUsageRecord, UsageReport } from './store/types.ts';

/** Newest first: among sources that give a resource the same quantity, the newest is the one named as counted. */
function newestFirst(reports: readonly UsageReport[]): UsageReport[] {
  return [...reports].sort((a, b) => Date.parse(b.observedAt) - Date.parse(a.observedAt) || b.reportedAt - a.reportedAt);
}

/** For each `product\0resource`, the source whose report counts it: the one giving it the largest quantity (its records for it summed). */
function countingSources(reports: readonly UsageReport[]): Map<string, { source: string; quantity: number }> {
  const out = new Map<string, { source: string; quantity: number }>();
  for (const r of newestFirst(reports))
    for (const p of reportedResources(r.usage)) {
      const key = `${p.product}\u0000${p.resource}`;
      const best = out.get(key);
      if (!best || p.quantity > best.quantity) out.set(key, { source: r.source, quantity: p.quantity });
    }
  return out;
}

export function effectiveUsage(reports: readonly UsageReport[], products: ReadonlySet<string>): UsageSource[] {
  const counting = countingSources(reports);
  return reports.map((r) => ({
    source: r.source,
    observedAt: r.observedAt,
    usage: r.usage
      // A report can outlive the product (the config changed since): it no longer counts.
      .filter((u) => products.has(u.product))
      .filter((u) => u.resource === undefined || counting.get(`${u.product}\u0000${u.resource}`)?.source === r.source)
      .map((u) => ({ product: u.product, quantity: u.quantity, scope: u.scope })),
  }));
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
  /** The source whose records count (the largest quantity; the newest of equals). */
  counted: { source: string; quantity: number; observedAt: string };
  /** The other sources that report the same resource, not counted. */
  also: { source: string; quantity: number; observedAt: string }[];
}

/** Resources two or more sources report: which one counts (the largest), and what the others say (reconciliation). */
export function overlaps(reports: readonly UsageReport[]): Overlap[] {
  const counting = countingSources(reports);
  const byResource = new Map<
    string,
    { product: string; resource: string; all: { source: string; quantity: number; observedAt: string }[] }
  >();
  for (const r of newestFirst(reports))
    for (const p of reportedResources(r.usage)) {
      const key = `${p.product}\u0000${p.resource}`;
      const entry = { source: r.source, quantity: p.quantity, observedAt: r.observedAt };
      const seen = byResource.get(key);
      if (seen) seen.all.push(entry);
      else byResource.set(key, { product: p.product, resource: p.resource, all: [entry] });
    }
  return [...byResource.entries()]
    .filter(([, o]) => o.all.length > 1)
    .map(([key, o]) => {
      const counted = o.all.find((e) => e.source === counting.get(key)!.source)!;
      return { product: o.product, resource: o.resource, counted, also: o.all.filter((e) => e !== counted) };
    })
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
 * What the reports say each resource is at now, keyed `product\0resource`: the
 * quantity effectiveUsage counts (the largest any current report gives it). A
 * reservation's target is this plus what its claim adds, and a report settles
 * a line by it, so one source reporting another's resource at less neither
 * lowers what counts nor settles that source's reservation.
 */
export function reportedQuantities(reports: readonly UsageReport[]): Map<string, number> {
  return new Map([...countingSources(reports)].map(([key, c]) => [key, c.quantity]));
}
