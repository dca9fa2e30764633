// AdmissionReview v1 (admission.k8s.io/v1) as the webhook sees it: which
// admissions can change licence use, the parent of a scale, and the response.
import { WORKLOADS } from './workload.ts';
import type { AdmissionRequest, AdmissionResponse } from './admission-review.ts';

export {
  admissionRequestOf,
  isAdmissionReview,
  type AdmissionRequest,
  type AdmissionResponse,
  type GroupVersionKind,
  type Operation,
} from './admission-review.ts';
export { claimsFromAdmission } from './claims.ts';

/**
 * Whether an admission can change licence use: the workload objects
 * themselves, their scale subresource, and the Pod subresources that change
 * what a running pod runs: `ephemeralcontainers` (`kubectl debug` adds a
 * container, with any image) and `resize` (in-place CPU resize). CONNECT
 * (exec, attach, port-forward) and the other subresources (status, binding,
 * eviction) run no new containers and resize none.
 */
export function carriesLicenceUse(req: Pick<AdmissionRequest, 'operation' | 'subResource'>): boolean {
  if (req.operation === 'CONNECT') return false;
  return !req.subResource || LICENCE_SUBRESOURCES.has(req.subResource);
}

const LICENCE_SUBRESOURCES: ReadonlySet<string> = new Set(['scale', 'ephemeralcontainers', 'resize']);

/** An admission of the scale subresource: it carries a replica count, its parent the pod template. */
export function isScaleAdmission(req: Pick<AdmissionRequest, 'subResource'>): boolean {
  return req.subResource === 'scale';
}

/** Resource (plural) that serves a scale subresource → the kind of the workload it scales. */
const SCALE_PARENTS: ReadonlyMap<string, string> = new Map(
  Object.entries(WORKLOADS)
    .filter(([, w]) => w.scalable)
    .map(([kind, w]) => [w.resource, kind]),
);

/**
 * The kind of the workload a scale admission scales, to look the parent up by
 * (kind, namespace, name); undefined when the admission is not of a scale
 * subresource, or scales a resource that is not a workload entitlegate sizes.
 */
export function scaleParentKind(req: Pick<AdmissionRequest, 'subResource' | 'resource'>): string | undefined {
  return isScaleAdmission(req) ? SCALE_PARENTS.get(req.resource.resource) : undefined;
}

/** The AdmissionReview the kube-apiserver expects back. */
export function admissionReview(response: AdmissionResponse): object {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}
