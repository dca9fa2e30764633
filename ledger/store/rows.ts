// Row shapes shared by both stores' SQL, and their conversion to the contract's types.
import { SCOPE_DIMENSIONS, type Scope } from '../../engine/types.ts';
import {
  effectiveState,
  type Reservation,
  type ReservationLine,
  type ReservationState,
  type Role,
  type TokenRecord,
  type UsageReport,
} from './types.ts';

export interface ReportRow {
  source: string;
  observed_at: string;
  reported_at: number | string;
  origin: string | null;
  stale_after_ms: number | string | null;
  records: string;
}

export interface LineRow {
  product: string;
  quantity: number;
  scope: string;
  resource: string | null;
}

export interface ReservationRow {
  id: string;
  state: string;
  created_at: number | string;
  expires_at: number | string | null;
  actor: string;
}

export interface TokenRow {
  id: string;
  name: string;
  roles: string;
  created_at: number | string;
}

// PostgreSQL's BIGINT arrives as a string (pg keeps 64-bit exact); our values are epoch ms.
const num = (v: number | string): number => (typeof v === 'number' ? v : Number(v));

export function reportFrom(row: ReportRow): UsageReport {
  const r: UsageReport = {
    source: row.source,
    observedAt: row.observed_at,
    reportedAt: num(row.reported_at),
    staleAfterMs: row.stale_after_ms === null ? null : num(row.stale_after_ms),
    usage: JSON.parse(row.records),
  };
  if (row.origin !== null) r.origin = row.origin;
  return r;
}

export function lineFrom(row: LineRow): ReservationLine {
  return { product: row.product, quantity: Number(row.quantity), scope: JSON.parse(row.scope) as Scope, resource: row.resource };
}

export function reservationFrom(row: ReservationRow, lines: ReservationLine[], now: number): Reservation {
  const expiresAt = row.expires_at === null ? null : num(row.expires_at);
  return {
    id: row.id,
    state: effectiveState(row.state as ReservationState, expiresAt, now),
    createdAt: num(row.created_at),
    expiresAt,
    actor: row.actor,
    lines,
  };
}

export function tokenFrom(row: TokenRow): TokenRecord {
  return { id: row.id, name: row.name, roles: JSON.parse(row.roles) as Role[], createdAt: num(row.created_at) };
}

/** The state a line's reservation moves to, and whether its lines keep counting. */
export function linesCount(state: ReservationState): boolean {
  return state === 'held' || state === 'confirmed';
}

/**
 * WHERE clause for reservations in these states as a reader sees them (a held
 * one past its expiry is expired before the sweep marks it). `ph` makes the
 * dialect's next placeholder.
 */
export function stateFilter(states: readonly ReservationState[], now: number, ph: () => string): { where: string; params: number[] } {
  if (states.length === 0) return { where: '', params: [] };
  const params: number[] = [];
  const parts = states.map((s) => {
    if (s === 'held') {
      params.push(now);
      return `(state = 'held' AND expires_at > ${ph()})`;
    }
    if (s === 'expired') {
      params.push(now);
      return `(state = 'expired' OR (state = 'held' AND expires_at <= ${ph()}))`;
    }
    return `state = '${s}'`;
  });
  return { where: `WHERE ${parts.join(' OR ')}`, params };
}

/** One spelling per scope (dimensions in a fixed order), so equal scopes share one eg_held row. */
export function scopeKey(scope: Scope): string {
  const out: Scope = {};
  for (const d of SCOPE_DIMENSIONS) if (scope[d] !== undefined) out[d] = scope[d];
  return JSON.stringify(out);
}
