// What the CLI touches of the outside world, injectable for tests.
import { readFileSync } from 'node:fs';

export interface Io {
  stdout(text: string): void;
  /** Resolves once stdout has taken what was written (a long writer, such as audit export, waits on a slow reader). */
  drained?(): Promise<void>;
  stderr(text: string): void;
  /** Bytes, so that the input's own encoding (a BOM, UTF-16) decides how it is read. */
  readStdin(): string | Uint8Array;
  clock(): Date;
}

// A reader that stops early (`entitlegate check … | head`) closes the pipe;
// that is not our failure, and the exit code still says allowed or blocked.
let stdoutWatched = false;
let stdoutClosed = false;
function writeStdout(text: string): void {
  if (stdoutClosed) return;
  if (!stdoutWatched) {
    stdoutWatched = true;
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      stdoutClosed = true;
    });
  }
  process.stdout.write(text);
}

/** A pipe to a slow reader fills (asynchronous pipes: macOS); until it drains, a writer that waits here writes no more. */
function stdoutDrained(): Promise<void> {
  const out = process.stdout;
  if (stdoutClosed || !out.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done).off('close', done).off('error', done);
      resolve();
    };
    out.on('drain', done).on('close', done).on('error', done);
  });
}

export const processIo: Io = {
  stdout: writeStdout,
  drained: stdoutDrained,
  stderr: (t) => process.stderr.write(t),
  readStdin: () => readFileSync(0),
  clock: () => new Date(),
};
