// Recent denials for the platform view: the decision log's denied decisions,
// newest first, each with what was refused where (product, scope, resources),
// the numbers behind it, and who asked from which surface. Read through the
// store's index of denials (migration 55), never the whole log.
import { EntitlegateError } from '../../engine/errors.ts';
import { DATE_OR_INSTANT, startOf } from '../../engine/time.ts';
import type { Finding, ProductOutcome, Scope } from '../../engine/types.ts';
import type { StoredLogRecord } from '../audit/chain.ts';
import type { DeniedClaims } from '../audit/entries.ts';
import { type Identity, withinScope } from '../identity.ts';
import type { Store } from '../store/types.ts';

export interface DenialsQuery {
  product?: string;
  /** Epoch ms: denials at or after it. */
  since?: number;
  limit: number;
}

export const DENIALS_LIMIT = { default: 50, max: 500 };

export interface DeniedProduct {
  product: string;
  /** The claims' scope; null for a record written before the log kept it. */
  scope: Scope | null;
  /** What the refused change asked for in this scope (null: unknown quantity, or not recorded). */
  quantity: number | null;
  resources: string[];
  moreResources: number;
  /** The product's figures in the decision: capacity, usage before, asked for, and the total it would have made. */
  capacity: number | null;
  used: number | null;
  requested: number | null;
  projected: number | null;
}

export interface Denial {
  seq: number;
  at: string;
  actor: string;
  /** The surface that asked (`cli`, `action`, `webhook`, `terraform`…) from the client's User-Agent; null when it did not say. */
  surface: string | null;
  client: string | null;
  mode: string;
  products: DeniedProduct[];
  violations: { code: string; product: string | null; message: string }[];
}

function bad(message: string): EntitlegateError {
  return new EntitlegateError('EG_ERR_INPUT_INVALID', message);
}

/** `?product=&since=&limit=` */
export function parseDenialsQuery(q: Record<string, string | undefined>, products: ReadonlySet<string>): DenialsQuery {
  const out: DenialsQuery = { limit: DENIALS_LIMIT.default };
  if (q.product !== undefined) {
    if (!products.has(q.product)) throw bad(`no product "${q.product}" in the ledger's config`);
    out.product = q.product;
  }
  if (q.since !== undefined) {
    if (!DATE_OR_INSTANT.test(q.since) || Number.isNaN(startOf(q.since)))
      throw bad(`since must be a date or an ISO-8601 instant, not "${q.since}"`);
    out.since = startOf(q.since);
  }
  if (q.limit !== undefined) {
    const n = Number(q.limit);
    if (!/^\d+$/.test(q.limit) || n < 1 || n > DENIALS_LIMIT.max)
      throw bad(`limit must be a whole number from 1 to ${DENIALS_LIMIT.max}, not "${q.limit}"`);
    out.limit = n;
  }
  return out;
}

const AGENT = /^entitlegate\/\S+ \(([\w-]+)\)$/;

interface DecisionDetails {
  mode?: string;
  client?: string;
  products?: ProductOutcome[];
  violations?: Finding[];
  denied?: DeniedClaims[];
}

/** The denial as the caller may see it: only products and scopes within its limits (null when nothing is left). */
function denialOf(r: StoredLogRecord, who: Identity, product: string | undefined): Denial | null {
  const d = JSON.parse(r.detailsJson) as DecisionDetails;
  const outcome = new Map((d.products ?? []).map((p) => [p.product, p]));
  const violations = d.violations ?? [];
  // Records written before the log kept the denied claims: the violated products, their scope unknown.
  const groups: (Omit<DeniedClaims, 'scope'> & { scope: Scope | null })[] =
    d.denied ??
    [...new Set(violations.map((v) => v.product).filter((p) => p !== null))].map((p) => ({
      product: p,
      scope: null,
      quantity: outcome.get(p)?.requested ?? null,
      resources: [...new Set(violations.filter((v) => v.product === p).flatMap((v) => v.resources))],
      moreResources: 0,
    }));
  const visible = groups.filter(
    (g) =>
      (product === undefined || g.product === product) &&
      (!who.products || who.products.includes(g.product)) &&
      // A scope the record does not know cannot be shown to a token limited to a scope.
      (!who.scope || (g.scope !== null && withinScope(who, g.scope))),
  );
  if (visible.length === 0) return null;
  const shown = new Set(visible.map((g) => g.product));
  const client = d.client ?? null;
  return {
    seq: r.seq,
    at: r.at,
    actor: r.actor,
    surface: client === null ? null : (AGENT.exec(client)?.[1] ?? null),
    client,
    mode: d.mode ?? 'enforce',
    products: visible.map((g) => {
      const o = outcome.get(g.product);
      return {
        product: g.product,
        scope: g.scope,
        quantity: g.quantity,
        resources: g.resources,
        moreResources: g.moreResources,
        capacity: o?.capacity ?? null,
        used: o?.used ?? null,
        requested: o?.requested ?? null,
        projected: o?.projected ?? null,
      };
    }),
    violations: violations
      .filter((v) => v.product === null || shown.has(v.product))
      .map((v) => ({ code: v.code, product: v.product, message: v.message })),
  };
}

/**
 * The newest denials the caller may see, page by page down the index of
 * denials until `limit` are found, the log's denials run out, or they are
 * older than `since`: the cost follows the denials read, not the log's length.
 */
export async function recentDenials(store: Store, who: Identity, q: DenialsQuery): Promise<{ denials: Denial[]; scanned: number }> {
  const floor = q.since === undefined ? 0 : await store.logSeqAt(q.since);
  const page = Math.max(50, q.limit * 2);
  const denials: Denial[] = [];
  let before: number | null = null;
  let scanned = 0;
  for (;;) {
    const rows = await store.logDenials(before, page, q.product);
    for (const r of rows) {
      if (r.seq < floor) return { denials, scanned };
      scanned++;
      const d = denialOf(r, who, q.product);
      if (d) denials.push(d);
      if (denials.length >= q.limit) return { denials, scanned };
    }
    if (rows.length < page) return { denials, scanned };
    before = rows.at(-1)!.seq;
  }
}
