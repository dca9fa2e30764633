// What a route module (one concern's /v1 routes, registered by server.ts)
// gets from the server: the ledger, the guard that checks the caller's roles
// and times the route, and the body as text.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Identity } from './identity.ts';
import type { Ledger } from './ledger.ts';
import type { Role } from './store/types.ts';

export type GuardedRequest<P> = FastifyRequest<{ Params: P; Querystring: Record<string, string | undefined> }>;

export type Guard = <P>(
  route: string,
  roles: readonly Role[],
  handler: (req: GuardedRequest<P>, actor: string, reply: FastifyReply, who: Identity) => Promise<unknown>,
) => (req: GuardedRequest<P>, reply: FastifyReply) => Promise<unknown>;

export interface RouteDeps {
  ledger: Ledger;
  guarded: Guard;
  text: (req: FastifyRequest) => string;
}
