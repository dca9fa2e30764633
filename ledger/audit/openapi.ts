// The decision log's part of the OpenAPI document (merged into ../openapi.ts).
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const errors = {
  '400': { description: 'a bad since', ...json({ $ref: '#/components/schemas/Error' }) },
  '401': { description: 'no token, or an unknown one', ...json({ $ref: '#/components/schemas/Error' }) },
  '403': { description: 'the token lacks the role auditor', ...json({ $ref: '#/components/schemas/Error' }) },
  '503': { description: 'the store did not answer', ...json({ $ref: '#/components/schemas/Error' }) },
};
const since = {
  name: 'since',
  in: 'query',
  schema: { type: 'string', description: "a record's seq (records from it on), or an ISO-8601 date (records at or after it)" },
};
const record = {
  type: 'object',
  required: ['seq', 'at', 'actor', 'action', 'subject', 'details', 'prevHash', 'hash'],
  properties: {
    seq: { type: 'integer' },
    at: { type: 'string', format: 'date-time' },
    actor: { type: 'string' },
    action: { type: 'string' },
    subject: { type: 'string' },
    details: { type: 'object' },
    prevHash: { type: 'string', description: 'hex SHA-256 of the previous record (64 zeros for record 1)' },
    hash: { type: 'string', description: 'hex SHA-256(prevHash ‖ RFC 8785 JSON of {seq, at, actor, action, subject, details})' },
  },
};

/** A page of records: /v1/audit/records (oldest first) and /v1/audit/search (newest first). */
const recordsPage = {
  type: 'object',
  properties: {
    records: { type: 'array', items: record },
    next: { type: ['integer', 'null'] },
    filtered: { type: 'boolean', description: 'present (true) when the token is limited: records it may not see are left out' },
  },
};

export const auditPaths = {
  '/v1/audit/records': {
    get: {
      summary: 'Decision-log records in seq order, a page at a time (role: auditor)',
      description:
        'An auditor limited to products or a scope gets, of each page, the records that name only what it sees (their details, or the exception or reservation they are about), with filtered: true: a filtered view, which cannot be verified.',
      parameters: [since, { name: 'limit', in: 'query', schema: { type: 'integer', maximum: 1000 } }],
      responses: {
        '200': {
          description: 'records, and the seq to ask for next (null at the end)',
          ...json(recordsPage),
        },
        ...errors,
      },
    },
  },
  '/v1/audit/search': {
    get: {
      summary: 'Decision-log records matching filters, newest first, a page at a time (role: auditor)',
      description:
        "The audit view's log. Filters are exact and combine (AND): product and resource match what a record names in its details, or in the reservation or exception its subject is about; actor and action match those fields. Read through an index of what each record names (eg_log_refs, an index and not evidence: verify reads only the records), never the whole log. from/to become a seq range (the first record at or after each). An auditor limited to products or a scope gets the records that name only what it sees, with filtered: true; its page reads at most 5,000 records, then answers with what it found and next.",
      parameters: [
        { name: 'product', in: 'query', schema: { type: 'string' }, description: 'a product id, exactly (db does not match db2)' },
        {
          name: 'resource',
          in: 'query',
          schema: { type: 'string' },
          description: 'a resource id exactly as the record names it (Kubernetes kind/namespace/name, a Terraform address)',
        },
        { name: 'actor', in: 'query', schema: { type: 'string' }, description: 'token:NAME, oidc:…, cli, ttl, ledger, retention' },
        {
          name: 'action',
          in: 'query',
          schema: { type: 'string' },
          description: 'decision, reservation.confirm, exception.approve, usage.report…',
        },
        { name: 'from', in: 'query', schema: { type: 'string' }, description: 'a date or ISO-8601 instant: records at or after it' },
        { name: 'to', in: 'query', schema: { type: 'string' }, description: 'a date or ISO-8601 instant: records before it' },
        {
          name: 'before',
          in: 'query',
          schema: { type: 'integer', minimum: 1 },
          description: "records with seq below it: the previous page's next",
        },
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
      ],
      responses: {
        '200': {
          description: 'records, newest first, and the before to ask for the next (older) page (null at the end)',
          ...json(recordsPage),
        },
        ...errors,
        '400': { description: 'an unknown parameter, a bad date, before or limit', ...json({ $ref: '#/components/schemas/Error' }) },
      },
    },
  },
  '/v1/audit/export': {
    get: {
      summary: 'Every record from since on, streamed as JSON Lines (role: auditor)',
      description:
        'Read from the store a page at a time as the client reads: a slow client holds the export up, the ledger buffers about one page. The whole chain, so refused (403) to an auditor limited to products or a scope.',
      parameters: [since],
      responses: {
        '200': { description: 'one record per line', content: { 'application/x-ndjson': { schema: record } } },
        ...errors,
        '403': {
          description: 'the token lacks the role auditor, or is limited to products or a scope',
          ...json({ $ref: '#/components/schemas/Error' }),
        },
      },
    },
  },
  '/v1/audit/checkpoints': {
    get: {
      summary: 'The signed checkpoints of the chain, in seq order (role: auditor)',
      responses: { '200': { description: 'checkpoints', ...json({ type: 'object' }) }, ...errors },
    },
  },
  '/v1/audit/head': {
    get: {
      summary: 'The chain head, how far retention pruned, and the last checkpoint (role: auditor)',
      responses: { '200': { description: 'head', ...json({ type: 'object' }) }, ...errors },
    },
  },
  '/v1/audit/key': {
    get: {
      summary: 'The Ed25519 public key (PEM) that signs the checkpoints (role: auditor)',
      responses: {
        '200': { description: 'key', ...json({ type: 'object' }) },
        '404': { description: 'the ledger signs no checkpoints (no --signing-key)', ...json({ $ref: '#/components/schemas/Error' }) },
        ...errors,
      },
    },
  },
  '/v1/audit/chain': {
    get: {
      summary:
        "The chain status: head, the last checkpoint and whether its signature verifies against the ledger's key, records since it, and whether the chain verifies (through which record, or the first bad one). Verified incrementally from where the last pass stopped; full=true verifies every record again (role: auditor)",
      parameters: [{ name: 'full', in: 'query', schema: { type: 'boolean' } }],
      responses: {
        '200': {
          description: 'status',
          ...json({
            type: 'object',
            required: ['head', 'checkpoint', 'recordsSinceCheckpoint', 'verification'],
            properties: {
              head: {
                type: 'object',
                properties: { seq: { type: 'integer' }, hash: { type: 'string' }, prunedThrough: { type: 'integer' } },
              },
              checkpoint: {
                type: ['object', 'null'],
                description:
                  "seq, hash, at, keyId, signatureValid, checkedWith (ledger: the ledger's key; checkpoint: the key recorded with it, when the ledger signs none), problem",
              },
              recordsSinceCheckpoint: { type: 'integer' },
              verification: {
                type: 'object',
                description:
                  'ok: true with through (the last record verified), at, full, walked (records this pass read), checkpointedThrough; or ok: false with problem {seq, message}',
              },
            },
          }),
        },
        ...errors,
      },
    },
  },
};
