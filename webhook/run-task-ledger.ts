// The HCP Terraform run task with a ledger (docs/terraform.md, "With a
// ledger"): the plan's claims are decided by the ledger with the whole
// organisation's usage, and a real run's plan is reserved, by resource
// address, so that the state reported after apply
// (`entitlegate ledger usage put --source terraform:WORKSPACE state.json`)
// settles it. A speculative plan only reads.
import type { Claim } from '../engine/types.ts';
import type { LedgerClient } from '../ledger-client/client.ts';
import type { RunTaskPayload } from './run-task-protocol.ts';
import { resultOf, taskResult, type TaskResult } from './run-task-result.ts';

/** Runs remembered: a run's reservation from its post_plan stage, for its pre_apply stage. */
const RUNS_MAX = 10_000;
/** The task result message HCP Terraform shows (run-task-result.ts cuts there too). */
const MESSAGE_MAX = 500;

interface ReservationView {
  id: string;
  state: string;
  expiresAt: string | null;
}

export class RunTaskLedger {
  readonly client: LedgerClient;
  /** run id → the reservation its plan holds (this replica's memory; another replica reserves again, which only errs on the safe side). */
  readonly #runs = new Map<string, string>();

  constructor(client: LedgerClient) {
    this.client = client;
  }

  /**
   * Decides the plan at the ledger. post_plan of a real run reserves; so does
   * pre_apply when no reservation of the run is known, or it has ended. A
   * pre_apply whose run still holds its post_plan reservation passes without a
   * second one (deciding the same plan again would count it twice). Throws
   * when the ledger cannot be asked: the run task then fails safe.
   */
  async evaluate(payload: RunTaskPayload, claims: Claim[], clock: () => Date): Promise<TaskResult> {
    const run = payload.run_id;
    const reserve = !payload.is_speculative && !!run;
    if (reserve && payload.stage === 'pre_apply') {
      const known = this.#runs.get(run!);
      if (known) {
        const r = await this.client.call<ReservationView>('GET', `/v1/reservations/${encodeURIComponent(known)}`);
        const holds =
          r.state === 'confirmed' || (r.state === 'held' && (r.expiresAt === null || Date.parse(r.expiresAt) > clock().getTime()));
        if (holds) {
          return taskResult(
            'passed',
            `entitlegate: the plan's reservation ${known} at the ledger still holds (${r.state}${r.expiresAt ? ` until ${r.expiresAt}` : ''})`,
          );
        }
        this.#runs.delete(run!);
      }
    }
    const decision = await this.client.decide({ claims, ...(reserve ? { reserve: true } : {}) });
    const result = resultOf(decision, payload.capabilities);
    if (decision.reservation && run) {
      this.#remember(run, decision.reservation.id);
      const source = payload.workspace_name ? `terraform:${payload.workspace_name}` : 'terraform:WORKSPACE';
      const note = `Reserved at the ledger as ${decision.reservation.id} until ${decision.reservation.expiresAt}; the state after apply settles it (entitlegate ledger usage put --source ${source} state.json).`;
      // HCP Terraform shows 500 characters: the decision's message gives way so the reservation id is always shown.
      const head = result.data.attributes.message;
      const room = MESSAGE_MAX - note.length - 1;
      result.data.attributes.message = `${head.length <= room ? head : `${head.slice(0, room - 1)}…`} ${note}`;
    }
    return result;
  }

  #remember(run: string, reservation: string): void {
    this.#runs.delete(run);
    this.#runs.set(run, reservation);
    if (this.#runs.size > RUNS_MAX) this.#runs.delete(this.#runs.keys().next().value!);
  }
}
