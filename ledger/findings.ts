// Time to remediate: the ledger records when a product first went over
// capacity in a scope, by the usage its sources report, and when it came back
// under. Checked after every usage report and exception step (under their
// locks) and by a periodic sweep (capacity also ends with time: an
// entitlement or exception expiring). "In a scope" is the scope of the usage
// that does not fit: the same accounting a decision charges usage by.
import { chargeAll } from '../engine/accounting.ts';
import { usageItems } from '../engine/books.ts';
import { scopeKey } from './store/rows.ts';
import type { Ledger } from './ledger.ts';
import type { OverCapacity, StoreTx } from './store/types.ts';
import type { Scope } from '../engine/types.ts';

/** What does not fit, by product and scope, at `now`. */
export function overCapacity(ledger: Ledger, now: number): { product: string; scope: Scope; over: number }[] {
  const items = usageItems(ledger.effectiveUsage.flatMap((s) => s.usage));
  const out: { product: string; scope: Scope; over: number }[] = [];
  for (const [product, list] of items) {
    const { pools } = ledger.engine.standing(product, new Date(now));
    const results = chargeAll(
      pools,
      pools.map(() => 0),
      list,
    );
    results.forEach((r, i) => {
      if (r.overflow > 1e-9) out.push({ product, scope: list[i]!.scope, over: r.overflow });
    });
  }
  return out;
}

/** Opens findings for what is over now, and closes the open ones that are not. */
export async function recordFindings(ledger: Ledger, tx: StoreTx, now: number): Promise<void> {
  const over = overCapacity(ledger, now);
  const key = (f: { product: string; scope: Scope }) => `${f.product}\u0000${scopeKey(f.scope)}`;
  const seen = new Set(over.map(key));
  for (const f of over) await tx.openFinding({ ...f, at: now });
  for (const open of await tx.openFindings()) if (!seen.has(key(open))) await tx.closeFinding(open.product, open.scope, now);
}

export interface FindingView {
  product: string;
  scope: Scope;
  over: number;
  openedAt: string;
  closedAt: string | null;
  /** Open: how long so far; closed: the time to remediate. */
  seconds: number;
}

export function findingView(f: OverCapacity, now: number): FindingView {
  return {
    product: f.product,
    scope: f.scope,
    over: f.over,
    openedAt: new Date(f.openedAt).toISOString(),
    closedAt: f.closedAt === null ? null : new Date(f.closedAt).toISOString(),
    seconds: Math.round(((f.closedAt ?? now) - f.openedAt) / 1000),
  };
}

/**
 * The sweep: compares what is over now with the open findings without any
 * lock, and only when they differ takes every product's lock (as a usage
 * report does) to record the change, so a report committing meanwhile on
 * another replica cannot be undone by a stale look. Steady state: no lock.
 */
export async function checkFindings(ledger: Ledger): Promise<boolean> {
  await ledger.refresh();
  const key = (f: { product: string; scope: Scope }) => `${f.product}\u0000${scopeKey(f.scope)}`;
  const want = new Set(overCapacity(ledger, ledger.clock().getTime()).map(key));
  const open = new Set((await ledger.store.listFindings(0)).map(key));
  if (want.size === open.size && [...want].every((k) => open.has(k))) return false;
  await ledger.store.withProducts('all', async (tx) => {
    await ledger.syncUsage(tx);
    await recordFindings(ledger, tx, ledger.clock().getTime());
  });
  return true;
}
