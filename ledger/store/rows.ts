// Row shapes shared by both stores' SQL, and their conversion to the contract's types.
import { SCOPE_DIMENSIONS, type Scope } from '../../engine/types.ts';
import {
  type ExceptionRecord,
  type ExceptionState,
  type OverCapacity,
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
  target?: number | null;
}

export interface ReservationRow {
  id: string;
  state: string;
  created_at: number | string;
  expires_at: number | string | null;
  actor: string;
  reservation_key: string | null;
}

export const RESERVATION_COLUMNS = 'id, state, created_at, expires_at, actor, reservation_key';

/**
 * SQL true when a report of `reported` for the line's resource settles it: the
 * line has no target, or the report no longer shows the quantity from before
 * the change (target − quantity) — it reached the target, or moved on (scaled
 * down after, changed again): from then on the report counts what runs.
 */
export function settlesSql(reported: string, line = ''): string {
  return `(${line}target IS NULL OR abs(${reported} - (${line}target - ${line}quantity)) > 1e-9)`;
}

export interface TokenRow {
  id: string;
  name: string;
  roles: string;
  created_at: number | string;
  products: string | null;
  scope: string | null;
  sources: string | null;
  revoked_at: number | string | null;
}

export const TOKEN_COLUMNS = 'id, name, roles, created_at, products, scope, sources, revoked_at';

export interface ExceptionRow {
  id: number | string;
  product: string;
  quantity: number;
  scope: string;
  until: string;
  until_ms: number | string;
  reason: string;
  ticket: string;
  requested_by: string;
  requested_at: number | string;
  state: string;
  approvals: string;
  active_from: number | string | null;
  ended_by: string | null;
  ended_at: number | string | null;
  end_reason: string | null;
}

export const EXCEPTION_COLUMNS =
  'id, product, quantity, scope, until, until_ms, reason, ticket, requested_by, requested_at, state, approvals, active_from, ended_by, ended_at, end_reason';

const orNull = (v: number | string | null): number | null => (v === null ? null : Number(v));

export function exceptionFrom(row: ExceptionRow): ExceptionRecord {
  return {
    id: `exc-${row.id}`,
    product: row.product,
    quantity: Number(row.quantity),
    scope: JSON.parse(row.scope) as Scope,
    until: row.until,
    untilMs: Number(row.until_ms),
    reason: row.reason,
    ticket: row.ticket,
    requestedBy: row.requested_by,
    requestedAt: Number(row.requested_at),
    state: row.state as ExceptionState,
    approvals: JSON.parse(row.approvals),
    activeFrom: orNull(row.active_from),
    endedBy: row.ended_by,
    endedAt: orNull(row.ended_at),
    endReason: row.end_reason,
  };
}

/** The store's row id of `exc-N`, or null for anything else. */
export function exceptionRowId(id: string): number | null {
  const m = /^exc-([1-9]\d{0,15})$/.exec(id);
  return m ? Number(m[1]) : null;
}

/** The values of an exception's columns after id, in EXCEPTION_COLUMNS order. */
export function exceptionValues(x: Omit<ExceptionRecord, 'id'>): (string | number | null)[] {
  return [
    x.product,
    x.quantity,
    scopeKey(x.scope),
    x.until,
    x.untilMs,
    x.reason,
    x.ticket,
    x.requestedBy,
    x.requestedAt,
    x.state,
    JSON.stringify(x.approvals),
    x.activeFrom,
    x.endedBy,
    x.endedAt,
    x.endReason,
  ];
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
  const line: ReservationLine = {
    product: row.product,
    quantity: Number(row.quantity),
    scope: JSON.parse(row.scope) as Scope,
    resource: row.resource,
  };
  if (row.target !== undefined && row.target !== null) line.target = Number(row.target);
  return line;
}

export function reservationFrom(row: ReservationRow, lines: ReservationLine[], now: number): Reservation {
  const expiresAt = row.expires_at === null ? null : num(row.expires_at);
  const r: Reservation = {
    id: row.id,
    state: effectiveState(row.state as ReservationState, expiresAt, now),
    createdAt: num(row.created_at),
    expiresAt,
    actor: row.actor,
    lines,
  };
  if (row.reservation_key !== null && row.reservation_key !== undefined) r.key = row.reservation_key;
  return r;
}

/** What the decision log keeps of a new token: its id, roles and limits (never its hash). */
export function tokenLogDetails(t: TokenRecord): Record<string, unknown> {
  return {
    id: t.id,
    roles: t.roles,
    ...(t.products ? { products: t.products } : {}),
    ...(t.scope ? { scope: t.scope } : {}),
    ...(t.sources ? { sources: t.sources } : {}),
  };
}

export function tokenFrom(row: TokenRow): TokenRecord {
  const t: TokenRecord = { id: row.id, name: row.name, roles: JSON.parse(row.roles) as Role[], createdAt: num(row.created_at) };
  if (row.products !== null) t.products = JSON.parse(row.products);
  if (row.scope !== null) t.scope = JSON.parse(row.scope);
  if (row.sources !== null) t.sources = JSON.parse(row.sources);
  if (row.revoked_at !== null) t.revokedAt = num(row.revoked_at);
  return t;
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
export function stateFilter(
  states: readonly ReservationState[],
  now: number,
  ph: () => string,
  key?: string,
): { where: string; params: (number | string)[] } {
  const params: (number | string)[] = [];
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
  const where: string[] = parts.length ? [`(${parts.join(' OR ')})`] : [];
  if (key !== undefined) {
    params.push(key);
    where.push(`reservation_key = ${ph()}`);
  }
  return { where: where.length ? `WHERE ${where.join(' AND ')}` : '', params };
}

/** One spelling per scope (dimensions in a fixed order), so equal scopes share one eg_held row. */
export function scopeKey(scope: Scope): string {
  const out: Scope = {};
  for (const d of SCOPE_DIMENSIONS) if (scope[d] !== undefined) out[d] = scope[d];
  return JSON.stringify(out);
}

export interface FindingRow {
  product: string;
  scope: string;
  over: number;
  opened_at: number | string;
  closed_at: number | string | null;
}

export const FINDING_COLUMNS = 'product, scope, over, opened_at, closed_at';

export function findingFrom(row: FindingRow): OverCapacity {
  return {
    product: row.product,
    scope: JSON.parse(row.scope) as Scope,
    over: Number(row.over),
    openedAt: num(row.opened_at),
    closedAt: row.closed_at === null ? null : num(row.closed_at),
  };
}
