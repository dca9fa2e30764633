// The scope a Kubernetes object is charged in: namespace and cluster, and the
// environment from the caller, the namespace's label or the config mapping.
import type { KubernetesSettings } from './settings.ts';
import type { Scope } from '../../engine/types.ts';
import { DEFAULT_ENVIRONMENT_LABEL } from './annotations.ts';
import { metadata, str } from './objects.ts';

export interface ScopeOptions {
  /** Namespace for objects that name none (kubectl's -n). */
  namespace?: string;
  /** Cluster name; else settings.cluster. */
  cluster?: string;
  /** Environment for everything (--environment); else from the namespace. */
  environment?: string;
  account?: string;
  region?: string;
  /** Labels of a namespace, from a cluster inventory. */
  namespaceLabels?: (namespace: string) => Record<string, string> | undefined;
  settings?: Partial<KubernetesSettings>;
}

export function namespaceOf(object: unknown, opts: ScopeOptions): string | undefined {
  return str(metadata(object).namespace) || opts.namespace || undefined;
}

export function environmentOf(
  namespace: string | undefined,
  opts: ScopeOptions,
  localLabels?: ReadonlyMap<string, Record<string, string>>,
): string | undefined {
  if (opts.environment) return opts.environment;
  if (namespace === undefined) return undefined;
  const label = opts.settings?.environmentLabel ?? DEFAULT_ENVIRONMENT_LABEL;
  const labels = opts.namespaceLabels?.(namespace) ?? localLabels?.get(namespace);
  return labels?.[label] ?? opts.settings?.environments?.[namespace];
}

export function scopeOf(object: unknown, opts: ScopeOptions, localLabels?: ReadonlyMap<string, Record<string, string>>): Scope {
  const scope: Scope = {};
  const namespace = namespaceOf(object, opts);
  const environment = environmentOf(namespace, opts, localLabels);
  const cluster = opts.cluster ?? opts.settings?.cluster;
  if (environment) scope.environment = environment;
  if (cluster) scope.cluster = cluster;
  if (namespace) scope.namespace = namespace;
  if (opts.account) scope.account = opts.account;
  if (opts.region) scope.region = opts.region;
  return scope;
}
