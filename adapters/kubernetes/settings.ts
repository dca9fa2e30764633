// The Kubernetes adapter's part of the config file: how a product is
// recognised in a pod template (`products[].match.kubernetes`) and how a
// namespace maps to a scope (`kubernetes:`). config/schema.ts composes it into
// the one config schema; pure schemas, so the composition pulls in nothing else.
import * as z from 'zod/mini';
import { nonEmpty, type Product as LicenceProduct } from '../../engine/config/schema.ts';

export const kubernetesMatch = z.strictObject({
  images: z.optional(z.array(nonEmpty())),
  labels: z.optional(z.record(z.string(), z.string())),
  /** Containers named here count; default: the containers whose image matches, or all when matched by label/annotation. */
  containers: z.optional(z.array(z.string())),
});

/** The adapter's settings under `kubernetes:`, in the file's key order (the webhook's follow them). */
export const kubernetesAdapterSettings = {
  /** Namespace label that names the environment. */
  environmentLabel: z._default(z.string(), 'entitlegate.io/environment'),
  /** Namespace → environment, for namespaces without the label. */
  environments: z._default(z.record(z.string(), z.string()), {}),
  /** Cluster name put into claims when the caller does not give one. */
  cluster: z.optional(z.string()),
  /** Pods a DaemonSet runs when no inventory knows the node count. */
  daemonSetNodes: z.optional(z.int().check(z.nonnegative())),
  exemptNamespaces: z._default(z.array(z.string()), ['kube-system']),
  /** Namespaces where the entitlegate.io/quantity annotation may also lower a measured quantity (elsewhere it only fills in or raises). */
  quantityTrustedNamespaces: z._default(z.array(z.string()), []),
};

const settings = z.strictObject(kubernetesAdapterSettings);

export type KubernetesMatch = z.output<typeof kubernetesMatch>;
/** What the adapter reads under `kubernetes:` (the full section carries the webhook's settings too). */
export type KubernetesSettings = z.output<typeof settings>;
/** A product as this adapter reads it: the licence fields and its own part of `match`. */
export type Product = LicenceProduct & { match?: { kubernetes?: KubernetesMatch } };
