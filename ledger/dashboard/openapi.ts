// The dashboard routes' part of the OpenAPI document (spread into ledger/openapi.ts).
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const error = { description: 'an error', ...json({ $ref: '#/components/schemas/Error' }) };
const errors = { '400': error, '401': error, '403': error, '503': error };

const point = {
  type: 'object',
  properties: { day: { type: 'string', format: 'date' }, peak: { type: 'number' }, average: { type: 'number' } },
};

export const dashboardPaths = {
  '/v1/history': {
    get: {
      summary:
        "A product's daily peak and average usage per scope (scope null: the product's total), with its capacity per step (roles: viewer, finance, procurement, auditor, approver)",
      description:
        'A token limited to products gets 400 for another product, as for one the config does not declare; one limited to a scope gets the series within it, no total, and the capacity of the entitlements restricted to its scope.',
      parameters: [
        { name: 'product', in: 'query', required: true, schema: { type: 'string' } },
        { name: 'from', in: 'query', description: 'first day (default: 90 days before to)', schema: { type: 'string', format: 'date' } },
        { name: 'to', in: 'query', description: 'last day (default: today)', schema: { type: 'string', format: 'date' } },
        { name: 'step', in: 'query', description: 'days per point, such as 1d, 7d, 30d (default 1d)', schema: { type: 'string' } },
      ],
      responses: {
        '200': {
          description: 'history',
          ...json({
            type: 'object',
            properties: {
              product: { type: 'string' },
              metric: { type: 'string' },
              from: { type: 'string' },
              to: { type: 'string' },
              step: { type: 'string' },
              capacity: { type: 'array', items: { type: 'object', properties: { day: { type: 'string' }, quantity: { type: 'number' } } } },
              series: {
                type: 'array',
                items: { type: 'object', properties: { scope: { type: ['object', 'null'] }, points: { type: 'array', items: point } } },
              },
            },
          }),
        },
        ...errors,
      },
    },
  },
  '/v1/forecast': {
    get: {
      summary:
        "With product: the trend over daily peaks of the product's total and each scope, with its 80% band, exhaustion dates and the suggested quantity for the next term; without: each product's total, without bands (roles: viewer, finance, procurement, auditor, approver)",
      description:
        'A token limited to products sees those products only; one limited to a scope gets, with product, the series within its scope, and without, no products (each total spans every scope).',
      parameters: [
        { name: 'product', in: 'query', schema: { type: 'string' } },
        {
          name: 'window',
          in: 'query',
          description: 'days of history fitted (default 90)',
          schema: { type: 'integer', minimum: 7, maximum: 730 },
        },
        {
          name: 'horizon',
          in: 'query',
          description: 'days looked ahead (default 365)',
          schema: { type: 'integer', minimum: 1, maximum: 1095 },
        },
        {
          name: 'buffer',
          in: 'query',
          description: 'added to the forecast at renewal (default 0.1)',
          schema: { type: 'number', minimum: 0 },
        },
      ],
      responses: { '200': { description: 'forecast', ...json({ type: 'object' }) }, ...errors },
    },
  },
  '/v1/whoami': {
    get: {
      summary: "The token's name and roles: what the dashboard may show (any role)",
      responses: { '200': { description: 'the view', ...json({ type: 'object' }) }, ...errors },
    },
  },
  '/v1/dashboard/platform': {
    get: {
      summary:
        "The platform view: headroom by product and by scope (used, reserved, capacity from the engine's pools, headroom), open reservations, stale sources (role: viewer)",
      description:
        'A token limited to products gets those products’ rows and the reservations wholly within them; one limited to a scope gets rows rebuilt from what lies within it (the entitlements restricted to its scope, its usage and reservations).',
      responses: { '200': { description: 'the view', ...json({ type: 'object' }) }, ...errors },
    },
  },
  '/v1/dashboard/finance': {
    get: {
      summary: 'The finance view: cost of unused capacity, true-up exposure, spend by owner and contract (role: finance)',
      description:
        'A limited token: over the entitlements within its limits; true-up exposure (a product-wide figure) only for the products it sees whole.',
      responses: { '200': { description: 'the view', ...json({ type: 'object' }) }, ...errors },
    },
  },
  '/v1/dashboard/procurement': {
    get: {
      summary: 'The procurement view: entitlements ending within 180 days (role: procurement)',
      description: 'A limited token: the entitlements within its limits.',
      responses: { '200': { description: 'the view', ...json({ type: 'object' }) }, ...errors },
    },
  },
  '/v1/dashboard/audit': {
    get: {
      summary: "The audit view: the reservations' record, newest first, filtered (role: auditor)",
      description: 'A limited token: the reservations wholly within its limits.',
      parameters: ['product', 'resource', 'actor', 'from', 'to', 'limit'].map((name) => ({
        name,
        in: 'query',
        schema: { type: 'string' },
      })),
      responses: { '200': { description: 'the view', ...json({ type: 'object' }) }, ...errors },
    },
  },
  '/v1/denials': {
    get: {
      summary:
        "The decision log's most recent denied decisions, newest first: product, scope, resources, quantity asked against capacity, actor and surface (roles: viewer, auditor; a token limited to products or a scope sees only those)",
      parameters: [
        { name: 'product', in: 'query', description: 'only denials of this product', schema: { type: 'string' } },
        { name: 'since', in: 'query', description: 'only denials at or after this date or instant', schema: { type: 'string' } },
        { name: 'limit', in: 'query', description: 'at most this many (1–500, default 50)', schema: { type: 'integer' } },
      ],
      responses: {
        '200': {
          description: 'the denials',
          ...json({
            type: 'object',
            properties: {
              asOf: { type: 'string', format: 'date-time' },
              denials: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['seq', 'at', 'actor', 'surface', 'client', 'mode', 'products', 'violations'],
                  properties: {
                    seq: { type: 'integer', description: "the decision's record in the log" },
                    at: { type: 'string', format: 'date-time' },
                    actor: { type: 'string' },
                    surface: { type: ['string', 'null'], description: "cli, action, webhook, terraform… from the client's User-Agent" },
                    client: { type: ['string', 'null'] },
                    mode: { type: 'string' },
                    products: {
                      type: 'array',
                      items: {
                        type: 'object',
                        properties: {
                          product: { type: 'string' },
                          scope: { type: ['object', 'null'], description: "the claims' scope; null in records written before it was kept" },
                          quantity: { type: ['number', 'null'], description: 'what the refused claims asked for in this scope' },
                          resources: {
                            type: 'array',
                            items: { type: 'string' },
                            description: 'kind/namespace/name or a Terraform address (the first 20)',
                          },
                          moreResources: { type: 'integer' },
                          capacity: { type: ['number', 'null'] },
                          used: { type: ['number', 'null'] },
                          requested: { type: ['number', 'null'] },
                          projected: { type: ['number', 'null'] },
                        },
                      },
                    },
                    violations: { type: 'array', items: { type: 'object' } },
                  },
                },
              },
            },
          }),
        },
        ...errors,
      },
    },
  },
};
