// The decision log's API (role auditor): the records, streamed as JSON Lines
// for export, the checkpoints and the public key that signs them. A fastify
// plugin of its own, registered by server.ts; it also runs the checkpointer.
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { EntitlegateError } from '../../engine/errors.ts';
import { AuthError } from '../auth.ts';
import { type Identity, isLimited } from '../identity.ts';
import type { Role, Store } from '../store/types.ts';
import type { SigningKey } from './checkpoint.ts';
import { Checkpointer, type CheckpointPolicy } from './checkpointer.ts';
import { exportPages } from './export.ts';
import { RecordFilter } from './filtered.ts';
import { parseSearchQuery, searchLog } from './search.ts';

export interface AuditRoutesOptions {
  store: Store;
  /** The ledger's one check of a bearer token or OIDC token against the roles an endpoint grants. */
  authorise: (header: string | undefined, roles: readonly Role[]) => Promise<Identity>;
  clock: () => Date;
  key?: SigningKey | undefined;
  policy: CheckpointPolicy;
  /** How often the checkpointer looks at the head; 0 turns it off. */
  intervalMs: number;
}

const ROLES = ['auditor'] as const;
const DATE = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/;

/** `since`: a seq (records from it on) or an ISO date (records at or after it). */
export async function sinceSeq(store: Store, since: string | undefined): Promise<number> {
  if (since === undefined || since === '') return 1;
  if (/^\d+$/.test(since)) return Math.max(1, Number(since));
  const at = DATE.test(since) ? Date.parse(since) : Number.NaN;
  if (Number.isNaN(at))
    throw new EntitlegateError(
      'EG_ERR_INPUT_INVALID',
      `since must be a record's seq or an ISO-8601 date such as 2026-11-01, not "${since}"`,
    );
  return store.logSeqAt(at);
}

export async function auditRoutes(app: FastifyInstance, opts: AuditRoutesOptions): Promise<void> {
  const { store } = opts;
  type Req = FastifyRequest<{ Querystring: Record<string, string | undefined> }>;
  const auditor = (req: Req) => opts.authorise(req.headers.authorization, ROLES);

  app.get('/v1/audit/key', async (req: Req, reply) => {
    await auditor(req);
    if (!opts.key)
      return reply.code(404).send({
        error: {
          code: 'EG_ERR_LEDGER_NOT_FOUND',
          message: 'this ledger signs no checkpoints: start it with --signing-key FILE',
          problems: [],
        },
      });
    return { algorithm: 'Ed25519', keyId: opts.key.keyId, publicKey: opts.key.publicPem };
  });

  app.get('/v1/audit/head', async (req: Req) => {
    await auditor(req);
    const head = await store.logHead();
    const last = (await store.checkpoints()).at(-1) ?? null;
    return { ...head, lastCheckpoint: last };
  });

  app.get('/v1/audit/checkpoints', async (req: Req) => {
    await auditor(req);
    return { checkpoints: await store.checkpoints() };
  });

  app.get('/v1/audit/records', async (req: Req) => {
    const who = await auditor(req);
    const from = await sinceSeq(store, req.query.since);
    const limit = Math.min(Math.max(Number(req.query.limit ?? 100) || 100, 1), 1000);
    const records = await store.logRecords(from, limit);
    const next = records.length === limit ? records.at(-1)!.seq + 1 : null;
    if (!isLimited(who)) return { records, next };
    // A page of the chain read, and the records in it that name only what the auditor sees: `next` pages on as before.
    const filter = new RecordFilter(store, who, opts.clock().getTime());
    const seen = [];
    for (const r of records) if (await filter.sees(r)) seen.push(r);
    return { records: seen, next, filtered: true };
  });

  app.get('/v1/audit/search', async (req: Req) => {
    const who = await auditor(req);
    return searchLog(store, who, parseSearchQuery(req.query), opts.clock().getTime());
  });

  app.get('/v1/audit/export', async (req: Req, reply) => {
    const who = await auditor(req);
    if (isLimited(who))
      throw new AuthError(
        403,
        `${who.actor} is limited to ${who.products ? `the products ${who.products.join(', ')}` : ''}${who.products && who.scope ? ' and ' : ''}${who.scope ? `the scope ${JSON.stringify(who.scope)}` : ''}: the export is the whole chain, for an auditor without limits; GET /v1/audit/records gives the records it may see (a filtered view, which cannot be verified)`,
      );
    const from = await sinceSeq(store, req.query.since);
    // Pulled page by page as the client reads (export.ts): a slow client holds the export up, the server buffers one page.
    async function* lines() {
      for await (const page of exportPages(store, from)) yield page.text;
    }
    return reply.type('application/x-ndjson; charset=utf-8').send(Readable.from(lines(), { objectMode: false }));
  });

  if (opts.key && opts.intervalMs > 0) {
    const checkpointer = new Checkpointer(store, opts.key, opts.policy, opts.clock);
    const timer = setInterval(() => {
      checkpointer.tick().catch((err: Error) => app.log.warn({ err: err.message }, 'checkpoint or retention failed; will retry'));
    }, opts.intervalMs);
    timer.unref();
    app.addHook('onClose', async () => {
      clearInterval(timer);
      await checkpointer.idle().catch(() => undefined);
    });
  }
}
