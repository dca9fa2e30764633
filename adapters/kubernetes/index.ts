// The Kubernetes adapter: Kubernetes objects in, claims and usage records out.
export { parseKubernetes, isKubernetesObject, isAdmissionReview, looksLikeKubernetesText, type SourcedObject } from './parse.ts';
export { matchProducts, type ProductMatch, type MatchedBy } from './match.ts';
export {
  PRODUCT_ANNOTATION,
  QUANTITY_ANNOTATION,
  DEFAULT_ENVIRONMENT_LABEL,
  IBM_PRODUCT_ID,
  IBM_CHARGED_CONTAINERS,
} from './annotations.ts';
export { parseImageRef, imageCandidates, patternForms, type ImageRef } from './image-ref.ts';
export { amountFor, podCpuMillis, withScale, type Amount, type QuantityOptions } from './quantity.ts';
export { cpuMillis, wholeCores } from './cpu.ts';
export {
  podsOf,
  podTemplate,
  isWorkload,
  isScale,
  ownedByCountedController,
  WORKLOAD_KINDS,
  WORKLOADS,
  type PodCount,
  type WorkloadKind,
} from './workload.ts';
export { peakOf, resolveSurge } from './peak.ts';
export { scopeOf, type ScopeOptions } from './scope.ts';
export {
  claimsFromObjects,
  claimsFromChange,
  lastOfEach,
  measure,
  type ClaimOptions,
  type ChangeOptions,
  type InputWarning,
} from './claims.ts';
export {
  usageFromObjects,
  Inventory,
  type InventoryOptions,
  type InventoryChange,
  type UnknownUsage,
  type UsageOptions,
} from './inventory.ts';
export { UsageIndex } from './usage-index.ts';
export {
  admissionRequestOf,
  claimsFromAdmission,
  admissionReview,
  carriesLicenceUse,
  isScaleAdmission,
  scaleParentKind,
  type AdmissionRequest,
  type AdmissionResponse,
  type Operation,
} from './admission.ts';
