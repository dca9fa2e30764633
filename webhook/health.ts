// Liveness and readiness. /healthz: the process serves HTTP. /readyz: it
// decides with complete usage — in cluster mode only after the inventory's
// first full list, so a new replica takes no admissions before it knows what
// runs (Kubernetes keeps it out of the Service until then).
import type { FastifyPluginAsync } from 'fastify';

export interface Readiness {
  ready(): boolean;
  /** Why not ready, for the /readyz body and the logs. */
  reason(): string;
  mode: 'cluster' | 'snapshots';
}

export const healthPlugin: FastifyPluginAsync<{ readiness: Readiness }> = async (app, { readiness }) => {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (readiness.ready()) return { status: 'ready', usage: readiness.mode };
    return reply.code(503).send({ status: 'not ready', usage: readiness.mode, reason: readiness.reason() });
  });
};
