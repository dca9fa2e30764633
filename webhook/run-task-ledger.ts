// The HCP Terraform run task with a ledger (docs/terraform.md, "With a
// ledger"): the plan's claims are decided by the ledger with the whole
// organisation's usage, and a real run's plan is reserved, by resource
// address within its workspace (`terraform:ORG/WORKSPACE/ADDRESS`), so that
// the state reported after apply
// (`entitlegate ledger usage put --source terraform:ORG/WORKSPACE state.json`)
// settles it. A speculative plan only reads. The run's reservation is named
// `run-task:<run id>` at the ledger, so whichever replica gets a later stage
// finds it there: nothing is kept in this process.
import { EntitlegateError } from '../engine/errors.ts';
import type { Claim } from '../engine/types.ts';
import { claimsOfSource, type LedgerClient } from '../ledger-client/client.ts';
import type { RunTaskPayload } from './run-task-protocol.ts';
import { resultOf, taskResult, type TaskResult } from './run-task-result.ts';

/** The task result message HCP Terraform shows (run-task-result.ts cuts there too). */
const MESSAGE_MAX = 500;

interface ReservationView {
  id: string;
  state: string;
  expiresAt: string | null;
}

/**
 * The ledger source of the run's workspace: `terraform:ORG/WORKSPACE` (workspace
 * names are unique within an organisation only). Its state after apply is
 * reported under this name, and the plan's resource ids carry it.
 */
export function runTaskSource(payload: Pick<RunTaskPayload, 'organization_name' | 'workspace_name'>): string | undefined {
  if (!payload.workspace_name) return undefined;
  return payload.organization_name
    ? `terraform:${payload.organization_name}/${payload.workspace_name}`
    : `terraform:${payload.workspace_name}`;
}

/** The run's reservation key at the ledger: the same for every stage of the run, on every replica. */
export function runTaskKey(runId: string): string {
  return `run-task:${runId}`;
}

export class RunTaskLedger {
  readonly client: LedgerClient;

  constructor(client: LedgerClient) {
    this.client = client;
  }

  /**
   * Decides the plan at the ledger. post_plan of a real run reserves under the
   * run's key; so does pre_apply when the run holds no reservation any more
   * (it ended). A pre_apply whose run still holds one passes on it: deciding
   * the same plan again would count it twice. A stage sent twice, or to two
   * replicas, gets the run's one reservation back from the ledger. Throws when
   * the ledger cannot be asked: the run task then fails safe.
   */
  async evaluate(payload: RunTaskPayload, claims: Claim[], _clock: () => Date): Promise<TaskResult> {
    const run = payload.run_id;
    const reserve = !payload.is_speculative && !!run;
    const source = runTaskSource(payload);
    if (reserve && !source)
      throw new EntitlegateError(
        'EG_ERR_INPUT_INVALID',
        'the run task request names no workspace (workspace_name), so its plan cannot be reserved at the ledger: no state report could settle it. Nothing was reserved',
      );
    const key = run ? runTaskKey(run) : undefined;
    if (reserve && payload.stage === 'pre_apply') {
      const { reservations } = await this.client.call<{ reservations: ReservationView[] }>(
        'GET',
        `/v1/reservations?key=${encodeURIComponent(key!)}&state=held,confirmed&limit=1`,
      );
      const r = reservations[0];
      if (r) {
        return taskResult(
          'passed',
          `entitlegate: the plan's reservation ${r.id} at the ledger still holds (${r.state}${r.expiresAt ? ` until ${r.expiresAt}` : ''})`,
        );
      }
    }
    const asLedgerSees = source ? claimsOfSource(claims, source) : claims;
    const decision = await this.client.decide({ claims: asLedgerSees, ...(reserve ? { reserve: true, reservationKey: key! } : {}) });
    const result = resultOf(decision, payload.capabilities);
    if (decision.reservation && run) {
      const r = decision.reservation;
      const until = r.expiresAt ? ` until ${r.expiresAt}` : '';
      const note = `${r.reused ? 'The run already holds reservation' : 'Reserved at the ledger as'} ${r.id}${until}; the state after apply settles it (entitlegate ledger usage put --source ${source} state.json).`;
      // HCP Terraform shows 500 characters: the decision's message gives way so the reservation id is always shown.
      const head = result.data.attributes.message;
      const room = MESSAGE_MAX - note.length - 1;
      result.data.attributes.message = `${head.length <= room ? head : `${head.slice(0, room - 1)}…`} ${note}`;
    }
    return result;
  }
}
