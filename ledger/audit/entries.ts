// What the ledger writes to the decision log for each of its steps. A decision
// keeps what an auditor asks about (the answer, the numbers behind it, where
// they came from, which entitlegate decided, which client asked), and its
// claims only as a count and a digest: a 10,000-resource plan stays one line.
// A denial also keeps what was refused where (product, scope, quantity and the
// first resources of each), for the platform view's recent denials.
import { createHash } from 'node:crypto';
import { usageKey } from '../../engine/scope.ts';
import { type Claim, type Decision, resourceId, type Scope } from '../../engine/types.ts';
import { VERSION } from '../../engine/version.ts';
import type { DecisionRequest } from '../requests.ts';
import type { Reservation } from '../store/types.ts';
import { canonicalJson } from './canonical.ts';
import type { LogEntry } from './chain.ts';

export function decisionEntry(
  req: DecisionRequest,
  decision: Decision,
  reservation: Reservation | undefined,
  actor: string,
  at: number,
  client: string | undefined,
): LogEntry {
  const products = [...new Set(req.claims.map((c) => c.product))].sort();
  const claims = JSON.parse(JSON.stringify(req.claims)) as unknown;
  return {
    at,
    actor,
    action: 'decision',
    subject: reservation ? reservation.id : products.join(','),
    details: {
      allowed: decision.allowed,
      mode: decision.mode,
      reserve: req.reserve,
      ...(reservation
        ? { reservation: { id: reservation.id, expiresAt: new Date(reservation.expiresAt!).toISOString(), lines: reservation.lines } }
        : {}),
      violations: decision.violations,
      warnings: decision.warnings,
      products: decision.products,
      ...(decision.allowed ? {} : { denied: deniedClaims(req.claims, decision) }),
      claims: { count: req.claims.length, digest: `sha256:${createHash('sha256').update(canonicalJson(claims)).digest('hex')}` },
      provenance: decision.provenance,
      version: VERSION,
      ...(client ? { client: client.slice(0, 200) } : {}),
    },
  };
}

/** Resources named per product and scope in a denial; the rest only counted. */
export const DENIED_RESOURCES = 20;
/** Products and scopes listed in a denial: a plan over thousands of namespaces stays one short line. */
export const DENIED_GROUPS = 50;

export interface DeniedClaims {
  product: string;
  scope: Scope;
  /** What the claims asked for in this scope (null: some quantity was unknown). */
  quantity: number | null;
  resources: string[];
  /** Resources beyond the first DENIED_RESOURCES. */
  moreResources: number;
}

/** The claims of the products a denial names, summed per product and scope (the first DENIED_GROUPS of them). */
function deniedClaims(claims: readonly Claim[], decision: Decision): DeniedClaims[] {
  const named = new Set(decision.violations.map((v) => v.product).filter((p) => p !== null));
  const groups = new Map<string, DeniedClaims>();
  for (const c of claims) {
    if (named.size > 0 && !named.has(c.product)) continue;
    const k = usageKey(c.product, c.scope);
    let g = groups.get(k);
    if (!g) {
      if (groups.size >= DENIED_GROUPS) continue;
      groups.set(k, (g = { product: c.product, scope: c.scope, quantity: 0, resources: [], moreResources: 0 }));
    }
    g.quantity = g.quantity === null || c.quantity === null ? null : g.quantity + c.quantity;
    if (c.resource === undefined) continue;
    if (g.resources.length < DENIED_RESOURCES) g.resources.push(resourceId(c.resource));
    else g.moreResources++;
  }
  return [...groups.values()];
}

export function reservationEntry(action: 'confirm' | 'release', id: string, from: string, actor: string, at: number): LogEntry {
  return { at, actor, action: `reservation.${action}`, subject: id, details: { from } };
}
