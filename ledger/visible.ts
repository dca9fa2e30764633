// What an identity limited to products or a scope reads (docs/ledger.md,
// "Tokens and roles"): each read route filters its answer here, with
// identity.ts's sees(), so that no answer shows another product's or scope's
// items or figures. An item outside the limits is answered as one that does not
// exist (404), so a limited token cannot learn that it does.
import type { LicenceConfig } from '../engine/config/schema.ts';
import { EntitlegateError } from '../engine/errors.ts';
import { type Identity, isLimited, sees, seesPool } from './identity.ts';
import type { ReservationLine, UsageReport } from './store/types.ts';

/** A reservation is seen whole or not at all: every line within the limits (a limited gate's own always are). */
export function seesReservation(who: Identity, r: { lines: readonly ReservationLine[] }): boolean {
  return r.lines.every((l) => sees(who, l.product, l.scope));
}

/** The item, or the same 404 as for one that does not exist. */
export function seenOr404<T>(seen: boolean, item: T, what: string): T {
  if (!seen) throw new EntitlegateError('EG_ERR_LEDGER_NOT_FOUND', `no ${what}`);
  return item;
}

/**
 * The config as a limited identity reads it: every product (a gate recognises
 * resources by every product's matchers, or another product's resource would
 * pass as uncounted instead of being refused), and only the entitlements and
 * config exceptions it sees. The digest stays the whole config's: it names what
 * the ledger decides with.
 */
export function visibleConfig<C extends LicenceConfig>(who: Identity, config: C): C {
  if (!isLimited(who)) return config;
  return {
    ...config,
    entitlements: config.entitlements.filter((e) => seesPool(who, e)),
    exceptions: config.exceptions.filter((x) => seesPool(who, x)),
  };
}

/** Reports with only the records the identity sees; reports left with none are left out. */
export function visibleReports(who: Identity, reports: readonly UsageReport[]): UsageReport[] {
  if (!isLimited(who)) return [...reports];
  return reports.map((r) => ({ ...r, usage: r.usage.filter((u) => sees(who, u.product, u.scope)) })).filter((r) => r.usage.length > 0);
}
