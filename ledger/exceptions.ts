// The exceptions workflow (docs/ledger.md): request, approve or deny, revoke.
// The requester is the caller's identity; approvers are other identities with
// the approver role for the product, two of them above
// ledger.exceptions.twoApproversAbove. Each step runs under the product's lock
// (the lock a decision holds), so a decision sees an exception either before
// or after a step, and two approvals on two replicas never both count as first.
import * as z from 'zod/mini';
import { claimScope, nonEmpty } from '../engine/config/schema.ts';
import { EntitlegateError, type Problem } from '../engine/errors.ts';
import { parseSource, problemAt, sortProblems, validate } from '../engine/source.ts';
import { DATE_OR_INSTANT, DAY_MS, endOf, isCalendarDate, startOf } from '../engine/time.ts';
import type { Scope } from '../engine/types.ts';
import { appendLog } from './audit/log.ts';
import { AuthError } from './auth.ts';
import { recordFindings } from './findings.ts';
import { DEFAULT_EXCEPTION_SETTINGS, type ExceptionSettings } from './governance-settings.ts';
import { type Identity, assertWithin, hasRole, withinScope } from './identity.ts';
import type { Ledger } from './ledger.ts';
import { type ExceptionRecord, type ExceptionState, effectiveExceptionState } from './store/types.ts';

const requestBody = z.strictObject({
  product: nonEmpty(),
  quantity: z.number().check(z.positive()),
  until: z
    .string()
    .check(z.regex(DATE_OR_INSTANT, 'expected a date (YYYY-MM-DD) or an ISO-8601 instant'), z.refine(isCalendarDate, 'not a real date')),
  scope: z._default(claimScope, {}),
  // Checked in request(), so a missing one gets the same message as an empty one.
  reason: z._default(z.string(), ''),
  ticket: z._default(z.string(), ''),
});

const REQUIRED = {
  reason: 'a reason is required: why is the extra capacity needed?',
  ticket: 'a ticket reference is required (the change or incident it is for)',
} as const;

const stepBody = z.strictObject({ reason: z.optional(z.string()) });

export interface ExceptionView {
  id: string;
  product: string;
  quantity: number;
  scope: Scope;
  until: string;
  reason: string;
  ticket: string;
  state: ExceptionState;
  requestedBy: string;
  requestedAt: string;
  approvals: { by: string; at: string; reason: string | null }[];
  /** How many approvals it needs to become active. */
  approvalsNeeded: number;
  activeFrom: string | null;
  endedBy: string | null;
  endedAt: string | null;
  endReason: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function invalid(problems: Problem[]): EntitlegateError {
  const sorted = sortProblems(problems);
  return new EntitlegateError(
    'EG_ERR_INPUT_INVALID',
    `the exception request has ${sorted.length} problem${sorted.length === 1 ? '' : 's'}`,
    sorted,
  );
}

function conflict(message: string): EntitlegateError {
  return new EntitlegateError('EG_ERR_LEDGER_CONFLICT', message);
}

export class ExceptionDesk {
  private readonly ledger: Ledger;
  readonly settings: ExceptionSettings;
  /** Owners of each product's entitlements, for `approvers: owners`. */
  private readonly owners = new Map<string, Set<string>>();

  constructor(ledger: Ledger) {
    this.ledger = ledger;
    this.settings = ledger.config.config.ledger?.exceptions ?? DEFAULT_EXCEPTION_SETTINGS;
    for (const e of ledger.config.config.entitlements)
      if (e.owner) this.owners.set(e.product, (this.owners.get(e.product) ?? new Set()).add(e.owner));
  }

  needed(quantity: number): number {
    const above = this.settings.twoApproversAbove;
    return above !== undefined && quantity > above ? 2 : 1;
  }

  view(x: ExceptionRecord): ExceptionView {
    return {
      id: x.id,
      product: x.product,
      quantity: x.quantity,
      scope: x.scope,
      until: x.until,
      reason: x.reason,
      ticket: x.ticket,
      state: effectiveExceptionState(x, this.ledger.clock().getTime()),
      requestedBy: x.requestedBy,
      requestedAt: iso(x.requestedAt)!,
      approvals: x.approvals.map((a) => ({ by: a.actor, at: iso(a.at)!, reason: a.reason })),
      approvalsNeeded: this.needed(x.quantity),
      activeFrom: iso(x.activeFrom),
      endedBy: x.endedBy,
      endedAt: iso(x.endedAt),
      endReason: x.endReason,
    };
  }

  async request(who: Identity, text: string): Promise<ExceptionView> {
    const src = parseSource('request', text, 'EG_ERR_INPUT_INVALID', 'the exception request');
    const { value, problems } = validate(src, requestBody);
    const now = this.ledger.clock().getTime();
    if (value) {
      for (const k of ['reason', 'ticket'] as const)
        if (!value[k].trim()) problems.push(problemAt(src, k in (src.doc.toJS() ?? {}) ? [k] : [], REQUIRED[k]));
      if (!this.ledger.products.has(value.product))
        problems.push(problemAt(src, ['product'], `unknown product "${value.product}"; the ledger's config does not declare it`));
      const until = endOf(value.until);
      const max = this.settings.maxDays;
      if (until <= now) problems.push(problemAt(src, ['until'], `until ${value.until} has passed`));
      // A date counts from its start: 30 days from today's noon reaches the whole 30th day.
      else if (startOf(value.until) > now + max * DAY_MS)
        problems.push(
          problemAt(
            src,
            ['until'],
            `until ${value.until} is more than ${max} days ahead (ledger.exceptions.maxDays); ask for less, and again later`,
          ),
        );
    }
    if (!value || problems.length) throw invalid(problems);
    assertWithin(who, [value], 'the exception');
    return this.ledger.store.withProducts([value.product], async (tx) => {
      const x = await tx.insertException({
        product: value.product,
        quantity: value.quantity,
        scope: value.scope,
        until: value.until,
        untilMs: endOf(value.until),
        reason: value.reason.trim(),
        ticket: value.ticket.trim(),
        requestedBy: who.actor,
        requestedAt: now,
        state: 'pending',
        approvals: [],
        activeFrom: null,
        endedBy: null,
        endedAt: null,
        endReason: null,
      });
      await appendLog(tx, {
        at: now,
        actor: who.actor,
        action: 'exception.request',
        subject: x.id,
        details: { product: x.product, quantity: x.quantity, scope: x.scope, until: x.until, reason: x.reason, ticket: x.ticket },
      });
      await this.ledger.syncUsage(tx);
      return this.view(x);
    });
  }

  /** Refuses (403) an identity that may not approve or deny for the exception's product. */
  private assertApprover(who: Identity, x: ExceptionRecord, verb: string): void {
    if (who.actor === x.requestedBy)
      throw new AuthError(403, `${who.actor} requested ${x.id} and may not ${verb} it: separation of duties needs another approver`);
    if (!hasRole(who, ['approver'])) throw new AuthError(403, `${who.actor} may not ${verb} exceptions; it needs the role approver`);
    if (who.products && !who.products.includes(x.product))
      throw new AuthError(
        403,
        `${who.actor} approves for ${who.products.join(', ')} only, and ${x.id} is for ${x.product}: an approver for ${x.product} must ${verb} it`,
      );
    this.assertScope(who, x, verb);
    if (this.settings.approvers === 'owners' && !this.owners.get(x.product)?.has(who.name))
      throw new AuthError(
        403,
        `only an owner of ${x.product}'s entitlements (${[...(this.owners.get(x.product) ?? [])].join(', ') || 'none named'}) may ${verb} ${x.id} (ledger.exceptions.approvers: owners)`,
      );
  }

  /** Refuses (403) an approver limited to a scope that the exception's scope does not lie within. */
  private assertScope(who: Identity, x: ExceptionRecord, verb: string): void {
    if (!withinScope(who, x.scope))
      throw new AuthError(
        403,
        `${who.actor} approves within the scope ${JSON.stringify(who.scope)} only, and ${x.id} is for the scope ${JSON.stringify(x.scope)}: an approver for that scope must ${verb} it`,
      );
  }

  /** Runs `fn` on the exception under its product's lock; 404 when there is none. */
  private async step(
    who: Identity,
    action: 'approve' | 'deny' | 'revoke',
    id: string,
    fn: (x: ExceptionRecord, now: number) => Promise<ExceptionRecord>,
  ): Promise<ExceptionView> {
    const first = await this.ledger.store.withProducts([], (tx) => tx.getException(id));
    if (!first) throw new EntitlegateError('EG_ERR_LEDGER_NOT_FOUND', `no exception ${id}`);
    return this.ledger.store.withProducts([first.product], async (tx) => {
      const x = await tx.getException(id);
      if (!x) throw new EntitlegateError('EG_ERR_LEDGER_NOT_FOUND', `no exception ${id}`);
      const now = this.ledger.clock().getTime();
      const next = await fn(x, now);
      if (next !== x) {
        await tx.updateException(next);
        await appendLog(tx, {
          at: now,
          actor: who.actor,
          action: `exception.${action}`,
          subject: x.id,
          details: { state: next.state, approvals: next.approvals.length, reason: next.endReason ?? next.approvals.at(-1)?.reason ?? null },
        });
        await this.ledger.syncUsage(tx);
        await recordFindings(this.ledger, tx, now);
      }
      return this.view(next);
    });
  }

  async approve(who: Identity, id: string, text: string): Promise<ExceptionView> {
    const reason = this.stepReason(text);
    return this.step(who, 'approve', id, async (x, now) => {
      this.assertApprover(who, x, 'approve');
      const state = effectiveExceptionState(x, now);
      if (state !== 'pending') throw conflict(`${x.id} is ${state}; only a pending exception can be approved`);
      if (x.untilMs <= now) throw conflict(`${x.id} ran until ${x.until}, which has passed; request a new one`);
      if (x.approvals.some((a) => a.actor === who.actor))
        throw new AuthError(403, `${who.actor} has approved ${x.id} already; its second approval must come from another approver`);
      const approvals = [...x.approvals, { actor: who.actor, at: now, reason }];
      const active = approvals.length >= this.needed(x.quantity);
      return { ...x, approvals, state: active ? 'active' : 'pending', activeFrom: active ? now : null };
    });
  }

  async deny(who: Identity, id: string, text: string): Promise<ExceptionView> {
    const reason = this.stepReason(text);
    return this.step(who, 'deny', id, async (x, now) => {
      this.assertApprover(who, x, 'deny');
      if (x.state !== 'pending') throw conflict(`${x.id} is ${effectiveExceptionState(x, now)}; only a pending exception can be denied`);
      return { ...x, state: 'denied', endedBy: who.actor, endedAt: now, endReason: reason };
    });
  }

  /** Ends a pending or active exception: by its requester (withdrawn) or an approver for its product. */
  async revoke(who: Identity, id: string, text: string): Promise<ExceptionView> {
    const reason = this.stepReason(text);
    return this.step(who, 'revoke', id, async (x, now) => {
      if (who.actor !== x.requestedBy) {
        if (!hasRole(who, ['approver']))
          throw new AuthError(403, `${who.actor} may not revoke ${x.id}: only its requester or an approver for ${x.product} may`);
        if (who.products && !who.products.includes(x.product))
          throw new AuthError(403, `${who.actor} approves for ${who.products.join(', ')} only, and ${x.id} is for ${x.product}`);
        this.assertScope(who, x, 'revoke');
      }
      const state = effectiveExceptionState(x, now);
      if (state !== 'pending' && state !== 'active') throw conflict(`${x.id} is ${state} already; nothing to revoke`);
      return { ...x, state: 'revoked', endedBy: who.actor, endedAt: now, endReason: reason };
    });
  }

  async get(id: string): Promise<ExceptionView> {
    const x = await this.ledger.store.withProducts([], (tx) => tx.getException(id));
    if (!x) throw new EntitlegateError('EG_ERR_LEDGER_NOT_FOUND', `no exception ${id}`);
    return this.view(x);
  }

  /** `pending`, `active` (not past until) or `ended` (denied, revoked, expired); none for all. Newest first. */
  async list(state: string | undefined, limit: number): Promise<ExceptionView[]> {
    if (state !== undefined && !['pending', 'active', 'ended'].includes(state))
      throw new EntitlegateError('EG_ERR_INPUT_INVALID', `state must be pending, active or ended, not "${state}"`);
    const stored: ExceptionState[] =
      state === 'pending' ? ['pending'] : state === 'active' ? ['active'] : state === 'ended' ? ['active', 'denied', 'revoked'] : [];
    // Active ones past their until are ended: read a margin more and filter.
    const rows = await this.ledger.store.listExceptions(stored, state ? limit * 4 + 100 : limit);
    const views = rows.map((x) => this.view(x));
    const keep = (v: ExceptionView) =>
      state === 'active' ? v.state === 'active' : state === 'ended' ? ['denied', 'revoked', 'expired'].includes(v.state) : true;
    return views.filter(keep).slice(0, limit);
  }

  private stepReason(text: string): string | null {
    if (!text.trim()) return null;
    const src = parseSource('request', text, 'EG_ERR_INPUT_INVALID', 'the request');
    const { value, problems } = validate(src, stepBody);
    if (!value || problems.length) throw invalid(problems);
    return value.reason?.trim() || null;
  }
}
