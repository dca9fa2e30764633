// The Kubernetes adapter: Kubernetes objects in, claims and usage records out.
export { parseKubernetes, isKubernetesObject, isAdmissionReview, type SourcedObject } from './parse.ts';
export {
  matchProducts,
  imageForms,
  PRODUCT_ANNOTATION,
  QUANTITY_ANNOTATION,
  IBM_PRODUCT_ID,
  IBM_CHARGED_CONTAINERS,
  type ProductMatch,
  type MatchedBy,
} from './match.ts';
export { amountFor, podCpuMillis, withScale, type Amount, type QuantityOptions } from './quantity.ts';
export { cpuMillis, wholeCores } from './cpu.ts';
export { podsOf, podTemplate, isWorkload, isScale, ownedByCountedController, WORKLOAD_KINDS, type PodCount } from './workload.ts';
export { peakOf, resolveSurge } from './peak.ts';
export { scopeOf, DEFAULT_ENVIRONMENT_LABEL, type ScopeOptions } from './scope.ts';
export { claimsFromObjects, claimsFromChange, measure, type ClaimOptions, type ChangeOptions } from './claims.ts';
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
