// What the ledger writes to the decision log for each of its steps. A decision
// keeps what an auditor asks about (the answer, the numbers behind it, where
// they came from, which entitlegate decided, which client asked), and its
// claims only as a count and a digest: a 10,000-resource plan stays one line.
import { createHash } from 'node:crypto';
import type { Decision } from '../../engine/types.ts';
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
      claims: { count: req.claims.length, digest: `sha256:${createHash('sha256').update(canonicalJson(claims)).digest('hex')}` },
      provenance: decision.provenance,
      version: VERSION,
      ...(client ? { client: client.slice(0, 200) } : {}),
    },
  };
}

export function reservationEntry(action: 'confirm' | 'release', id: string, from: string, actor: string, at: number): LogEntry {
  return { at, actor, action: `reservation.${action}`, subject: id, details: { from } };
}
