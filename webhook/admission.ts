// POST /validate: AdmissionReview v1 in, AdmissionReview v1 out. Anything that
// is not an AdmissionReview v1 is answered HTTP 400 with a JSON message; a
// decision — allowed, denied, or an evaluation error under the failure
// policy — is always HTTP 200, as the kube-apiserver expects.
import type { FastifyPluginAsync } from 'fastify';
import { admissionRequestOf, admissionReview } from '../adapters/kubernetes/admission.ts';
import { EntitlegateError } from '../engine/errors.ts';
import { admit, admitShared, type AdmissionOutcome } from './decide.ts';
import type { Gate } from './gate.ts';
import type { Readiness } from './health.ts';
import type { Metrics } from './metrics.ts';

/** The kube-apiserver sends objects up to ~3 MiB (etcd's limit plus the old object); leave room. */
export const ADMISSION_BODY_LIMIT = 8 * 1024 * 1024;

export interface AdmissionPluginOptions {
  gate: Gate;
  metrics: Metrics;
  readiness: Readiness;
}

export const admissionPlugin: FastifyPluginAsync<AdmissionPluginOptions> = async (app, { gate, metrics, readiness }) => {
  app.post('/validate', { bodyLimit: ADMISSION_BODY_LIMIT }, (req, reply) => {
    const started = performance.now();
    let request;
    if (typeof req.body === 'string') {
      metrics.badRequests.inc();
      return reply.code(400).send({ statusCode: 400, error: 'Bad Request', code: 'EG_ERR_INPUT_INVALID', message: `request body: content-type ${req.headers['content-type'] ?? '(none)'} is not application/json; send an AdmissionReview v1 as JSON` });
    }
    try {
      request = admissionRequestOf(req.body, 'request body');
    } catch (err) {
      metrics.badRequests.inc();
      const e = err instanceof EntitlegateError ? err : new EntitlegateError('EG_ERR_INPUT_INVALID', 'request body: not an AdmissionReview');
      return reply.code(400).send({ statusCode: 400, error: 'Bad Request', code: e.code, message: e.message });
    }
    const admission = request;
    const admitOpts = readiness.ready() ? {} : { notReady: `not ready: ${readiness.reason()}` };
    const shared = gate.shared;
    if (shared) return admitShared(gate, shared, admission, admitOpts).then((outcome) => finish(outcome));
    return finish(admit(gate, admission, admitOpts));

    function finish(outcome: AdmissionOutcome) {
      metrics.observe(outcome.result, outcome.code, (performance.now() - started) / 1000);
      if (outcome.result !== 'allowed' && outcome.result !== 'exempt' && outcome.result !== 'skipped') {
        // Denials and evaluation errors are worth a line each; allowed ones go to debug.
        req.log.info(
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
      } else if (req.log.level === 'debug' || req.log.level === 'trace') {
        req.log.debug({ uid: admission.uid, operation: admission.operation, result: outcome.result, claims: outcome.claims.length }, `admission ${outcome.result}`);
      }
      return reply.send(admissionReview(outcome.response));
    }
  });
};
