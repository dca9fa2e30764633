// AdmissionReview v1 (admission.k8s.io/v1): the request the kube-apiserver
// sends a validating webhook, and the response it expects; read from JSON (the
// webhook) or YAML (`check` of a saved review) alike.
import { preview } from '../../engine/preview.ts';
import { EntitlegateError } from '../../engine/errors.ts';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource: { group: string; version: string; resource: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: Operation;
  object?: unknown;
  oldObject?: unknown;
  dryRun?: boolean;
  userInfo?: { username?: string; groups?: string[] };
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason?: string; message: string };
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
}

const OPERATIONS = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The request of an AdmissionReview; anything else is a precise 400-worthy error. */
export function admissionRequestOf(review: unknown, file = '<request>'): AdmissionRequest {
  const bad = (message: string) => new EntitlegateError('EG_ERR_INPUT_INVALID', `${file}: ${message}`, [{ file, message }]);
  if (!isRecord(review)) throw bad('not an AdmissionReview: expected a JSON object');
  if (review.kind !== 'AdmissionReview') throw bad(`not an AdmissionReview: kind is ${preview(review.kind ?? null)}`);
  if (review.apiVersion !== 'admission.k8s.io/v1')
    throw bad(
      `AdmissionReview apiVersion ${preview(review.apiVersion ?? null)} is not supported; use admission.k8s.io/v1 (admissionReviewVersions: ["v1"])`,
    );
  const req = review.request;
  if (!isRecord(req)) throw bad('AdmissionReview has no request');
  if (typeof req.uid !== 'string' || !req.uid) throw bad('AdmissionReview request has no uid');
  if (typeof req.operation !== 'string' || !OPERATIONS.has(req.operation))
    throw bad(`AdmissionReview request operation ${preview(req.operation ?? null)} is not one of CREATE, UPDATE, DELETE, CONNECT`);
  if (!isRecord(req.kind) || typeof req.kind.kind !== 'string') throw bad('AdmissionReview request has no kind');
  if (!isRecord(req.resource) || typeof req.resource.resource !== 'string') throw bad('AdmissionReview request has no resource');
  if (req.object !== undefined && req.object !== null && !isRecord(req.object))
    throw bad('AdmissionReview request object is not an object');
  if (req.oldObject !== undefined && req.oldObject !== null && !isRecord(req.oldObject))
    throw bad('AdmissionReview request oldObject is not an object');
  if (req.operation === 'CREATE' && !isRecord(req.object)) throw bad('a CREATE AdmissionReview has no object');
  if (req.operation === 'DELETE' && !isRecord(req.oldObject)) throw bad('a DELETE AdmissionReview has no oldObject');
  return req as unknown as AdmissionRequest;
}

/** An AdmissionReview of any version (the one to read is checked by admissionRequestOf). */
export function isAdmissionReview(value: unknown): boolean {
  return (
    isRecord(value) &&
    value.kind === 'AdmissionReview' &&
    typeof value.apiVersion === 'string' &&
    value.apiVersion.startsWith('admission.k8s.io/')
  );
}
