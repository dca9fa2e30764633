// Who is calling: a bearer token from the store, or a GitHub Actions OIDC
// token mapped to roles by the config's rules (oidc.ts). Both end as one
// Identity: its actor names it in every write and in separation of duties.
import type { Scope } from '../engine/types.ts';
import { AuthError, Tokens } from './auth.ts';
import { matchesAny } from './glob.ts';
import type { OidcVerifier } from './oidc.ts';
import type { Actor, Role, Store } from './store/types.ts';

export interface Identity {
  /** `token:NAME` or `oidc:SUBJECT`: two tokens with one name are one identity. */
  actor: Actor;
  /** The token's name or the OIDC subject, as a person reads it (and as a product owner is named in the config). */
  name: string;
  roles: Role[];
  /** Limited to these products, when set. */
  products?: string[];
  /** Limited to this scope, when set. */
  scope?: Scope;
  /** Limited to reporting usage as these sources (names or globs), when set. */
  sources?: string[];
}

export function hasRole(who: Identity, roles: readonly Role[]): boolean {
  return who.roles.includes('admin') || roles.some((r) => who.roles.includes(r));
}

function describe(who: Identity): string {
  return `${who.actor} (roles: ${who.roles.join(', ')})`;
}

/** Whether `scope` lies within the identity's scope limit: each limited dimension must be named, with the limit's value. */
export function withinScope(who: Identity, scope: Scope): boolean {
  if (!who.scope) return true;
  return Object.entries(who.scope).every(([d, v]) => scope[d as keyof Scope] === v);
}

/** Refuses (403) anything outside the identity's product and scope limits; `what` names the items for the message. */
export function assertWithin(who: Identity, items: readonly { product: string; scope: Scope }[], what: string): void {
  for (const it of items) {
    if (who.products && !who.products.includes(it.product))
      throw new AuthError(403, `${who.actor} is limited to the products ${who.products.join(', ')}; ${what} names "${it.product}"`);
    if (!withinScope(who, it.scope))
      throw new AuthError(
        403,
        `${who.actor} is limited to the scope ${JSON.stringify(who.scope)}; ${what} has the scope ${JSON.stringify(it.scope)}`,
      );
  }
}

/** Refuses (403) a usage report as `source` when the identity is limited to other sources. */
export function assertSource(who: Identity, source: string): void {
  if (who.sources && !matchesAny(who.sources, source))
    throw new AuthError(403, `${who.actor} reports only as ${who.sources.join(', ')}, not as the source "${source}"`);
}

/**
 * Refuses (403) replacing a source's report that holds records outside the
 * identity's product or scope limits: a report replaces the whole source, so
 * a reporter limited to one product could otherwise erase another's usage.
 */
export function assertMayReplace(who: Identity, source: string, previous: readonly { product: string; scope: Scope }[]): void {
  const foreign = previous.find((r) => (who.products && !who.products.includes(r.product)) || !withinScope(who, r.scope));
  if (foreign)
    throw new AuthError(
      403,
      `${who.actor} may not replace the source "${source}": its current report holds ${foreign.product} in ${JSON.stringify(foreign.scope)}, outside this identity's limits (report it under a source of its own)`,
    );
}

/** Whether the identity is limited to products or a scope: what it reads is then filtered by sees(). */
export function isLimited(who: Identity): boolean {
  return who.products !== undefined || who.scope !== undefined;
}

/**
 * Whether the identity may read an item of `product` in `scope` (the reads'
 * counterpart of assertWithin): within its product limit and, with a scope
 * limit, within that scope. Without `scope` the item is the product as a whole
 * (a total over every scope, an entitlement for any environment): an identity
 * limited to a scope does not see those, since they carry other scopes' figures.
 */
export function sees(who: Identity, product: string, scope?: Scope): boolean {
  if (who.products && !who.products.includes(product)) return false;
  if (!who.scope) return true;
  return scope !== undefined && withinScope(who, scope);
}

/**
 * sees() for an entitlement or a config exception, whose scope lists the values it
 * allows: within a scope limit only where it allows exactly the limit's value.
 */
export function seesPool(
  who: Identity,
  pool: { product: string; scope?: Partial<Record<string, string | string[]>> | undefined },
): boolean {
  if (!who.scope) return sees(who, pool.product, {});
  const single: Scope = {};
  for (const [d, v] of Object.entries(pool.scope ?? {})) {
    const one = typeof v === 'string' ? v : v?.length === 1 ? v[0] : undefined;
    if (one !== undefined) single[d as keyof Scope] = one;
  }
  return sees(who, pool.product, single);
}

export class Authenticator {
  private readonly tokens: Tokens;
  private readonly oidc: OidcVerifier | undefined;

  constructor(store: Store, oidc?: OidcVerifier) {
    this.tokens = new Tokens(store);
    this.oidc = oidc;
  }

  /** Forgets cached token checks (after a revocation through this ledger). */
  forget(): void {
    this.tokens.forget();
  }

  /** The caller's identity if the header carries a good credential with one of `roles` (admin grants every role). */
  async authorise(header: string | undefined, roles: readonly Role[]): Promise<Identity> {
    const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m)
      throw new AuthError(
        401,
        'the ledger needs a bearer token (Authorization: Bearer …); pass one with $ENTITLEGATE_TOKEN or --token-file, or a GitHub Actions OIDC token',
      );
    const credential = m[1]!;
    let who: Identity;
    if (/^eyJ[\w-]*\.[\w-]+\.[\w-]+$/.test(credential)) {
      if (!this.oidc)
        throw new AuthError(401, 'this looks like an OIDC token, but the ledger accepts none: configure ledger.oidc in its config');
      who = await this.oidc.identify(credential);
    } else {
      const t = await this.tokens.find(credential);
      who = { actor: `token:${t.name}`, name: t.name, roles: t.roles };
      if (t.products) who.products = t.products;
      if (t.scope) who.scope = t.scope;
      if (t.sources) who.sources = t.sources;
    }
    if (!hasRole(who, roles)) throw new AuthError(403, `${describe(who)} may not do this; it needs the role ${roles.join(' or ')}`);
    return who;
  }
}
