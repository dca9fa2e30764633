// Group commit for the embedded store (docs/ledger.md, "How an acknowledged
// step is kept"). The store commits with synchronous=NORMAL: in WAL mode
// SQLite then writes a commit's frames to the -wal file without an fsync (it
// still syncs the WAL before each checkpoint, and the database after it). This
// syncs the -wal file apart, on libuv's pool, off the serialised step: a step
// is answered only once an fsync that *began after its COMMIT* has completed.
// The WAL is append-only and recovery drops any trailing frames without a valid
// commit, so such an fsync covers the step's commit and every commit before
// it; a step decided against an earlier, not yet synced commit is answered
// only after an fsync that covers both. Several steps' commits share one fsync.
import fs from 'node:fs';
import { dirname } from 'node:path';

/** fs.fsync's shape: injectable, so tests can hold or fail it. */
export type Fsync = (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void;

interface Round {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

function round(): Round {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A round nobody waits on (its steps already failed) must not be an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

export class WalSync {
  private fd: number | null = null;
  /** The fsync running now: it began before any commit made since, so those wait for `next`. */
  private running: Round | null = null;
  /** The fsync that starts when `running` ends; every commit made meanwhile waits on it. */
  private next: Round | null = null;
  private failure: Error | null = null;

  /**
   * @param wal the -wal file's path (the database's path + "-wal")
   * @param onFatal called once, when an fsync fails
   */
  private readonly wal: string;
  private readonly fsync: Fsync;
  private readonly onFatal: (err: Error) => void;

  constructor(wal: string, fsync: Fsync = fs.fsync, onFatal: (err: Error) => void = () => undefined) {
    this.wal = wal;
    this.fsync = fsync;
    this.onFatal = onFatal;
  }

  get failed(): Error | null {
    return this.failure;
  }

  /**
   * Resolves once an fsync of the -wal file that began after this call has
   * completed. Call it right after a COMMIT returned. Rejects (as does every
   * later call) once an fsync failed: the kernel may have dropped the dirty
   * pages, and a retried fsync can then succeed without them being on disk.
   */
  afterCommit(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.running) {
      this.next ??= round();
      return this.next.promise;
    }
    const r = round();
    this.start(r);
    return r.promise;
  }

  private start(r: Round): void {
    this.running = r;
    let fd: number;
    try {
      fd = this.open();
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    this.fsync(fd, (err) => {
      if (err) return this.fail(err);
      this.running = null;
      r.resolve();
      const n = this.next;
      this.next = null;
      if (n) this.start(n);
    });
  }

  /**
   * The -wal file's descriptor, opened at the first commit (SQLite creates the
   * file; it keeps its inode while this connection is open: a checkpoint
   * restarts it from its start, or truncates it, in place). The first time,
   * the directory is synced too, so that the file's entry is on disk with it.
   */
  private open(): number {
    if (this.fd !== null) return this.fd;
    const fd = fs.openSync(this.wal, 'r');
    try {
      const dir = fs.openSync(dirname(this.wal), 'r');
      try {
        fs.fsyncSync(dir);
      } finally {
        fs.closeSync(dir);
      }
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    this.fd = fd;
    return fd;
  }

  private fail(cause: Error): void {
    if (this.failure) return;
    this.failure = new Error(`fsync of ${this.wal} failed: ${cause.message}`);
    for (const r of [this.running, this.next]) r?.reject(this.failure);
    this.running = this.next = null;
    this.onFatal(this.failure);
  }

  /** Settles when no fsync is running or due (so the descriptor can be closed). */
  async idle(): Promise<void> {
    while (this.running) await this.running.promise.catch(() => undefined);
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}
