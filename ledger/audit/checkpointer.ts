// Signs a checkpoint of the chain head every N records or T minutes, and runs
// retention: records older than the retention age go, after a checkpoint is
// signed at the cut (so the pruned log still verifies from there) and with a
// prune record appended in the same transaction as the delete.
import type { Store } from '../store/types.ts';
import { type SigningKey, signCheckpoint } from './checkpoint.ts';

export interface CheckpointPolicy {
  /** A checkpoint once this many records were appended since the last one. */
  every: number;
  /** …or once this long has passed since the last one, if anything was appended. */
  maxAgeMs: number;
  /** Records older than this are pruned (null: kept for ever). */
  retainMs: number | null;
}

const DAY_MS = 86_400_000;

export function checkpointPolicy(opts: { every?: number; minutes?: number; retainDays?: number }): CheckpointPolicy {
  return {
    every: opts.every ?? 1000,
    maxAgeMs: (opts.minutes ?? 10) * 60_000,
    retainMs: opts.retainDays === undefined ? null : opts.retainDays * DAY_MS,
  };
}

export class Checkpointer {
  private last: { seq: number; at: number } | null = null;
  private readonly store: Store;
  private readonly key: SigningKey;
  private readonly policy: CheckpointPolicy;
  private readonly clock: () => Date;
  private running: Promise<void> | null = null;

  constructor(store: Store, key: SigningKey, policy: CheckpointPolicy, clock: () => Date) {
    this.store = store;
    this.key = key;
    this.policy = policy;
    this.clock = clock;
  }

  /** One round: a checkpoint if one is due, then retention. Ticks never overlap. */
  tick(): Promise<void> {
    this.running ??= this.round().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Resolves once the round in flight (if any) is over. */
  async idle(): Promise<void> {
    await this.running;
  }

  private async sign(seq: number, now: number): Promise<void> {
    const [r] = await this.store.logRecords(seq, 1);
    if (!r || r.seq !== seq) return;
    await this.store.addCheckpoint(signCheckpoint(this.key, r.seq, r.hash, now));
    if (!this.last || seq > this.last.seq) this.last = { seq, at: now };
  }

  private async round(): Promise<void> {
    const now = this.clock().getTime();
    if (!this.last) {
      const newest = (await this.store.checkpoints()).at(-1);
      this.last = newest ? { seq: newest.seq, at: Date.parse(newest.at) } : { seq: 0, at: now };
    }
    const head = await this.store.logHead();
    const fresh = head.seq - this.last.seq;
    if (fresh > 0 && (fresh >= this.policy.every || now - this.last.at >= this.policy.maxAgeMs)) await this.sign(head.seq, now);
    if (this.policy.retainMs !== null) {
      const cutoff = now - this.policy.retainMs;
      // Up to the first record that is young enough: a record is never pruned before its age, even
      // where clocks let an older one follow it.
      const through = (await this.store.logSeqAt(cutoff)) - 1;
      if (through > head.prunedThrough) {
        await this.sign(through, now);
        await this.store.pruneLog(through, {
          at: now,
          actor: 'retention',
          action: 'audit.prune',
          subject: `through ${through}`,
          details: { through, before: new Date(cutoff).toISOString(), retainDays: this.policy.retainMs / DAY_MS },
        });
      }
    }
  }
}
