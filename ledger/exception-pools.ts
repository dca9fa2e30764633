// Active ledger exceptions as the engine's exception pools: the config's
// exceptions plus these, through the engine's own config path, so they are
// charged, expire and show in decisions (EXCEPTION_APPLIED) exactly as a
// config exception does. The config's digest is kept: the gates' claims are
// made with the config file, not with the exceptions of the day.
import type { LoadedConfig } from '../config/load.ts';
import type { ExceptionGrant } from '../engine/config/schema.ts';
import type { Engine } from '../engine/engine.ts';
import { EntitlegateError } from '../engine/errors.ts';
import { isoInstant } from '../engine/time.ts';
import type { ExceptionRecord } from './store/types.ts';

/** The ids the ledger gives its exceptions; a config may not use them for its own. */
export const LEDGER_EXCEPTION_ID = /^exc-\d+$/;

export function grantOf(x: ExceptionRecord): ExceptionGrant {
  const g: ExceptionGrant = {
    id: x.id,
    product: x.product,
    quantity: x.quantity,
    until: x.until,
    reason: `${x.reason} (${x.ticket})`,
    requestedBy: x.requestedBy,
    approvedBy: x.approvals.map((a) => a.actor).join(', '),
  };
  if (x.activeFrom !== null) g.from = isoInstant(new Date(x.activeFrom));
  if (Object.keys(x.scope).length) g.scope = x.scope;
  return g;
}

export class LedgerExceptions {
  private readonly engine: Engine;
  private readonly config: LoadedConfig;
  private key = '';

  constructor(engine: Engine, config: LoadedConfig) {
    const taken = [...config.config.entitlements, ...config.config.exceptions].find((e) => LEDGER_EXCEPTION_ID.test(e.id));
    if (taken)
      throw new EntitlegateError(
        'EG_ERR_CONFIG_INVALID',
        `${config.file}: the id "${taken.id}" has the form of the ledger's own exceptions (exc-N); rename it`,
      );
    this.engine = engine;
    this.config = config;
  }

  /** Rebuilds the engine's pools when the set of active exceptions changed. */
  apply(active: readonly ExceptionRecord[]): void {
    const key = active.map((x) => `${x.id}:${x.approvals.length}`).join(',');
    if (key === this.key) return;
    const c = this.config.config;
    this.engine.setConfig({ ...this.config, config: { ...c, exceptions: [...c.exceptions, ...active.map(grantOf)] } });
    this.key = key;
  }
}
