// POST /validate: AdmissionReview v1 in, AdmissionReview v1 out. Anything that
// is not an AdmissionReview v1 is answered HTTP 400 with a JSON message; a
// decision — allowed, denied, or an evaluation error under the failure
// policy — is always HTTP 200, as the kube-apiserver expects.
import type { TLSSocket } from 'node:tls';
import type { FastifyBaseLogger, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { admissionRequestOf, admissionReview, type AdmissionRequest } from '../adapters/kubernetes/admission.ts';
import { EntitlegateError, type ErrorCode } from '../engine/errors.ts';
import { admit, admitShared, type AdmissionOutcome, type AdmitOptions } from './decide.ts';
import type { Gate } from './gate.ts';
import type { Readiness } from './health.ts';
import type { Metrics } from './metrics.ts';

/** The kube-apiserver sends objects up to ~3 MiB (etcd's limit plus the old object); leave room. */
export const ADMISSION_BODY_LIMIT = 8 * 1024 * 1024;

export interface AdmissionPluginOptions {
  gate: Gate;
  metrics: Metrics;
  readiness: Readiness;
  /**
   * serve --client-ca: only a client whose certificate the client CA signed
   * (the kube-apiserver, configured with an AdmissionConfiguration kubeconfig)
   * is answered. Anyone else gets 401 before the body is read: an admission
   * decided for an unknown caller would hold a reservation (capacity others
   * are then refused) and tell that caller the capacity figures.
   */
  clientAuth?: boolean;
}

/** Why the TLS client is not one the client CA vouches for, or undefined when it is. */
function unauthenticated(req: FastifyRequest): string | undefined {
  const socket = req.raw.socket as Partial<TLSSocket>;
  if (socket.authorized) return undefined;
  const cert = socket.getPeerCertificate?.();
  if (!cert || Object.keys(cert).length === 0) return 'the client presented no certificate';
  return `the client certificate is not signed by the --client-ca bundle (${String(socket.authorizationError ?? 'unverified')})`;
}

interface Pending {
  admission: AdmissionRequest;
  reply: FastifyReply;
  log: FastifyBaseLogger;
  started: number;
}

export const admissionPlugin: FastifyPluginAsync<AdmissionPluginOptions> = async (app, { gate, metrics, readiness, clientAuth }) => {
  const admitOptions = (): AdmitOptions => (readiness.ready() ? {} : { notReady: `not ready: ${readiness.reason()}` });

  // Admissions decided with this replica's reservations are queued and
  // decided together once the event loop has read every request that has
  // arrived (setImmediate runs right after the poll phase): first every
  // decision, in arrival order, then every answer. Under load that keeps the
  // policy's code and data in the CPU caches from one decision to the next
  // instead of evicting them with a TLS read and an HTTP parse in between;
  // measured, it cut the CPU of an admission by about a third. Each decision
  // still decides and holds its reservation in one synchronous step
  // (reservations.ts), so concurrent admissions are serialised as before.
  let queue: Pending[] = [];
  const decideQueued = () => {
    const batch = queue;
    queue = [];
    const outcomes: (AdmissionOutcome | Error)[] = new Array(batch.length);
    for (let i = 0; i < batch.length; i++) {
      try {
        outcomes[i] = admit(gate, batch[i]!.admission, admitOptions());
      } catch (err) {
        // admit never throws; should it, that request gets a 500 and the others their answers
        outcomes[i] = err instanceof Error ? err : new Error(String(err));
      }
    }
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i]!;
      const outcome = outcomes[i]!;
      try {
        if (outcome instanceof Error) p.reply.send(outcome);
        else finish(p, outcome);
      } catch (err) {
        p.reply.send(err);
      }
    }
  };

  const finish = (p: Pending, outcome: AdmissionOutcome) => {
    const { admission, log } = p;
    metrics.observe(outcome.result, outcome.code, (performance.now() - p.started) / 1000);
    if (outcome.result !== 'allowed' && outcome.result !== 'exempt' && outcome.result !== 'skipped') {
      // Denials and evaluation errors are worth a line each; allowed ones go to debug.
      log.info(
        {
          uid: admission.uid,
          operation: admission.operation,
          resource: `${admission.kind.kind}/${admission.namespace ?? ''}/${admission.name ?? ''}`,
          dryRun: !!admission.dryRun,
          user: admission.userInfo?.username,
          result: outcome.result,
          code: outcome.code,
          ...(outcome.error ? { error: outcome.error } : { violations: outcome.decision?.violations.map((v) => v.code) }),
        },
        `admission ${outcome.result}`,
      );
    } else if (log.level === 'debug' || log.level === 'trace') {
      log.debug(
        { uid: admission.uid, operation: admission.operation, result: outcome.result, claims: outcome.claims.length },
        `admission ${outcome.result}`,
      );
    }
    // Written to the raw response: fastify's reply pipeline (serializer
    // lookup, onSend hooks, finish listeners) was ~3% of an admission's CPU
    // under load, and this answer needs none of it.
    const body = JSON.stringify(admissionReview(outcome.response));
    p.reply.hijack();
    p.reply.raw.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    p.reply.raw.end(body);
  };

  const authenticate = async (req: FastifyRequest, reply: FastifyReply) => {
    const why = unauthenticated(req);
    if (!why) return;
    metrics.badRequests.inc();
    req.log.warn(
      { remote: req.ip, reason: why },
      'admission refused: the client is not the kube-apiserver (no trusted client certificate)',
    );
    // A reply sent from onRequest ends the request before its body is read.
    await reply.code(401).send({
      statusCode: 401,
      error: 'Unauthorized',
      code: 'EG_ERR_UNAUTHENTICATED' satisfies ErrorCode,
      message: `${why}; this webhook answers only the kube-apiserver, which must present a client certificate (see docs/webhook.md, "Authenticating the kube-apiserver")`,
    });
    return reply;
  };

  app.post('/validate', { bodyLimit: ADMISSION_BODY_LIMIT, ...(clientAuth ? { onRequest: authenticate } : {}) }, (req, reply) => {
    const started = performance.now();
    let admission: AdmissionRequest;
    if (typeof req.body === 'string') {
      metrics.badRequests.inc();
      reply.code(400).send({
        statusCode: 400,
        error: 'Bad Request',
        code: 'EG_ERR_INPUT_INVALID',
        message: `request body: content-type ${req.headers['content-type'] ?? '(none)'} is not application/json; send an AdmissionReview v1 as JSON`,
      });
      return;
    }
    try {
      admission = admissionRequestOf(req.body, 'request body');
    } catch (err) {
      metrics.badRequests.inc();
      const e =
        err instanceof EntitlegateError ? err : new EntitlegateError('EG_ERR_INPUT_INVALID', 'request body: not an AdmissionReview');
      reply.code(400).send({ statusCode: 400, error: 'Bad Request', code: e.code, message: e.message });
      return;
    }
    const pending: Pending = { admission, reply, log: req.log, started };
    // The handler returns nothing and answers later (finish). Returning the
    // reply, a thenable, made fastify attach end-of-stream listeners to every
    // response: measured, 82 -> 74 µs of user CPU per admission under load.
    const ledger = gate.ledger;
    if (ledger) {
      ledger.admit(gate, admission, admitOptions()).then(
        (outcome) => finish(pending, outcome),
        (err: unknown) => reply.send(err),
      );
      return;
    }
    const shared = gate.shared;
    if (shared) {
      admitShared(gate, shared, admission, admitOptions()).then(
        (outcome) => finish(pending, outcome),
        (err: unknown) => reply.send(err),
      );
      return;
    }
    if (queue.length === 0) setImmediate(decideQueued);
    queue.push(pending);
  });
};
