// The decision log as an auditor limited to products or a scope reads it
// (docs/ledger.md, "The decision log"): the records that name only what it sees.
// The log is one hash chain over every record, so a filtered page cannot be
// verified; verify and export need an auditor without limits.
import type { Scope } from '../../engine/types.ts';
import { type Identity, sees } from '../identity.ts';
import type { Store } from '../store/types.ts';
import type { LogRecord } from './chain.ts';

interface Named {
  product: string;
  scope?: Scope;
}

/** Every object in the details with a `product` (and its `scope`, where it has one). */
function walk(value: unknown, out: Named[]): void {
  if (Array.isArray(value)) for (const v of value) walk(v, out);
  else if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.product === 'string')
      out.push(o.scope && typeof o.scope === 'object' ? { product: o.product, scope: o.scope as Scope } : { product: o.product });
    for (const v of Object.values(o)) walk(v, out);
  }
}

/**
 * Reads the products and scopes the records name, from their details and, for
 * the steps whose details do not say (an exception approved, a reservation
 * confirmed), from the exception or reservation their subject names.
 */
export class RecordFilter {
  private readonly subjects = new Map<string, Named[]>();
  private readonly store: Store;
  private readonly who: Identity;
  private readonly now: number;

  constructor(store: Store, who: Identity, now: number) {
    this.store = store;
    this.who = who;
    this.now = now;
  }

  private async subject(r: LogRecord): Promise<Named[]> {
    const exception = r.action.startsWith('exception.');
    const reservation = r.action.startsWith('reservation.');
    if (!exception && !reservation) return [];
    const key = `${r.action.split('.')[0]}:${r.subject}`;
    let named = this.subjects.get(key);
    if (!named) {
      named = await this.store.withProducts([], async (tx) => {
        if (exception) {
          const x = await tx.getException(r.subject);
          return x ? [{ product: x.product, scope: x.scope }] : [];
        }
        return (await tx.getReservation(r.subject, this.now))?.lines.map((l) => ({ product: l.product, scope: l.scope })) ?? [];
      });
      this.subjects.set(key, named);
    }
    return named;
  }

  /**
   * Whether the record names something and everything it names is seen. A product
   * named without a scope (a decision's figures) takes the scope the record gives
   * the same product elsewhere (its reservation's lines); with none, it is the
   * product as a whole, which an auditor limited to a scope does not see.
   */
  async sees(r: LogRecord): Promise<boolean> {
    const named: Named[] = [];
    walk(r.details, named);
    named.push(...(await this.subject(r)));
    if (named.length === 0) return false;
    const scoped = new Set(named.filter((n) => n.scope).map((n) => n.product));
    return named.every((n) => (n.scope ? sees(this.who, n.product, n.scope) : scoped.has(n.product) || sees(this.who, n.product)));
  }
}
