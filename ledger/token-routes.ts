// /v1/tokens: an admin lists, creates and revokes tokens through the API (the
// CLI does the same on the store). A token is shown once, when created; the
// store keeps its hash, and nothing logs it.
import type { FastifyInstance } from 'fastify';
import * as z from 'zod/mini';
import { claimScope, id, nonEmpty } from '../engine/config/schema.ts';
import { EntitlegateError } from '../engine/errors.ts';
import { parseSource, sortProblems, validate } from '../engine/source.ts';
import { createToken } from './auth.ts';
import { sourcePattern } from './governance-settings.ts';
import type { RouteDeps } from './guard.ts';
import { ROLES, type Role, type TokenRecord } from './store/types.ts';

/** Every role may read the config and the API's own description. */
export const READ_ROLES: readonly Role[] = ROLES;

const createBody = z.strictObject({
  name: nonEmpty(),
  roles: z.array(z.enum(ROLES)).check(z.minLength(1)),
  products: z.optional(z.array(id)),
  scope: z.optional(claimScope),
  sources: z.optional(z.array(sourcePattern).check(z.minLength(1))),
});

export function tokenView(t: TokenRecord) {
  return {
    id: t.id,
    name: t.name,
    roles: t.roles,
    products: t.products ?? null,
    scope: t.scope ?? null,
    sources: t.sources ?? null,
    createdAt: new Date(t.createdAt).toISOString(),
    revokedAt: t.revokedAt === undefined ? null : new Date(t.revokedAt).toISOString(),
  };
}

export function tokenRoutes(app: FastifyInstance, { ledger, guarded, text, forget }: RouteDeps & { forget: () => void }): void {
  app.get(
    '/v1/tokens',
    guarded('tokens', ['admin'], async () => ({ tokens: (await ledger.store.listTokens()).map(tokenView) })),
  );
  app.post(
    '/v1/tokens',
    guarded('token-create', ['admin'], async (req, actor, reply) => {
      const src = parseSource('request', text(req), 'EG_ERR_INPUT_INVALID', 'the token request');
      const { value, problems } = validate(src, createBody);
      const unknown = value?.products?.find((p) => !ledger.products.has(p));
      if (unknown) problems.push({ file: 'request', message: `unknown product "${unknown}"; the ledger's config does not declare it` });
      if (!value || problems.length)
        throw new EntitlegateError('EG_ERR_INPUT_INVALID', 'the token request is invalid', sortProblems(problems));
      const { token, record } = await createToken(ledger.store, value.name, value.roles, ledger.clock(), actor, {
        ...(value.products ? { products: value.products } : {}),
        ...(value.scope ? { scope: value.scope } : {}),
        ...(value.sources ? { sources: value.sources } : {}),
      });
      return reply.code(201).send({ ...tokenView(record), token });
    }),
  );
  app.delete<{ Params: { id: string }; Querystring: Record<string, string | undefined> }>(
    '/v1/tokens/:id',
    guarded<{ id: string }>('token-revoke', ['admin'], async (req, actor) => {
      const revoked = await ledger.store.revokeToken(req.params.id, ledger.clock().getTime(), actor);
      const t = (await ledger.store.listTokens()).find((x) => x.id === req.params.id);
      if (!t) throw new EntitlegateError('EG_ERR_LEDGER_NOT_FOUND', `no token ${req.params.id}`);
      // The store logs the revocation (token.revoke) in its own transaction.
      if (revoked) forget();
      return tokenView(t);
    }),
  );
}
