// The webhook with a ledger (docs/ledger.md, "The webhook"): an admission that
// adds licensed quantity is decided and reserved at the ledger, in one round
// trip, against the whole organisation's usage; the cluster's inventory is
// reported to the ledger as the source `cluster:NAME`, so the reservation is
// settled once the object runs. Without a ledger none of this is loaded.
import type { AdmissionRequest } from '../adapters/kubernetes/admission.ts';
import type { Inventory } from '../adapters/kubernetes/inventory.ts';
import { usageKey } from '../engine/scope.ts';
import { isoInstant } from '../engine/time.ts';
import type { Claim, Decision, Finding, ProductOutcome } from '../engine/types.ts';
import { resourceId } from '../engine/types.ts';
import type { LedgerClient, LedgerDecision } from '../ledger-client/client.ts';
import { type AdmissionOutcome, type AdmitOptions, failure, prepare, render } from './decide.ts';
import type { Gate } from './gate.ts';

interface Log {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface LedgerGateOptions {
  client: LedgerClient;
  /** The cluster's name (`kubernetes.cluster`): its inventory is reported as `cluster:NAME`. */
  cluster?: string;
  /** Wait after an inventory change before the usage is reported, so a burst of events costs one report. */
  reportDebounceMs?: number;
  /** How long a capacity the ledger gave may deny without asking it again (exceptions and new contracts raise capacity). */
  standingMs?: number;
  /** Monotonic milliseconds (tests inject them). */
  elapsed?: () => number;
  log?: Log;
}

/** The ledger's last word on a product's capacity for one scope, as this replica last heard it. */
interface Standing {
  outcome: ProductOutcome;
  provenance: Decision['provenance'];
  heardAt: number;
  /** Wall-clock instant, for the message. */
  asOf: string;
}

export class LedgerGate {
  readonly client: LedgerClient;
  readonly cluster: string | undefined;
  readonly #standing = new Map<string, Standing>();
  readonly #standingMs: number;
  readonly #debounceMs: number;
  readonly #elapsed: () => number;
  /** Where a failed report is logged (the server's logger, set once it exists). */
  log: Log | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reporting: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #unsubscribe: () => void = () => {};
  /** Counts for /metrics and tests: round trips made, denials answered from the standing cache, reports sent and failed. */
  readonly stats = { roundTrips: 0, cachedDenials: 0, reports: 0, reportFailures: 0 };

  constructor(opts: LedgerGateOptions) {
    this.client = opts.client;
    this.cluster = opts.cluster;
    this.#standingMs = opts.standingMs ?? 5_000;
    this.#debounceMs = opts.reportDebounceMs ?? 2_000;
    this.#elapsed = opts.elapsed ?? (() => performance.now());
    this.log = opts.log;
  }

  get source(): string | undefined {
    return this.cluster ? `cluster:${this.cluster}` : undefined;
  }

  /**
   * Decides one admission. A change that adds no licensed quantity (a delete,
   * a scale-down, a change that keeps the quantity) is decided here: it needs
   * no capacity. One that adds is denied here only when it asks for more than
   * all the capacity the ledger last said the product has for its scope (no
   * release or expiry can make that fit); otherwise the ledger decides and
   * reserves. Never throws: the ledger unreachable goes through the failure
   * policy, and nothing was reserved that the kube-apiserver is not told of
   * (a reservation whose answer was lost expires by its TTL).
   */
  async admit(gate: Gate, req: AdmissionRequest, opts: AdmitOptions = {}): Promise<AdmissionOutcome> {
    const prepared = prepare(gate, req, opts);
    if ('outcome' in prepared) return prepared.outcome;
    const { claims, warnings } = prepared;
    if (!claims.some((c) => c.quantity === null || c.quantity > 0)) {
      try {
        return render(req, gate.engine.decide(claims, { now: gate.clock() }), claims, warnings);
      } catch (err) {
        return failure(gate, req, claims, err, 'evaluating the policy');
      }
    }
    const certain = this.#certainDenial(claims);
    if (certain) {
      this.stats.cachedDenials++;
      const outcome = render(req, certain, claims, warnings);
      outcome.response.auditAnnotations = { ...outcome.response.auditAnnotations, ledger: 'denied-from-standing' };
      return outcome;
    }
    let decision: LedgerDecision;
    try {
      this.stats.roundTrips++;
      const ttl = `${gate.config.kubernetes.reservationTTLSeconds}s`;
      decision = await this.client.decide({ claims: this.#asLedgerSees(claims), ...(req.dryRun ? {} : { reserve: true, ttl }) });
    } catch (err) {
      return failure(gate, req, claims, err, 'deciding at the ledger');
    }
    this.#learn(claims, decision);
    const outcome = render(req, decision, claims, warnings);
    if (decision.reservation) {
      outcome.response.auditAnnotations = { ...outcome.response.auditAnnotations, reservation: decision.reservation.id };
    }
    return outcome;
  }

  /**
   * The claims with resource ids the ledger can tell apart: `Deployment/apps/web`
   * runs in many clusters, so at the ledger it is `cluster:NAME/Deployment/apps/web`,
   * the id this cluster's usage report gives it too (report()). Without the
   * prefix, two clusters' objects of one name would count once.
   */
  #asLedgerSees(claims: Claim[]): Claim[] {
    const source = this.source;
    if (!source) return claims;
    return claims.map((c) => (c.resource ? { ...c, resource: { ...c.resource, address: `${source}/${resourceId(c.resource)}` } } : c));
  }

  /** Remembers each product's capacity for the claims' scope, when the ledger enforces and the product is entitled there. */
  #learn(claims: Claim[], decision: Decision): void {
    if (decision.mode !== 'enforce') return;
    const now = this.#elapsed();
    const asOf = decision.provenance.evaluatedAt;
    for (const outcome of decision.products) {
      if (!(outcome.capacity > 0)) continue;
      for (const c of claims) {
        if (c.product !== outcome.product) continue;
        this.#standing.set(usageKey(c.product, c.scope), { outcome, provenance: decision.provenance, heardAt: now, asOf });
      }
    }
  }

  /** A denial no release or expiry could change: the change alone needs more than the product's whole capacity. */
  #certainDenial(claims: Claim[]): Decision | undefined {
    const now = this.#elapsed();
    const asked = new Map<string, { quantity: number; claims: Claim[] }>();
    // An unknown quantity is the ledger's to judge (its unknownQuantity default).
    if (claims.some((c) => c.quantity === null)) return undefined;
    for (const c of claims) {
      const key = usageKey(c.product, c.scope);
      const a = asked.get(key) ?? { quantity: 0, claims: [] };
      a.quantity += c.quantity ?? 0;
      a.claims.push(c);
      asked.set(key, a);
    }
    for (const [key, a] of asked) {
      const s = this.#standing.get(key);
      if (!s) continue;
      if (now - s.heardAt > this.#standingMs) {
        this.#standing.delete(key);
        continue;
      }
      const { outcome } = s;
      if (a.quantity <= outcome.capacity) continue;
      const violation: Finding = {
        code: 'OVER_ENTITLEMENT',
        product: outcome.product,
        entitlement: null,
        message: `${outcome.product}: this change needs ${a.quantity} ${outcome.metric}, more than the ${outcome.capacity} ${outcome.metric} the ledger holds for it in all (as of ${s.asOf}), so it cannot fit however much is freed`,
        resources: a.claims.map((c) => resourceId(c.resource)),
      };
      return {
        allowed: false,
        mode: 'enforce',
        violations: [violation],
        warnings: [],
        products: [{ ...outcome, used: outcome.used, requested: a.quantity, projected: outcome.used + a.quantity }],
        claims: claims.map((c) => ({ ...c, metric: outcome.metric, peak: c.peak ?? Math.max(c.quantity ?? 0, 0) })),
        provenance: s.provenance,
      };
    }
    return undefined;
  }

  /**
   * Reports the inventory's usage to the ledger as `cluster:NAME`, once it has
   * synced (a partial list would report less than runs) and then after each
   * burst of changes. A failed report is retried after the next debounce; the
   * ledger keeps the previous report meanwhile. A report sent before a reserved
   * change is applied (still the old quantity) does not settle its reservation:
   * the ledger settles a line only once the report no longer shows the quantity
   * from before the change.
   */
  report(inventory: Inventory): void {
    const source = this.source;
    if (!source) return;
    this.#unsubscribe = inventory.onChange(() => this.#schedule(inventory, source));
    void inventory.synced.then(() => this.#send(inventory, source));
  }

  #schedule(inventory: Inventory, source: string): void {
    if (this.#stopped || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#send(inventory, source);
    }, this.#debounceMs);
    this.#timer.unref();
  }

  async #send(inventory: Inventory, source: string): Promise<void> {
    if (this.#stopped) return;
    if (this.#reporting) {
      // One report at a time, in order; the last change is sent after it.
      this.#again = true;
      return;
    }
    this.#reporting = (async () => {
      try {
        const usage = inventory.usageByResource().map(({ resource, ...u }) => ({ ...u, resource: `${source}/${resource}` }));
        await this.client.putUsage({ version: 1, source, observedAt: isoInstant(new Date()), usage });
        this.stats.reports++;
      } catch (err) {
        this.stats.reportFailures++;
        this.log?.warn({ source, err: (err as Error).message }, 'reporting the cluster usage to the ledger failed; retrying');
        this.#again = true;
      }
    })();
    await this.#reporting;
    this.#reporting = undefined;
    if (this.#again && !this.#stopped) {
      this.#again = false;
      this.#schedule(inventory, source);
    }
  }

  /** Stops reporting; waits for a report in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe();
    if (this.#timer) clearTimeout(this.#timer);
    await this.#reporting;
  }
}
