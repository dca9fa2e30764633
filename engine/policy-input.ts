// What the policy reads as `input` (docs/policy.md): the facts of the
// accounting, one shape for the engine that builds it, the compiled policy
// that reads it and any other evaluator given the same input (the benchmarks'
// OPA server).
import type { Charge } from './accounting.ts';
import type { PoolState } from './pools.ts';
import type { DecidedClaim, Mode, ProductOutcome } from './types.ts';

/** An entitlement or exception whose scope covers a claim, whatever its state. */
export interface CoveringPool {
  id: string;
  kind: 'entitlement' | 'exception';
  state: PoolState;
  daysLeft: number | null;
  daysToStart: number | null;
}

/** A claim with where its net quantity and its peak went. */
export interface ClaimInput extends Omit<DecidedClaim, 'resource'> {
  /** resourceId of the claim's resource. */
  resource: string;
  /** In charge order. */
  covering: CoveringPool[];
  charged: Charge[];
  /** What of the net quantity fitted no usable covering pool. */
  overflow: number;
  /** The same for the claim's peak, charged without the change's frees. */
  peakOverflow: number;
}

/** A usable pool that covers some claim of the change, with its load before, after and at the change's peak. */
export interface PoolInput {
  kind: 'entitlement' | 'exception';
  capacity: number;
  used: number;
  projected: number;
  peak: number;
  state: PoolState;
  daysLeft: number | null;
  graceDaysLeft: number | null;
}

export interface PolicyInput {
  mode: Mode;
  now: string;
  claims: ClaimInput[];
  /** By product id: the decision contract's numbers. */
  products: Record<string, ProductOutcome>;
  /** By pool (entitlement or exception) id. */
  pools: Record<string, PoolInput>;
}
