// The engine: config and usage in, accounting prepared, the compiled policy
// asked, a decision out. It knows licences, not Kubernetes or Terraform.
import { allocateUsage, charge, chargeAll, coveringPools, free, type BaseAllocation, type Charge, type Item } from './accounting.ts';
import { buildBooks, policyData, usageItems, type Book } from './books.ts';
import type { Config } from './config/schema.ts';
import type { LoadedConfig } from './config/load.ts';
import { EntitlegateError } from './errors.ts';
import { poolAt, usable, type PoolAtNow } from './pools.ts';
import { CompiledPolicy } from './policy/wasm.ts';
import { isoInstant } from './time.ts';
import {
  resourceId,
  type Claim,
  type Finding,
  type DecidedClaim,
  type Decision,
  type Mode,
  type ProductOutcome,
  type UsageRecord,
  type UsageSnapshot,
} from './types.ts';

export interface DecideOptions {
  now: Date;
  mode?: Mode;
  /** Admitted changes not yet visible in usage (webhook reservations). */
  reservations?: readonly UsageRecord[];
}

export interface UsageSource {
  source: string;
  observedAt: string;
  usage: readonly UsageRecord[];
}

/** What the policy reads as `input` (docs/policy.md). */
export interface PolicyInput {
  mode: Mode;
  now: string;
  claims: object[];
  products: Record<string, object>;
  pools: Record<string, object>;
}

export interface Prepared {
  mode: Mode;
  input: PolicyInput;
  products: ProductOutcome[];
  claims: DecidedClaim[];
}

interface CachedBase {
  key: string;
  base: BaseAllocation;
}

export class Engine {
  readonly policy: CompiledPolicy;
  private loaded!: LoadedConfig;
  private books = new Map<string, Book>();
  private usage = new Map<string, Item[]>();
  private sources: { source: string; observedAt: string }[] = [];
  private bases = new Map<string, CachedBase>();
  private lastInstant: { ms: number; iso: string } | undefined;

  constructor(policy: CompiledPolicy, config: LoadedConfig, usage: readonly UsageSource[] = []) {
    this.policy = policy;
    this.setConfig(config);
    this.setUsage(usage);
  }

  /** Loads the policy the config names (or the built-in one) and builds an engine. */
  static async create(config: LoadedConfig, usage: readonly UsageSource[] = []): Promise<Engine> {
    return new Engine(await CompiledPolicy.load(config.policyPath), config, usage);
  }

  get config(): Config {
    return this.loaded.config;
  }

  get configDigest(): string {
    return this.loaded.digest;
  }

  setConfig(config: LoadedConfig): void {
    const books = buildBooks(config.config);
    this.policy.setData(policyData(config.config));
    this.loaded = config;
    this.books = books;
    this.bases.clear();
  }

  /** Replaces all usage; records from several sources add up. */
  setUsage(sources: readonly (UsageSource | UsageSnapshot)[]): void {
    for (const s of sources) {
      for (const r of s.usage) {
        if (!this.books.has(r.product)) {
          throw new EntitlegateError('EG_ERR_USAGE_INVALID', `usage from ${s.source} names unknown product "${r.product}"`);
        }
      }
    }
    this.usage = usageItems(sources.flatMap((s) => s.usage));
    this.sources = sources.map((s) => ({ source: s.source, observedAt: s.observedAt }));
    this.bases.clear();
  }

  private book(product: string): Book {
    const book = this.books.get(product);
    if (!book)
      throw new EntitlegateError(
        'EG_ERR_INPUT_INVALID',
        `a claim names unknown product "${product}"; declare it under products in the config`,
      );
    return book;
  }

  /** Existing usage charged to the pools usable now; cached until config, usage or the usable set changes. */
  private base(product: string, pools: PoolAtNow[]): BaseAllocation {
    const key = pools.map((p) => (usable(p) ? '1' : '0')).join('');
    const cached = this.bases.get(product);
    if (cached?.key === key) return cached.base;
    const base = allocateUsage(pools, this.usage.get(product) ?? []);
    this.bases.set(product, { key, base });
    return base;
  }

  decide(claims: readonly Claim[], opts: DecideOptions): Decision {
    const prepared = this.prepare(claims, opts);
    const verdict = this.policy.evaluate(prepared.input);
    return {
      allowed: verdict.allowed,
      mode: prepared.mode,
      violations: verdict.violations.map(finding),
      warnings: verdict.warnings.map(finding),
      products: prepared.products,
      claims: prepared.claims,
      provenance: {
        policy: this.policy.digest,
        config: this.loaded.digest,
        usage: this.sources,
        evaluatedAt: prepared.input.now,
      },
    };
  }

  /**
   * The accounting of a change, and the input the policy decides from
   * (docs/policy.md). Public so that the same input can be given to another
   * evaluator, such as the OPA server in the benchmarks.
   */
  prepare(all: readonly Claim[], opts: DecideOptions): Prepared {
    // Freeing needs no entitlement (accounting rule 5): a delete or scale-down
    // of a product the config no longer has is allowed, and there is nothing
    // to free it from. Only a claim that adds needs its product declared.
    const claims = all.every((c) => this.books.has(c.product)) ? all : all.filter((c) => this.books.has(c.product) || adds(c));
    const now = opts.now.getTime();
    const mode = opts.mode ?? this.config.defaults.mode;
    const byProduct = new Map<string, number[]>();
    claims.forEach((c, i) => {
      if (!this.books.has(c.product)) {
        const at = c.resource?.file ? ` (${c.resource.file}${c.resource.line ? `:${c.resource.line}` : ''})` : '';
        throw new EntitlegateError(
          'EG_ERR_INPUT_INVALID',
          `${resourceId(c.resource)}${at} names unknown product "${c.product}"; declare it under products in the config, or fix the input that names it`,
        );
      }
      const list = byProduct.get(c.product);
      if (list) list.push(i);
      else byProduct.set(c.product, [i]);
    });
    const reserved = new Map<string, UsageRecord[]>();
    for (const r of opts.reservations ?? []) {
      if (!byProduct.has(r.product)) continue;
      const list = reserved.get(r.product);
      if (list) list.push(r);
      else reserved.set(r.product, [r]);
    }

    const decided: DecidedClaim[] = new Array(claims.length);
    const claimInputs: object[] = new Array(claims.length);
    const products: ProductOutcome[] = [];
    const productInputs: Record<string, object> = {};
    const poolInputs: Record<string, object> = {};

    for (const [pid, indexes] of byProduct) {
      const book = this.book(pid);
      const metric = book.product.metric;
      const pools = book.pools.map((d) => poolAt(d, now));
      const base = this.base(pid, pools);
      const loads = base.loads.slice();
      const overflowBefore = base.overflow.map((o) => ({ ...o }));
      for (const r of chargeAll(pools, loads, reserved.get(pid) ?? [])) {
        if (r.overflow > 0) overflowBefore.push({ covering: r.covering, quantity: r.overflow });
      }
      const usedLoads = loads.slice();
      const usedOverflow = overflowBefore.map((o) => ({ ...o }));

      const peaks = indexes.map((i) => {
        const c = claims[i]!;
        return c.quantity === null ? 0 : Math.max(c.peak ?? 0, c.quantity, 0);
      });
      const allCovering = indexes.map((i) => coveringPools(pools, claims[i]!.scope, false));
      const usableCovering = allCovering.map((cov) => cov.filter((k) => usable(pools[k]!)));

      // Frees first: the change is judged net.
      indexes.forEach((i, k) => {
        const q = claims[i]!.quantity;
        if (q !== null && q < 0) free(loads, usableCovering[k]!, -q, overflowBefore);
      });
      const order = indexes.map((_, k) => k).sort((a, b) => usableCovering[a]!.length - usableCovering[b]!.length || a - b);
      const charged: Charge[][] = indexes.map(() => []);
      const overflow = indexes.map(() => 0);
      const peakOverflow = indexes.map(() => 0);
      const peakLoads = usedLoads.slice();
      for (const k of order) {
        const q = claims[indexes[k]!]!.quantity;
        if (q !== null && q > 0) {
          const r = charge(pools, loads, usableCovering[k]!, q);
          charged[k] = r.charged;
          overflow[k] = r.overflow;
        }
        if (peaks[k]! > 0) peakOverflow[k] = charge(pools, peakLoads, usableCovering[k]!, peaks[k]!).overflow;
      }

      const relevant = [...new Set(usableCovering.flat())].sort((a, b) => a - b);
      const inRelevant = new Set(relevant);
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      const capacity = sum(relevant.map((k) => pools[k]!.def.capacity));
      const used =
        sum(relevant.map((k) => usedLoads[k]!)) +
        sum(usedOverflow.filter((o) => o.covering.some((k) => inRelevant.has(k))).map((o) => o.quantity));
      const requested = sum(indexes.map((i) => claims[i]!.quantity ?? 0));
      const projected = Math.max(0, used + requested);
      const peak = Math.max(projected, used + sum(peaks));
      const outcome: ProductOutcome = {
        product: pid,
        metric,
        capacity,
        used,
        requested,
        projected,
        peak,
        utilization: capacity > 0 ? projected / capacity : null,
      };
      products.push(outcome);
      productInputs[pid] = outcome;
      for (const k of relevant) {
        const p = pools[k]!;
        poolInputs[p.def.id] = {
          kind: p.def.kind,
          capacity: p.def.capacity,
          used: usedLoads[k],
          projected: loads[k],
          peak: peakLoads[k],
          state: p.state,
          daysLeft: p.daysLeft,
          graceDaysLeft: p.graceDaysLeft,
        };
      }

      indexes.forEach((i, k) => {
        const c = claims[i]!;
        const d: DecidedClaim = { product: pid, metric, quantity: c.quantity, peak: peaks[k]!, scope: c.scope };
        if (c.resource) d.resource = c.resource;
        if (c.unknownReason) d.unknownReason = c.unknownReason;
        if (c.quantity === null && c.remedy) d.remedy = c.remedy;
        decided[i] = d;
        claimInputs[i] = {
          ...d,
          resource: resourceId(c.resource),
          covering: allCovering[k]!.map((j) => {
            const p = pools[j]!;
            return { id: p.def.id, kind: p.def.kind, state: p.state, daysLeft: p.daysLeft, daysToStart: p.daysToStart };
          }),
          charged: charged[k],
          overflow: overflow[k],
          peakOverflow: peakOverflow[k],
        };
      });
    }

    const input: PolicyInput = { mode, now: this.instant(now), claims: claimInputs, products: productInputs, pools: poolInputs };
    return { mode, input, products, claims: decided };
  }

  /** isoInstant of `now`, kept for the next decision: a server decides many in the same second (or, with --now, at one instant). */
  private instant(now: number): string {
    if (this.lastInstant?.ms !== now) this.lastInstant = { ms: now, iso: isoInstant(new Date(now)) };
    return this.lastInstant.iso;
  }

  /** Pools of a product at `now` with the load of existing usage (for reports). */
  standing(product: string, now: Date): { pools: PoolAtNow[]; base: BaseAllocation } {
    const pools = this.book(product).pools.map((d) => poolAt(d, now.getTime()));
    return { pools, base: this.base(product, pools) };
  }

  get usageSources(): readonly { source: string; observedAt: string }[] {
    return this.sources;
  }
}

/** Whether a claim may add to usage: an unknown quantity might. */
function adds(c: Claim): boolean {
  return c.quantity === null || c.quantity > 0 || (c.peak ?? 0) > 0;
}

/** A finding in the contract's field order, whatever order the policy built it in. */
function finding(f: Finding): Finding {
  return { code: f.code, product: f.product ?? null, entitlement: f.entitlement ?? null, message: f.message, resources: f.resources ?? [] };
}
