// The embedded store with its connection in a worker thread (docs/ledger.md,
// "Choosing the embedded store"). The SQL is the SqliteStore's (sqlite.ts), run
// by the worker (sqlite-worker.ts); this side forwards each call. Why: a
// commit with synchronous=FULL waits for an fsync (0.2 ms typically here, 4 ms
// one time in ten, 10 ms at the 99th percentile on a busy machine), and with
// the connection on the server's thread nothing was served meanwhile. Now the
// server keeps reading and authenticating requests while a group commits; the
// decisions themselves are made in the thread (ledger/thread-decider.ts), and
// the other steps' statements cross as messages. A step still answers only
// after its commit is on disk.
import { existsSync } from 'node:fs';
import * as sea from 'node:sea';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { EntitlegateError, type ErrorCode, type Problem } from '../../engine/errors.ts';
import type { LedgerDecision } from '../ledger.ts';
import type { Decide, DecideCall, DeciderSetup } from '../thread-decider.ts';
import type { Store, StoreTx } from './types.ts';

/** main → worker */
export type ToWorker =
  | { k: 'open'; id: number; file: string }
  | { k: 'call'; id: number; method: string; args: unknown[] }
  | { k: 'step'; id: number; done: number; products: readonly string[] | 'all' }
  /** Statements of a step, in order, then maybe its end (`end`: whether the step's callback succeeded). */
  | { k: 'ops'; step: number; ops: StepOp[]; end?: boolean }
  /** Decide in the thread from now on (ledger/thread-decider.ts). */
  | { k: 'decider'; id: number; setup: DeciderSetup }
  | { k: 'decide'; id: number; call: DecideCall };

/** One statement; `id` 0: no answer wanted (a write: its error fails the step at its end). */
export interface StepOp {
  id: number;
  method: keyof StoreTx;
  args: unknown[];
}

/** worker → main: the answer to the message with this id. */
export type FromWorker = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: WireError };

export interface WireError {
  message: string;
  /** Set for an EntitlegateError, so it is one again on this side (the server maps its code to a status). */
  code?: ErrorCode;
  problems?: Problem[];
}

export function toWire(err: unknown): WireError {
  if (err instanceof EntitlegateError) return { message: err.message, code: err.code, problems: err.problems };
  return { message: err instanceof Error ? err.message : String(err) };
}

function fromWire(e: WireError): Error {
  return e.code ? new EntitlegateError(e.code, e.message, e.problems ?? []) : new Error(e.message);
}

/**
 * Every statement of a step, by how it crosses to the thread: a write's answer
 * the step does not need (sent without waiting, in order, with the step's next
 * read or its end); a read is answered. A Record, so that a statement added to
 * StoreTx does not compile until it is named here.
 */
const STEP: Record<keyof StoreTx, 'read' | 'write'> = {
  usageVersion: 'read',
  currentUsage: 'read',
  countingLines: 'read',
  insertReservation: 'write',
  getReservation: 'read',
  reservationByKey: 'read',
  setReservationState: 'write',
  putUsage: 'write',
  settle: 'read',
  insertException: 'read',
  getException: 'read',
  updateException: 'write',
  activeExceptions: 'read',
  openFindings: 'read',
  openFinding: 'write',
  closeFinding: 'write',
  confirmedLines: 'read',
  recordHistory: 'write',
  historyLast: 'read',
  appendLog: 'write',
};
const STATEMENTS = Object.entries(STEP) as [keyof StoreTx, 'read' | 'write'][];

/** Where the worker's module is: beside this one, as .ts from the sources, .js from the build (tsc's, or the bundle's in dist/bin). */
export function workerFile(): string {
  return fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './sqlite-worker.ts' : './sqlite-worker.js', import.meta.url));
}

/** The asset holding the worker's code in the single executable, which has no files beside it (scripts/build-binary.ts). */
export const SEA_WORKER_ASSET = 'sqlite-worker.cjs';

/** The worker to start: its file, or in the single executable its code; null when neither is there (then the store stays in-process). */
function workerSource(): { file: string } | { code: string } | null {
  if (sea.isSea()) {
    try {
      return { code: sea.getAsset(SEA_WORKER_ASSET, 'utf8') };
    } catch {
      return null;
    }
  }
  const file = workerFile();
  return existsSync(file) ? { file } : null;
}

export function canThread(): boolean {
  return workerSource() !== null;
}

type Waiter = { resolve: (v: unknown) => void; reject: (e: Error) => void };

export class ThreadedSqliteStore implements Store {
  readonly kind = 'embedded' as const;
  readonly file: string;
  private readonly worker: Worker;
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 1;
  private dead: Error | null = null;
  private readonly opened: Promise<unknown>;

  constructor(file: string) {
    this.file = file;
    const source = workerSource();
    if (!source)
      throw new EntitlegateError('EG_ERR_LEDGER_STORE', `${file}: the embedded store's thread has no code here (${workerFile()})`);
    this.worker = 'code' in source ? new Worker(source.code, { eval: true }) : new Worker(source.file);
    this.worker.unref();
    this.worker.on('message', (m: FromWorker) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.forget(m.id);
      if (m.ok) w.resolve(m.value);
      else w.reject(fromWire(m.error));
    });
    const die = (why: string) => {
      this.dead ??= new EntitlegateError('EG_ERR_LEDGER_STORE', `${file}: the embedded store's thread ${why}`);
      for (const [id, w] of this.waiting) {
        this.forget(id);
        w.reject(this.dead);
      }
    };
    this.worker.on('error', (err: Error) => die(`failed: ${err.message}`));
    this.worker.on('exit', (code) => die(`exited (${code})`));
    const id = this.id();
    this.opened = this.expect(id);
    // Reported by migrate() (openStore) and by every call after it.
    this.opened.catch(() => undefined);
    this.worker.postMessage({ k: 'open', id, file } satisfies ToWorker);
  }

  private id(): number {
    return this.nextId++;
  }

  /** A promise for the answer to message `id`; the worker keeps the process alive only while an answer is due. */
  private expect<T>(id: number): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.waiting.size === 0) this.worker.ref();
    return new Promise<T>((resolve, reject) => this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject }));
  }

  private forget(id: number): void {
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.worker.unref();
  }

  private post(m: ToWorker): void {
    if (!this.dead) this.worker.postMessage(m);
  }

  private call<T>(method: keyof Store, ...args: unknown[]): Promise<T> {
    const id = this.id();
    const answer = this.expect<T>(id);
    this.post({ k: 'call', id, method, args });
    return answer;
  }

  /**
   * A step of this thread's callers (usage reports, confirms, releases,
   * exceptions): its statements cross to the thread as messages. Decisions
   * do not come this way: the thread makes them (decider()). So no prefetch:
   * what a decision's step reads first, the thread reads where it is.
   */
  async withProducts<T>(products: readonly string[] | 'all', fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    const step = this.id();
    const doneId = this.id();
    const begun = this.expect<null>(step);
    const done = this.expect<void>(doneId);
    // A failure before the step's end is reported by `begun` or the step's own reads; `done` then says the same.
    done.catch(() => undefined);
    this.post({ k: 'step', id: step, done: doneId, products });
    await begun;
    // Writes wait here and go with the step's next read or its end: one message (one wake-up of the thread) for many.
    let writes: StepOp[] = [];
    const send = (ops: StepOp[], end?: boolean) => {
      writes = [];
      this.post(end === undefined ? { k: 'ops', step, ops } : { k: 'ops', step, ops, end });
    };
    const read =
      (method: keyof StoreTx) =>
      (...args: unknown[]): Promise<unknown> => {
        const id = this.id();
        const answer = this.expect(id);
        send([...writes, { id, method, args }]);
        return answer;
      };
    const tx = {} as Record<keyof StoreTx, (...args: unknown[]) => Promise<unknown>>;
    for (const [m, kind] of STATEMENTS)
      tx[m] =
        kind === 'read'
          ? read(m)
          : async (...args) => {
              writes.push({ id: 0, method: m, args });
            };
    let value: T;
    try {
      value = await fn(tx as unknown as StoreTx);
    } catch (err) {
      send([], false);
      await done.catch(() => undefined);
      throw err;
    }
    send(writes, true);
    // Answered once the step's group is committed (or with why it was not).
    await done;
    return value;
  }

  /**
   * Makes the thread a deciding ledger too (ledger/thread-decider.ts) and
   * returns how to hand it a decision: one message there, one back.
   */
  async decider(setup: DeciderSetup): Promise<Decide> {
    await this.opened;
    const id = this.id();
    const ready = this.expect<void>(id);
    this.post({ k: 'decider', id, setup });
    await ready;
    return (call) => {
      const id = this.id();
      const answer = this.expect<LedgerDecision>(id);
      this.post({ k: 'decide', id, call });
      return answer;
    };
  }

  async migrate(): Promise<void> {
    await this.opened;
    return this.call('migrate');
  }
  ensureProducts: Store['ensureProducts'] = (ids) => this.call('ensureProducts', ids);
  createToken: Store['createToken'] = (t, actor) => this.call('createToken', t, actor);
  findToken: Store['findToken'] = (hash) => this.call('findToken', hash);
  listTokens: Store['listTokens'] = () => this.call('listTokens');
  revokeToken: Store['revokeToken'] = (id, at, actor) => this.call('revokeToken', id, at, actor);
  listExceptions: Store['listExceptions'] = (states, limit) => this.call('listExceptions', states, limit);
  listFindings: Store['listFindings'] = (limit) => this.call('listFindings', limit);
  findingTotals: Store['findingTotals'] = () => this.call('findingTotals');
  usageHistory: Store['usageHistory'] = (source, limit) => this.call('usageHistory', source, limit);
  listReservations: Store['listReservations'] = (now, states, limit, key) => this.call('listReservations', now, states, limit, key);
  history: Store['history'] = (product, from, to) => this.call('history', product, from, to);
  historyPeaks: Store['historyPeaks'] = (scope, from) => this.call('historyPeaks', scope, from);
  importHistory: Store['importHistory'] = (rows) => this.call('importHistory', rows);
  expire: Store['expire'] = (now) => this.call('expire', now);
  schemaVersion: Store['schemaVersion'] = () => this.call('schemaVersion');
  logRecords: Store['logRecords'] = (fromSeq, limit) => this.call('logRecords', fromSeq, limit);
  logRows: Store['logRows'] = (fromSeq, limit) => this.call('logRows', fromSeq, limit);
  logLines: Store['logLines'] = (fromSeq, limit) => this.call('logLines', fromSeq, limit);
  logDenials: Store['logDenials'] = (beforeSeq, limit, product) => this.call('logDenials', beforeSeq, limit, product);
  searchLog: Store['searchLog'] = (q) => this.call('searchLog', q);
  lastHistoryStep: Store['lastHistoryStep'] = () => this.call('lastHistoryStep');
  historyWindow: Store['historyWindow'] = (scope, from, to) => this.call('historyWindow', scope, from, to);
  logSeqAt: Store['logSeqAt'] = (at) => this.call('logSeqAt', at);
  logHead: Store['logHead'] = () => this.call('logHead');
  checkpoints: Store['checkpoints'] = () => this.call('checkpoints');
  addCheckpoint: Store['addCheckpoint'] = (c) => this.call('addCheckpoint', c);
  pruneLog: Store['pruneLog'] = (through, entry) => this.call('pruneLog', through, entry);
  ping: Store['ping'] = () => this.call('ping');

  async close(): Promise<void> {
    try {
      if (!this.dead) await this.call('close');
    } finally {
      await this.worker.terminate();
    }
  }
}
