// The OpenAPI paths of the governance routes (exceptions, tokens, findings),
// spread into the document in openapi.ts.
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const err = (description: string) => ({ description, ...json({ $ref: '#/components/schemas/Error' }) });
const errors = {
  '400': err('a bad body'),
  '401': err('no credential, or an unknown, revoked or invalid one'),
  '403': err('the caller lacks the role, or separation of duties refuses the step'),
  '503': err('the store did not answer'),
};
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const exception = json({ $ref: '#/components/schemas/Exception' });
const step = (what: string, roles: string) => ({
  post: {
    summary: `${what} (${roles})`,
    parameters: [idParam],
    requestBody: json({ type: 'object', properties: { reason: { type: 'string' } } }),
    responses: {
      '200': { description: 'the exception', ...exception },
      '404': err('no such exception'),
      '409': err('not in a state for this step'),
      ...errors,
    },
  },
});

export const governancePaths = {
  '/v1/exceptions': {
    post: {
      summary: 'Request an exception; the requester is the caller (roles: gate, approver, procurement)',
      requestBody: json({
        type: 'object',
        required: ['product', 'quantity', 'until', 'reason', 'ticket'],
        properties: {
          product: { type: 'string' },
          quantity: { type: 'number', exclusiveMinimum: 0 },
          until: { type: 'string', description: 'a date (the whole UTC day) or an instant; at most ledger.exceptions.maxDays ahead' },
          scope: { type: 'object' },
          reason: { type: 'string' },
          ticket: { type: 'string' },
        },
      }),
      responses: { '201': { description: 'the pending exception, with its id', ...exception }, ...errors },
    },
    get: {
      summary: 'Exceptions, newest first (roles: gate, viewer, finance, procurement, auditor, approver)',
      description: 'A token limited to products or a scope gets the exceptions within its limits only.',
      parameters: [
        { name: 'state', in: 'query', schema: { enum: ['pending', 'active', 'ended'] } },
        { name: 'limit', in: 'query', schema: { type: 'integer', maximum: 1000 } },
      ],
      responses: { '200': { description: 'exceptions', ...json({ type: 'object' }) }, ...errors },
    },
  },
  '/v1/exceptions/{id}': {
    get: {
      summary: 'One exception (roles as the list)',
      description: 'One outside the token’s product or scope limits is answered 404, as one that does not exist.',
      parameters: [idParam],
      responses: { '200': { description: 'the exception', ...exception }, '404': err('no such exception'), ...errors },
    },
  },
  '/v1/exceptions/{id}/approve': step(
    'Approve: another identity than the requester, an approver for the product (and, if it is limited to a scope, the exception within it); two above twoApproversAbove',
    'role: approver',
  ),
  '/v1/exceptions/{id}/deny': step(
    'Deny a pending exception: an approver for the product (and within its scope limit), not the requester',
    'role: approver',
  ),
  '/v1/exceptions/{id}/revoke': step(
    'Revoke a pending or active exception: its requester or an approver for the product (and within its scope limit)',
    'roles: gate, approver, procurement',
  ),
  '/v1/findings': {
    get: {
      summary:
        'Products over capacity in a scope now (open), recently remediated ones with their time to remediate, and the mean (roles: viewer, auditor, finance, procurement, approver)',
      description: 'A token limited to products or a scope gets the findings within its limits, and the count and mean over those.',
      parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer', maximum: 1000 } }],
      responses: {
        '200': { description: '{open, closed, remediated, meanTimeToRemediateSeconds}', ...json({ type: 'object' }) },
        ...errors,
      },
    },
  },
  '/v1/tokens': {
    get: {
      summary: 'Tokens, without their secrets (role: admin)',
      responses: { '200': { description: 'tokens', ...json({ type: 'object' }) }, ...errors },
    },
    post: {
      summary: 'Create a token; the response is the only place it is shown (role: admin)',
      requestBody: json({
        type: 'object',
        required: ['name', 'roles'],
        properties: {
          name: { type: 'string' },
          roles: { type: 'array', items: { type: 'string' } },
          products: { type: 'array', items: { type: 'string' }, description: 'limits the token to these products' },
          scope: { type: 'object', description: 'limits the token to claims, usage and exceptions in this scope' },
          sources: {
            type: 'array',
            items: { type: 'string' },
            description: 'limits a reporter to these sources (names, or globs where * is any run of characters)',
          },
        },
      }),
      responses: { '201': { description: 'the token record and `token`', ...json({ type: 'object' }) }, ...errors },
    },
  },
  '/v1/tokens/{id}': {
    delete: {
      summary: 'Revoke a token (role: admin)',
      parameters: [idParam],
      responses: { '200': { description: 'the token record', ...json({ type: 'object' }) }, '404': err('no such token'), ...errors },
    },
  },
} as const;

export const governanceSchemas = {
  Exception: {
    type: 'object',
    properties: {
      id: { type: 'string', description: 'exc-N' },
      product: { type: 'string' },
      quantity: { type: 'number' },
      scope: { type: 'object' },
      until: { type: 'string' },
      reason: { type: 'string' },
      ticket: { type: 'string' },
      state: { enum: ['pending', 'active', 'denied', 'revoked', 'expired'] },
      requestedBy: { type: 'string' },
      requestedAt: { type: 'string' },
      approvals: { type: 'array', items: { type: 'object' } },
      approvalsNeeded: { type: 'integer' },
      activeFrom: { type: ['string', 'null'] },
      endedBy: { type: ['string', 'null'] },
      endedAt: { type: ['string', 'null'] },
      endReason: { type: ['string', 'null'] },
    },
  },
} as const;
