// The decision log's chain status for the audit view: the head, the last
// signed checkpoint (its signature checked against the ledger's key), the
// records since, and whether the chain verifies. `audit verify`'s own
// verifier, resumed from where the last pass stopped: a page load verifies
// only the records appended since, not the whole log (about 4 s at 1,000,000).
import type { KeyObject } from 'node:crypto';
import type { Store } from '../store/types.ts';
import { type Checkpoint, checkpointProblem } from './checkpoint.ts';
import { type AuditSource, paged, type VerifiedPoint, type VerifyResult, verifyLog } from './verify.ts';

export interface ChainStatusReport {
  head: { seq: number; hash: string; prunedThrough: number };
  /**
   * The newest checkpoint, and whether its signature verifies: against the
   * ledger's key (`checkedWith: 'ledger'`), or, when this ledger signs none,
   * against the key recorded with it (`'checkpoint'`: proves less).
   */
  checkpoint:
    | (Pick<Checkpoint, 'seq' | 'hash' | 'at' | 'keyId'> & {
        signatureValid: boolean;
        checkedWith: 'ledger' | 'checkpoint';
        problem: string | null;
      })
    | null;
  recordsSinceCheckpoint: number;
  verification:
    | { ok: true; through: number; at: string; full: boolean; walked: number; checkpointedThrough: number }
    | { ok: false; problem: { seq: number; message: string }; at: string; full: boolean };
}

function storeSource(store: Store): AuditSource {
  return {
    checkpoints: () => store.checkpoints(),
    records: (from) => paged((s, l) => store.logRows(s, l), from, 1000),
    hashAt: async (seq) => {
      const [r] = await store.logRows(seq, 1);
      return r?.seq === seq ? r.hash : null;
    },
  };
}

export class ChainStatus {
  private point: { verified: VerifiedPoint; at: number } | null = null;
  /** The last failure, and the head and checkpoints it was found at: asked again unchanged, it is answered from here. */
  private failure: { result: VerifyResult; at: number; full: boolean; head: number; checkpoints: number } | null = null;
  private running: Promise<ChainStatusReport> | null = null;

  private readonly store: Store;
  private readonly key: KeyObject | null;
  private readonly clock: () => Date;

  constructor(store: Store, key: KeyObject | null, clock: () => Date) {
    this.store = store;
    this.key = key;
    this.clock = clock;
  }

  /** The status now; `full` verifies every record again (what a resumed pass cannot see: a change to a record verified before). */
  status(full = false): Promise<ChainStatusReport> {
    // Concurrent page loads share one pass.
    if (this.running && !full) return this.running;
    const run = this.compute(full).finally(() => {
      if (this.running === run) this.running = null;
    });
    this.running = run;
    return run;
  }

  private async compute(full: boolean): Promise<ChainStatusReport> {
    const head = await this.store.logHead();
    const cps = await this.store.checkpoints();
    const last = cps.at(-1) ?? null;
    const problem = last ? checkpointProblem(last, this.key) : null;
    const base = {
      head,
      checkpoint: last && {
        seq: last.seq,
        hash: last.hash,
        at: last.at,
        keyId: last.keyId,
        signatureValid: problem === null,
        checkedWith: this.key ? ('ledger' as const) : ('checkpoint' as const),
        problem,
      },
      recordsSinceCheckpoint: head.seq - (last?.seq ?? head.prunedThrough),
    };
    const f = this.failure;
    if (!full && f && f.head === head.seq && f.checkpoints === cps.length)
      return { ...base, verification: { ok: false, problem: f.result.problem!, at: new Date(f.at).toISOString(), full: f.full } };
    // Retention pruned past the point verified: its records are gone, start again from the log's first.
    const after = full || !this.point || this.point.verified.seq <= head.prunedThrough ? undefined : this.point.verified;
    const at = this.clock().getTime();
    const result = await verifyLog(storeSource(this.store), { key: this.key, ...(after ? { after } : {}) });
    if (!result.ok) {
      this.failure = { result, at, full: after === undefined, head: head.seq, checkpoints: cps.length };
      // A failure is kept until the chain verifies again: the point verified before it is no longer vouched for.
      this.point = null;
      return { ...base, verification: { ok: false, problem: result.problem!, at: new Date(at).toISOString(), full: after === undefined } };
    }
    this.failure = null;
    if (result.verified) this.point = { verified: result.verified, at };
    return {
      ...base,
      verification: {
        ok: true,
        through: result.lastSeq ?? 0,
        at: new Date(at).toISOString(),
        full: after === undefined,
        walked: result.records,
        checkpointedThrough: result.checkpointedThrough,
      },
    };
  }
}
