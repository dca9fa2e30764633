// The API's OpenAPI 3.1 document (GET /v1/openapi.json). Hand-written, kept
// beside the routes; server.test.ts checks that every route is in it.
import { governancePaths, governanceSchemas } from './openapi-governance.ts';
import { auditPaths } from './audit/openapi.ts';
import { dashboardPaths } from './dashboard/openapi.ts';

const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const error = { description: 'an error', ...json({ $ref: '#/components/schemas/Error' }) };
const errors = {
  '400': error,
  '401': { description: 'no token, or an unknown one', ...json({ $ref: '#/components/schemas/Error' }) },
  '403': { description: 'the token lacks the role', ...json({ $ref: '#/components/schemas/Error' }) },
  '503': { description: 'the store did not answer', ...json({ $ref: '#/components/schemas/Error' }) },
};
const reservationPath = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };

export const openapi = {
  openapi: '3.1.0',
  info: {
    title: 'entitlegate ledger',
    version: '1',
    description:
      'One durable record of licence usage, reservations and decisions that every gate shares (docs/ledger.md). A token limited to products or a scope reads only what lies within them: lists leave the rest out, totals are computed over what it sees, and one item outside them is answered 404, as one that does not exist.',
  },
  security: [{ bearer: [] }],
  paths: {
    ...dashboardPaths,
    '/v1/config': {
      get: {
        summary: 'The config the ledger decides with, and its digest (roles: gate, reporter)',
        description:
          'To a token limited to products or a scope: every product (a gate recognises every product), only the entitlements and config exceptions within its limits; the digest is the whole config’s.',
        responses: {
          '200': {
            description: 'config',
            ...json({ type: 'object', properties: { digest: { type: 'string' }, config: { type: 'object' } } }),
          },
          ...errors,
        },
      },
    },
    '/v1/decisions': {
      post: {
        summary:
          'Decide claims; with reserve: true, hold them as a reservation when allowed, in one serialised step per product (role: gate)',
        requestBody: json({ $ref: '#/components/schemas/DecisionRequest' }),
        responses: {
          '200': {
            description:
              'the decision JSON of the contract, with reservation {id, expiresAt} when reserved; {id, expiresAt, reused: true} when reservationKey names a reservation that still holds (expiresAt null: confirmed)',
            ...json({ type: 'object' }),
          },
          '409': {
            description: 'configDigest is not the ledger’s config, or reservationKey names a holding reservation of other claims',
            ...json({ $ref: '#/components/schemas/Error' }),
          },
          ...errors,
        },
      },
    },
    '/v1/reservations': {
      get: {
        summary: 'Recent reservations, newest first (roles: viewer, auditor; gate with key)',
        parameters: [
          {
            name: 'key',
            in: 'query',
            schema: {
              type: 'string',
              description: 'only those made under this reservationKey (a gate may ask: the run task finds its run’s)',
            },
          },
          {
            name: 'state',
            in: 'query',
            schema: { type: 'string', description: 'comma-separated: held, confirmed, released, expired, settled' },
          },
          { name: 'limit', in: 'query', schema: { type: 'integer', maximum: 1000 } },
        ],
        responses: { '200': { description: 'reservations', ...json({ type: 'object' }) }, ...errors },
      },
    },
    '/v1/reservations/{id}': {
      get: {
        summary: 'One reservation (role: gate)',
        parameters: [reservationPath],
        responses: {
          '200': { description: 'reservation', ...json({ $ref: '#/components/schemas/Reservation' }) },
          '404': error,
          ...errors,
        },
      },
      delete: {
        summary: 'Release: it stops counting; releasing an ended reservation changes nothing (role: gate)',
        parameters: [reservationPath],
        responses: {
          '200': { description: 'reservation', ...json({ $ref: '#/components/schemas/Reservation' }) },
          '404': error,
          ...errors,
        },
      },
    },
    '/v1/reservations/{id}/confirm': {
      post: {
        summary: 'Confirm: it stops expiring and counts until a source reports its resources or it is released (role: gate)',
        parameters: [reservationPath],
        responses: {
          '200': { description: 'reservation', ...json({ $ref: '#/components/schemas/Reservation' }) },
          '404': error,
          '409': error,
          ...errors,
        },
      },
    },
    '/v1/sources': {
      get: {
        summary: 'Usage sources and their last report (roles: gate, reporter)',
        responses: { '200': { description: 'sources', ...json({ type: 'object' }) }, ...errors },
      },
    },
    '/v1/sources/{name}/usage': {
      put: {
        summary:
          "Replace the source's usage with this report (history kept); settles reservations of the resources it names (role: reporter)",
        parameters: [
          { name: 'name', in: 'path', required: true, schema: { type: 'string' } },
          {
            name: 'staleAfter',
            in: 'query',
            schema: { type: 'string', description: 'e.g. 2h: decisions warn STALE_USAGE when the source is silent longer' },
          },
          ...['environment', 'cluster', 'namespace', 'account', 'region'].map((name) => ({
            name,
            in: 'query',
            schema: { type: 'string', description: `with a Terraform state: the ${name} its resources run in (wins over the state's own)` },
          })),
        ],
        requestBody: json({ $ref: '#/components/schemas/UsageReport' }),
        responses: { '200': { description: 'stored', ...json({ type: 'object' }) }, ...errors },
      },
    },
    '/v1/reconciliation': {
      get: {
        summary:
          'Reconciliation: per product and scope entitled vs declared (sam: sources) vs discovered (cluster:, terraform:) vs reserved; resources more than one source reports; dormant entitlements; reservations that expired unconfirmed; stale sources (roles: reporter, viewer, finance, procurement, auditor, approver)',
        parameters: [{ name: 'dormantDays', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 800, default: 90 } }],
        responses: { '200': { description: 'reconciliation', ...json({ type: 'object' }) }, ...errors },
      },
    },
    '/v1/sources/{name}/usage/history': {
      get: {
        summary: "The source's reports, newest first (role: admin)",
        parameters: [
          { name: 'name', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'limit', in: 'query', schema: { type: 'integer', maximum: 500 } },
        ],
        responses: { '200': { description: 'reports', ...json({ type: 'object' }) }, ...errors },
      },
    },
    '/v1/openapi.json': {
      get: { summary: 'This document (any role)', responses: { '200': { description: 'OpenAPI 3.1' }, ...errors } },
    },
    ...governancePaths,
    ...auditPaths,
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a token from entitlegate ledger token create' } },
    schemas: {
      ...governanceSchemas,
      Error: {
        type: 'object',
        properties: {
          error: {
            type: 'object',
            properties: { code: { type: 'string' }, message: { type: 'string' }, problems: { type: 'array', items: { type: 'object' } } },
          },
        },
      },
      DecisionRequest: {
        type: 'object',
        required: ['claims'],
        properties: {
          claims: { type: 'array', items: { type: 'object', description: 'claims as in schema/claims.schema.json' } },
          scope: { type: 'object', description: 'fills in and overrides each claim’s scope' },
          mode: { enum: ['enforce', 'warn'] },
          reserve: { type: 'boolean' },
          ttl: { type: ['string', 'number'], description: 'e.g. 30m (default), 2h; at most 7d; a number is seconds' },
          configDigest: { type: 'string', description: 'the digest of the config the claims were made with; another gets 409' },
          reservationKey: {
            type: 'string',
            pattern: '^[A-Za-z0-9._:/@-]{1,200}$',
            description:
              'with reserve: the client’s name for the reservation, like an Idempotency-Key (the run task: run-task:<run id>). While a reservation made under it holds, the same claims get it back instead of a second; other claims get 409; once it ended, a new one is made',
          },
        },
      },
      UsageReport: {
        type: 'object',
        required: ['version', 'observedAt', 'usage'],
        properties: {
          version: { const: 1 },
          source: { type: 'string' },
          observedAt: { type: 'string', format: 'date-time' },
          usage: {
            type: 'array',
            items: {
              type: 'object',
              required: ['product', 'quantity'],
              properties: {
                product: { type: 'string' },
                quantity: { type: 'number', minimum: 0 },
                scope: { type: 'object' },
                resource: {
                  type: 'string',
                  description: 'identifies the deployed thing: counted once across sources, settles its reservation',
                },
              },
            },
          },
        },
      },
      Reservation: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          state: { enum: ['held', 'confirmed', 'released', 'expired', 'settled'] },
          createdAt: { type: 'string' },
          expiresAt: { type: ['string', 'null'] },
          actor: { type: 'string' },
          key: { type: 'string', description: 'the reservationKey it was made under' },
          lines: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                product: { type: 'string' },
                quantity: { type: 'number', description: 'what the change adds' },
                scope: { type: 'object' },
                resource: { type: ['string', 'null'] },
                target: {
                  type: 'number',
                  description:
                    'the resource’s quantity once the change has landed: a report still showing target − quantity (the version from before) does not settle the line',
                },
              },
            },
          },
        },
      },
    },
  },
} as const;
