// GET /v1/audit/chain (role auditor): the chain status the audit view shows.
// Registered by server.ts beside the decision log's other routes.
import type { KeyObject } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { EntitlegateError } from '../../engine/errors.ts';
import type { Role, Store } from '../store/types.ts';
import { ChainStatus } from './chain-status.ts';

export interface ChainRoutesOptions {
  store: Store;
  authorise: (header: string | undefined, roles: readonly Role[]) => Promise<unknown>;
  /** The ledger's checkpoint key (what /v1/audit/key publishes); null when it signs none. */
  key: KeyObject | null;
  clock: () => Date;
}

export function chainStatusRoutes(app: FastifyInstance, opts: ChainRoutesOptions): void {
  const chain = new ChainStatus(opts.store, opts.key, opts.clock);
  app.get('/v1/audit/chain', async (req: FastifyRequest<{ Querystring: Record<string, string | undefined> }>) => {
    await opts.authorise(req.headers.authorization, ['auditor']);
    const full = req.query.full;
    if (full !== undefined && full !== 'true' && full !== 'false')
      throw new EntitlegateError('EG_ERR_INPUT_INVALID', `full must be true or false, not "${full}"`);
    return chain.status(full === 'true');
  });
}
