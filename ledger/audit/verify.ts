// `audit verify`: walks the log in seq order in bounded memory, recomputing
// every hash, and checks every checkpoint's signature and that it matches the
// record it names. The first problem (lowest seq) is the answer. A pass can
// resume where an earlier one stopped (the dashboard's chain status): it then
// walks only the records appended since.
import type { KeyObject } from 'node:crypto';
import { GENESIS, type LogRecord, recordHash, type StoredLogRecord } from './chain.ts';
import { type Checkpoint, checkpointProblem } from './checkpoint.ts';

export interface AuditSource {
  checkpoints(): Promise<Checkpoint[]>;
  /** Every record with seq ≥ fromSeq, in the order the source holds them. */
  records(fromSeq: number): AsyncIterable<LogRecord | StoredLogRecord>;
  /** The stored hash of record `seq` (null: not in the log); needed to resume a pass. */
  hashAt?(seq: number): Promise<string | null>;
}

/** Where a pass that found no problem stopped: every record through `seq` verified, the last with `hash`. */
export interface VerifiedPoint {
  seq: number;
  hash: string;
  checkpointedThrough: number;
  /** The checkpoints (by seq) found to match their records. */
  checkpoints: ReadonlySet<number>;
}

export interface VerifyResult {
  ok: boolean;
  records: number;
  firstSeq: number | null;
  lastSeq: number | null;
  checkpoints: number;
  /** The highest seq a valid checkpoint vouches for (0: none). */
  checkpointedThrough: number;
  /** The first record (or checkpoint's record) that does not verify. */
  problem?: { seq: number; message: string };
  /** Where this pass stopped, to resume from (ok only). */
  verified?: VerifiedPoint;
}

/** Reads records page by page from a store-like reader (bounded memory). */
export async function* paged<R extends { seq: number }>(
  read: (fromSeq: number, limit: number) => Promise<R[]>,
  fromSeq: number,
  pageSize = 200,
) {
  let next = fromSeq;
  for (;;) {
    const page = await read(next, pageSize);
    yield* page;
    if (page.length < pageSize) return;
    next = page.at(-1)!.seq + 1;
  }
}

/**
 * With `after`, resumes a pass that verified every record through `after.seq`:
 * walks the records since, checks that record `after.seq` still has the hash
 * it had, and matches checkpoints made since at earlier records. A resumed
 * pass does not see a change to a record it verified before (but the last):
 * a full pass does. Its records and firstSeq count the records it walked.
 */
export async function verifyLog(source: AuditSource, opts: { key?: KeyObject | null; after?: VerifiedPoint } = {}): Promise<VerifyResult> {
  const trusted = opts.key ?? null;
  const after = opts.after;
  const cps = await source.checkpoints();
  const bySeq = new Map<number, Checkpoint>();
  const result: VerifyResult = {
    ok: true,
    records: 0,
    firstSeq: null,
    lastSeq: after?.seq ?? null,
    checkpoints: cps.length,
    checkpointedThrough: after?.checkpointedThrough ?? 0,
  };
  const matched = new Set(after?.checkpoints);
  const problems: { seq: number; message: string }[] = [];
  for (const c of cps) {
    const why = checkpointProblem(c, trusted);
    if (why) problems.push({ seq: c.seq, message: `the checkpoint at record ${c.seq} (signed ${c.at}) is forged: ${why}` });
    else bySeq.set(c.seq, c);
  }
  // Problems are found in seq order while walking; a forged checkpoint's problem waits for its seq.
  const firstForged = problems[0];
  const fail = (seq: number, message: string): VerifyResult => {
    const p = firstForged && firstForged.seq < seq ? firstForged : { seq, message };
    return { ...result, ok: false, problem: p };
  };
  let prev: { seq: number; hash: string } | null = null;
  let startsAfter = 0;
  const prunes = new Set<number>();
  let lastGood = after?.checkpointedThrough ?? 0;
  if (after) {
    if (!source.hashAt) throw new Error('verifyLog: resuming needs a source that reads a record by seq');
    if (firstForged && firstForged.seq <= after.seq) return fail(firstForged.seq, firstForged.message);
    const anchor = await source.hashAt(after.seq);
    if (anchor !== after.hash)
      return fail(
        after.seq,
        anchor === null
          ? `record ${after.seq}, verified before, is no longer in the log`
          : `record ${after.seq} was changed since it was verified: its hash is not the one it had`,
      );
    // Checkpoints made since the last pass, at records that pass verified.
    for (const c of bySeq.values()) {
      if (c.seq > after.seq || matched.has(c.seq)) continue;
      const h = await source.hashAt(c.seq);
      if (h !== null && h !== c.hash)
        return fail(
          c.seq,
          `record ${c.seq} is not the record the checkpoint signed ${c.at} names: the log up to record ${c.seq} was rewritten`,
        );
      matched.add(c.seq);
      result.checkpointedThrough = Math.max(result.checkpointedThrough, c.seq);
    }
    prev = { seq: after.seq, hash: after.hash };
  }
  for await (const r of source.records(after ? after.seq + 1 : 1)) {
    if (firstForged && firstForged.seq < r.seq) return fail(firstForged.seq, firstForged.message);
    if (prev === null) {
      result.firstSeq = r.seq;
      if (r.seq !== 1) {
        const cut = bySeq.get(r.seq - 1);
        if (!cut || cut.hash !== r.prevHash)
          return fail(
            r.seq,
            `the log starts at record ${r.seq}, and no signed checkpoint at record ${r.seq - 1} vouches for its prevHash: earlier records were deleted`,
          );
        startsAfter = r.seq - 1;
      } else if (r.prevHash !== GENESIS)
        return fail(r.seq, `record 1 does not start the chain (its prevHash is not ${GENESIS.slice(0, 8)}…)`);
    } else {
      if (r.seq > prev.seq + 1) return fail(prev.seq + 1, `record ${prev.seq + 1} is missing (record ${prev.seq} is followed by ${r.seq})`);
      if (r.seq <= prev.seq) return fail(r.seq, `record ${r.seq} is out of order (it follows record ${prev.seq})`);
      if (r.prevHash !== prev.hash)
        return fail(r.seq, `record ${r.seq} does not follow record ${prev.seq}: its prevHash is not that record's hash`);
    }
    if (recordHash(r) !== r.hash)
      return fail(r.seq, `record ${r.seq} (${r.action} ${r.subject}) was changed: its content does not match its hash`);
    const c = bySeq.get(r.seq);
    if (c) {
      if (c.hash !== r.hash)
        return fail(
          r.seq,
          `record ${r.seq} is not the record the checkpoint signed ${c.at} names: the log between records ${lastGood + 1} and ${r.seq} was rewritten`,
        );
      lastGood = r.seq;
      result.checkpointedThrough = r.seq;
      matched.add(r.seq);
    }
    if (r.action === 'audit.prune') {
      const details = 'detailsJson' in r ? (JSON.parse(r.detailsJson) as Record<string, unknown>) : r.details;
      if (typeof details.through === 'number') prunes.add(details.through);
    }
    if (result.records === 0) result.firstSeq = r.seq;
    result.records++;
    result.lastSeq = r.seq;
    prev = r;
  }
  if (firstForged) return fail(firstForged.seq, firstForged.message);
  const beyond = cps.find((c) => c.seq > (result.lastSeq ?? 0));
  if (beyond)
    return fail(
      (result.lastSeq ?? 0) + 1,
      `the checkpoint signed ${beyond.at} names record ${beyond.seq}, but the log ends at ${result.lastSeq ?? 'nothing'}: records at the end were deleted`,
    );
  if (startsAfter > 0 && !prunes.has(startsAfter))
    return fail(
      startsAfter + 1,
      `the log starts after record ${startsAfter}, but no prune record in the log says retention removed records up to ${startsAfter}`,
    );
  if (prev !== null)
    result.verified = { seq: prev.seq, hash: prev.hash, checkpointedThrough: result.checkpointedThrough, checkpoints: matched };
  return result;
}
