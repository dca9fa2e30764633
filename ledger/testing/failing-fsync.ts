// Preloaded into a ledger process by tests (node --import): from the moment the
// file named by EG_TEST_FSYNC_FAIL exists, an fsync of the embedded store's
// -wal file fails with EIO, as a failing disk's would. The store takes
// fs.fsync when it opens, in whichever thread it runs (preloads run in workers too).
import fs from 'node:fs';

const flag = process.env.EG_TEST_FSYNC_FAIL;
const real = fs.fsync;

fs.fsync = ((fd: number, done: (err: NodeJS.ErrnoException | null) => void) => {
  let wal = false;
  try {
    wal = fs.readlinkSync(`/proc/self/fd/${fd}`).endsWith('-wal');
  } catch {}
  if (flag && wal && fs.existsSync(flag)) {
    const err: NodeJS.ErrnoException = new Error('EIO: i/o error, fsync');
    err.code = 'EIO';
    setImmediate(() => done(err));
    return;
  }
  real(fd, done);
}) as typeof fs.fsync;
