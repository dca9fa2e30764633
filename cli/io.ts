// What the CLI touches of the outside world, injectable for tests.
import { readFileSync } from 'node:fs';

export interface Io {
  stdout(text: string): void;
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

export const processIo: Io = {
  stdout: writeStdout,
  stderr: (t) => process.stderr.write(t),
  readStdin: () => readFileSync(0),
  clock: () => new Date(),
};
