// The embedded store's thread (sqlite-thread.ts): owns the connection and runs
// the SqliteStore, so its commits (an fsync each) and its SQL run beside the
// server's event loop. It also decides (ledger/thread-decider.ts): a decision
// comes as one message and is decided, written and committed here. Any other
// step's callback lives on the server's side: its statements come here as
// messages, in order, and run inside the step's savepoint of the group's
// transaction, as in-process (sqlite.ts, drain).
import { parentPort } from 'node:worker_threads';
import { ThreadDecider } from '../thread-decider.ts';
import { SqliteStore } from './sqlite.ts';
import { type FromWorker, type StepOp, type ToWorker, toWire } from './sqlite-thread.ts';
import type { StoreTx } from './types.ts';

type Op = StepOp | { end: boolean };

interface Step {
  ops: Op[];
  wake: (() => void) | null;
  /** The step's start was answered (else a failure before it, such as BEGIN's, answers it). */
  begun: boolean;
}

const port = parentPort!;
let store: SqliteStore | undefined;
let openError: unknown;
let decider: ThreadDecider | undefined;
const steps = new Map<number, Step>();

const answer = (m: FromWorker) => port.postMessage(m);
const fail = (id: number, err: unknown) => answer({ id, ok: false, error: toWire(err) });

async function nextOp(step: Step): Promise<Op> {
  while (step.ops.length === 0) await new Promise<void>((r) => (step.wake = r));
  return step.ops.shift()!;
}

/** Runs one step's statements as they come, until its end; a write that failed fails the step there. */
async function runStep(m: Extract<ToWorker, { k: 'step' }>, tx: StoreTx, step: Step): Promise<void> {
  step.begun = true;
  answer({ id: m.id, ok: true, value: null });
  let failed: unknown;
  for (;;) {
    const op = await nextOp(step);
    if ('end' in op) {
      if (failed !== undefined) throw failed;
      if (!op.end) throw new Error('the step failed on the server side');
      return;
    }
    if (failed !== undefined) {
      if (op.id) fail(op.id, failed);
      continue;
    }
    try {
      const value = await (tx[op.method] as (...a: unknown[]) => Promise<unknown>)(...op.args);
      if (op.id) answer({ id: op.id, ok: true, value });
    } catch (err) {
      failed = err;
      if (op.id) fail(op.id, err);
    }
  }
}

port.on('message', (m: ToWorker) => {
  switch (m.k) {
    case 'open':
      try {
        store = new SqliteStore(m.file);
        answer({ id: m.id, ok: true, value: null });
      } catch (err) {
        openError = err;
        fail(m.id, err);
      }
      return;
    case 'call': {
      if (!store) return fail(m.id, openError);
      const s = store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
      s[m.method]!.apply(store, m.args).then(
        (value) => answer({ id: m.id, ok: true, value }),
        (err: unknown) => fail(m.id, err),
      );
      return;
    }
    case 'step': {
      if (!store) {
        fail(m.id, openError);
        return fail(m.done, openError);
      }
      const step: Step = { ops: [], wake: null, begun: false };
      steps.set(m.id, step);
      store
        .withProducts(m.products, (tx) => runStep(m, tx, step))
        .then(
          () => answer({ id: m.done, ok: true, value: null }),
          (err: unknown) => {
            if (!step.begun) fail(m.id, err);
            fail(m.done, err);
          },
        )
        .finally(() => steps.delete(m.id));
      return;
    }
    case 'decider':
      if (!store) return fail(m.id, openError);
      try {
        decider = new ThreadDecider(store, m.setup);
        answer({ id: m.id, ok: true, value: null });
      } catch (err) {
        fail(m.id, err);
      }
      return;
    case 'decide':
      if (!decider) return fail(m.id, new Error('the store thread was not made a deciding ledger'));
      decider.decide(m.call).then(
        (value) => answer({ id: m.id, ok: true, value }),
        (err: unknown) => fail(m.id, err),
      );
      return;
    case 'ops': {
      const step = steps.get(m.step);
      if (!step) return;
      step.ops.push(...m.ops);
      if (m.end !== undefined) step.ops.push({ end: m.end });
      step.wake?.();
      step.wake = null;
      return;
    }
  }
});
