// `audit verify` hashes every record as JavaScript strings: it allocates fast
// and keeps nothing, yet V8 promotes some of each page to its old generation
// and collects that only when its heuristics say, so peak RSS rose with the
// log (227 MB verifying 1,000,000 records without this, 167 MB with it). A full
// collection now and then keeps it flat. Export needs none: the store writes
// its lines (Store.logLines), one string per page, and its heap stays flat. The CLI cannot pass V8 flags to itself, so the
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
