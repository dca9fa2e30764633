// Types at the boundaries between adapters, the engine and the surfaces.
// Config types live in engine/config/schema.ts (the licence part) and config/schema.ts (the whole file), inferred from the schemas.

export const METRICS = ['vcpu', 'instances', 'users', 'devices', 'units'] as const;
export type Metric = (typeof METRICS)[number];

export const SCOPE_DIMENSIONS = ['environment', 'cluster', 'namespace', 'account', 'region'] as const;
export type ScopeDimension = (typeof SCOPE_DIMENSIONS)[number];

/** The values a claim or usage record knows, one per dimension. */
export type Scope = Partial<Record<ScopeDimension, string>>;

export type Mode = 'enforce' | 'warn';

/** Where a claim came from, so a person can find it. */
export interface ResourceRef {
  kind: string;
  name: string;
  namespace?: string;
  /** Terraform address or CDK construct path. */
  address?: string;
  file?: string;
  line?: number;
}

/**
 * The change a deployment asks for, produced by an adapter.
 * `quantity` is the net delta (negative frees capacity); null when it cannot be
 * determined (the engine reports UNKNOWN_QUANTITY). `peak` is the transient
 * extra the change briefly needs (rolling-update surge, create-before-destroy);
 * it defaults to max(quantity, 0).
 */
export interface Claim {
  product: string;
  quantity: number | null;
  peak?: number;
  scope: Scope;
  resource?: ResourceRef;
  /** Why the quantity is unknown, for the message. */
  unknownReason?: string;
  /**
   * What the user can do to make an unknown quantity known, in the terms of
   * the input's own format (CPU limits, an instance-type table): the adapter
   * knows them, the policy only quotes it.
   */
  remedy?: string;
}

/** A claim as it appears in a decision: metric filled in, peak resolved. */
export interface DecidedClaim extends Claim {
  metric: Metric;
  peak: number;
}

export interface UsageRecord {
  product: string;
  quantity: number;
  scope: Scope;
}

export interface UsageSnapshot {
  version: 1;
  source: string;
  observedAt: string;
  usage: UsageRecord[];
  /** The file it was read from, for messages; not part of the file format. */
  file?: string;
}

export interface Finding {
  code: string;
  product: string | null;
  entitlement: string | null;
  message: string;
  resources: string[];
}

export interface ProductOutcome {
  product: string;
  metric: Metric;
  capacity: number;
  used: number;
  requested: number;
  projected: number;
  peak: number;
  utilization: number | null;
}

export interface Provenance {
  /** The entitlegate version that decided (package.json). */
  version: string;
  policy: string;
  config: string;
  usage: { source: string; observedAt: string }[];
  evaluatedAt: string;
}

/** The decision contract (`--format json`). */
export interface Decision {
  allowed: boolean;
  mode: Mode;
  violations: Finding[];
  warnings: Finding[];
  products: ProductOutcome[];
  claims: DecidedClaim[];
  provenance: Provenance;
}

/** Human-readable id of a resource, as used in `Finding.resources`. */
export function resourceId(r: ResourceRef | undefined): string {
  if (!r) return 'claim';
  if (r.address) return r.address;
  return r.namespace ? `${r.kind}/${r.namespace}/${r.name}` : `${r.kind}/${r.name}`;
}
