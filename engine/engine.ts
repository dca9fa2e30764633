// The engine: config and usage in, accounting prepared, the compiled policy
// asked, a decision out. It knows licences, not Kubernetes or Terraform.
import { allocateUsage, type BaseAllocation, type Item } from './accounting.ts';
import { buildBooks, policyData, usageItems, type Book } from './books.ts';
import type { LicenceConfig } from './config/schema.ts';
import type { LoadedConfig } from './config/load.ts';
import { EntitlegateError } from './errors.ts';
import type { PolicyInput } from './policy-input.ts';
import { poolAt, usable, type PoolAtNow } from './pools.ts';
import { accountProductChange, type ChangeResults } from './product-change.ts';
import { CompiledPolicy } from './policy/wasm.ts';
import { isoInstant } from './time.ts';
import { VERSION } from './version.ts';
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

/** `C` is the whole config the engine was given (its licence part is what it reads), so a surface gets its own settings back. */
export class Engine<C extends LicenceConfig = LicenceConfig> {
  readonly policy: CompiledPolicy;
  private loaded!: LoadedConfig<C>;
  private books = new Map<string, Book>();
  private usage = new Map<string, Item[]>();
  private sources: { source: string; observedAt: string }[] = [];
  private bases = new Map<string, CachedBase>();
  private lastInstant: { ms: number; iso: string } | undefined;

  constructor(policy: CompiledPolicy, config: LoadedConfig<C>, usage: readonly UsageSource[] = []) {
    this.policy = policy;
    this.setConfig(config);
    this.setUsage(usage);
  }

  /** Loads the policy the config names (or the built-in one) and builds an engine. */
  static async create<C extends LicenceConfig>(config: LoadedConfig<C>, usage: readonly UsageSource[] = []): Promise<Engine<C>> {
    return new Engine(await CompiledPolicy.load(config.policyPath), config, usage);
  }

  get config(): C {
    return this.loaded.config;
  }

  get configDigest(): string {
    return this.loaded.digest;
  }

  setConfig(config: LoadedConfig<C>): void {
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
        version: VERSION,
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

    const out: ChangeResults = { decided: new Array(claims.length), claimInputs: new Array(claims.length), pools: {} };
    const products: ProductOutcome[] = [];
    const productInputs: Record<string, ProductOutcome> = {};
    for (const [pid, indexes] of byProduct) {
      const book = this.book(pid);
      const pools = book.pools.map((d) => poolAt(d, now));
      const base = this.base(pid, pools);
      const outcome = accountProductChange({ book, pools, base, claims, indexes, reserved: reserved.get(pid) ?? [] }, out);
      products.push(outcome);
      productInputs[pid] = outcome;
    }

    const input: PolicyInput = { mode, now: this.instant(now), claims: out.claimInputs, products: productInputs, pools: out.pools };
    return { mode, input, products, claims: out.decided };
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
