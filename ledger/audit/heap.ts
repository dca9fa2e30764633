// Long reads (verify, export of millions of records) allocate fast and keep
// nothing, yet V8 grows its heap with the allocation rate: peak RSS rose with
// the log's length (268 MB exporting 1,000,000 records). A full collection
// now and then keeps it flat. The CLI cannot pass V8 flags to itself, so the
// collector is reached the documented way V8 exposes it (--expose-gc, set at
// run time, then `gc` from a fresh context); where that fails, nothing happens.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | null | undefined;

function collector(): (() => void) | null {
  if (collect !== undefined) return collect;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    collect = typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    collect = null;
  }
  return collect;
}

/** Called once per record read: a full collection every `every` records. */
export function heapKeeper(every = 100_000): () => void {
  let n = 0;
  return () => {
    if (++n % every === 0) collector()?.();
  };
}
