// The annotation and label keys entitlegate reads on Kubernetes objects,
// spelled once: recognition, quantities, the inventory's slimming and the
// docs all name these.

/** Comma-separated product ids the workload runs (workload or pod template). */
export const PRODUCT_ANNOTATION = 'entitlegate.io/product';
/** The workload's total of every product it runs: fills in or raises a measured quantity (see quantity.ts). */
export const QUANTITY_ANNOTATION = 'entitlegate.io/quantity';
/** Namespace label naming the environment, unless the config names another. */
export const DEFAULT_ENVIRONMENT_LABEL = 'entitlegate.io/environment';
/** IBM License Service annotations (pod or workload metadata). */
export const IBM_PRODUCT_ID = 'productID';
export const IBM_CHARGED_CONTAINERS = 'productChargedContainers';

/** The annotations the quantity and recognition rules read; the inventory keeps these and drops the rest. */
export const READ_ANNOTATIONS = [PRODUCT_ANNOTATION, QUANTITY_ANNOTATION, IBM_PRODUCT_ID, IBM_CHARGED_CONTAINERS] as const;
