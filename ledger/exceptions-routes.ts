// /v1/exceptions: the exceptions workflow over HTTP (ExceptionDesk holds its rules).
import type { FastifyInstance } from 'fastify';
import { ExceptionDesk } from './exceptions.ts';
import type { RouteDeps } from './guard.ts';
import { isLimited, sees } from './identity.ts';
import { seenOr404 } from './visible.ts';
import type { Role } from './store/types.ts';

/** Who may request: a pipeline that needs more, an approver, procurement. Reporters feed data and auditors only read. */
export const REQUEST_ROLES: readonly Role[] = ['gate', 'approver', 'procurement'];
export const EXCEPTION_READ_ROLES: readonly Role[] = ['gate', 'viewer', 'finance', 'procurement', 'auditor', 'approver'];

type Id = { id: string };

export function exceptionRoutes(app: FastifyInstance, { ledger, guarded, text }: RouteDeps): void {
  const desk = new ExceptionDesk(ledger);
  app.post(
    '/v1/exceptions',
    guarded('exception-request', REQUEST_ROLES, async (req, _actor, reply, who) =>
      reply.code(201).send(await desk.request(who, text(req))),
    ),
  );
  app.get(
    '/v1/exceptions',
    guarded('exceptions', EXCEPTION_READ_ROLES, async (req, _actor, _reply, who) => {
      const limit = Math.min(Number(req.query.limit ?? 100) || 100, 1000);
      if (!isLimited(who)) return { exceptions: await desk.list(req.query.state, limit) };
      const list = await desk.list(req.query.state, 10_000);
      return { exceptions: list.filter((x) => sees(who, x.product, x.scope)).slice(0, limit) };
    }),
  );
  app.get<{ Params: Id; Querystring: Record<string, string | undefined> }>(
    '/v1/exceptions/:id',
    guarded<Id>('exception', EXCEPTION_READ_ROLES, async (req, _actor, _reply, who) => {
      const x = await desk.get(req.params.id);
      return seenOr404(sees(who, x.product, x.scope), x, `exception ${req.params.id}`);
    }),
  );
  // The server checks separation of duties in each step (ExceptionDesk): the role here only lets the call in.
  app.post<{ Params: Id; Querystring: Record<string, string | undefined> }>(
    '/v1/exceptions/:id/approve',
    guarded<Id>('exception-approve', ['approver'], async (req, _a, _r, who) => desk.approve(who, req.params.id, text(req))),
  );
  app.post<{ Params: Id; Querystring: Record<string, string | undefined> }>(
    '/v1/exceptions/:id/deny',
    guarded<Id>('exception-deny', ['approver'], async (req, _a, _r, who) => desk.deny(who, req.params.id, text(req))),
  );
  app.post<{ Params: Id; Querystring: Record<string, string | undefined> }>(
    '/v1/exceptions/:id/revoke',
    guarded<Id>('exception-revoke', [...REQUEST_ROLES], async (req, _a, _r, who) => desk.revoke(who, req.params.id, text(req))),
  );
}
