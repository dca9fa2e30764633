// The embedded ledger's decisions, made in its store's thread (docs/ledger.md,
// "Choosing the embedded store"). The server's thread parses, authenticates and
// answers; it hands each decision over in one message. Here a Ledger over the
// thread's own connection batches, decides, writes and commits, so a step
// holds the connection for its own work only, never waiting on the server's
// busy event loop between its reads and its writes. It is one more Ledger on
// the same store, as a second replica is on PostgreSQL: it re-reads usage and
// exceptions whenever a step of the server's (a report, an approval) changed
// them, under the same serialised steps.
import type { LoadedConfig } from '../config/load.ts';
import { Engine } from '../engine/engine.ts';
import { CompiledPolicy } from '../engine/policy/wasm.ts';
import { Ledger, type LedgerDecision } from './ledger.ts';
import type { DecisionRequest } from './requests.ts';
import type { Actor, Store } from './store/types.ts';

/** What the thread decides with: the server's loaded config, and its policy module as loaded (the thread reads no file). */
export interface DeciderSetup {
  config: LoadedConfig;
  policy: { path: string; bytes: Uint8Array };
}

/** One decision handed over; `at`: the server's clock when the request reached the ledger. */
export interface DecideCall {
  req: DecisionRequest;
  actor: Actor;
  client: string | undefined;
  at: number;
}

export type Decide = (call: DecideCall) => Promise<LedgerDecision>;

export class ThreadDecider {
  private readonly ledger: Ledger;
  /**
   * The server's clock as of the newest request: the thread has no clock of
   * its own, so a server's injected clock (the tests') decides here too. A
   * step's time is then its newest request's arrival, earlier than the step
   * by that request's wait in the queue: a reservation due to expire
   * meanwhile still counts (the safe side), as when the server takes its time
   * before the locks.
   */
  private at = 0;

  constructor(store: Store, setup: DeciderSetup) {
    const engine = new Engine(CompiledPolicy.fromBytes(setup.policy.path, setup.policy.bytes), setup.config);
    this.ledger = new Ledger({ store, engine, config: setup.config, clock: () => new Date(this.at) });
  }

  decide(call: DecideCall): Promise<LedgerDecision> {
    this.at = call.at;
    return this.ledger.decide(call.req, call.actor, call.client);
  }
}
