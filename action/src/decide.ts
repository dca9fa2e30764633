// Inputs → engine → decision, the same path `entitlegate check` takes, with
// paths read from the workspace and shown relative to it.
import { existsSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadedConfig } from '../../config/load.ts';
import { EntitlegateError } from '../../engine/errors.ts';
import { loadConfig, loadEngine } from '../../config/load.ts';
import { builtinPolicyPath } from '../../engine/policy/wasm.ts';
import type { Decision } from '../../engine/types.ts';
import { claimsFromPaths, type InputWarning } from '../../inputs/read.ts';
import { expandPaths, workspacePath, type ActionInputs } from './inputs.ts';
import type { LedgerDecision } from '../../ledger-client/client.ts';
import { decideAtLedger, ledgerOf } from './ledger.ts';

export interface Decided {
  decision: Decision;
  config: LoadedConfig;
  /** The config file, relative to the workspace. */
  configFile: string;
  inputs: string[];
  /** What a person should know about inputs that were read (the same object twice), files relative to the workspace. */
  warnings: InputWarning[];
  /** With a ledger and `reserve`, the reservation that holds an allowed change. */
  reservation?: NonNullable<LedgerDecision['reservation']>;
}

/**
 * The compiled policy the bundle ships next to itself (action/build.ts copies
 * it into action/dist), else the repository's own (running from source).
 */
export function policyPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const bundled = join(here, 'entitlegate.wasm');
  return existsSync(bundled) ? bundled : builtinPolicyPath();
}

/** Error text with the workspace prefix taken off every path in it. */
export function inWorkspace(workspace: string, text: string): string {
  const prefix = resolve(workspace) + sep;
  return text.split(prefix).join('');
}

export async function decide(inputs: ActionInputs, workspace: string): Promise<Decided> {
  const abs = (p: string) => resolve(workspace, p);
  try {
    const warnings: InputWarning[] = [];
    const warn = (w: InputWarning) => warnings.push(w.file ? { ...w, file: workspacePath(workspace, resolve(workspace, w.file)) } : w);
    const local = loadConfig(abs(inputs.config));
    const ledger = ledgerOf(inputs.ledger, local);
    if (ledger) {
      if (inputs.usage.length)
        throw new EntitlegateError('EG_ERR_USAGE', 'with a ledger the usage comes from the ledger: drop input usage');
      const notInputs = [abs(inputs.config)];
      const files = expandPaths(workspace, inputs.paths, notInputs);
      const { reservation, ...decision } = await decideAtLedger(ledger, files, {
        scope: inputs.scope,
        notInputs,
        warn,
        ...(inputs.mode ? { mode: inputs.mode } : {}),
        reserve: inputs.ledger.reserve,
        ...(inputs.ledger.ttl ? { ttl: inputs.ledger.ttl } : {}),
        ...(inputs.ledger.source ? { source: inputs.ledger.source } : {}),
        shown: (f) => workspacePath(workspace, f),
      });
      return {
        decision,
        config: local,
        configFile: workspacePath(workspace, local.file),
        inputs: files.map((f) => workspacePath(workspace, f)),
        warnings,
        ...(reservation ? { reservation } : {}),
      };
    }
    const { config, engine } = await loadEngine(abs(inputs.config), inputs.usage.map(abs), policyPath());
    const notInputs = [abs(inputs.config), ...inputs.usage.map(abs)];
    const files = expandPaths(workspace, inputs.paths, notInputs);
    // notInputs: a folder named in `paths` may hold the config or a usage snapshot, as with `check`.
    const claims = claimsFromPaths(files, { config: config.config, scope: inputs.scope, notInputs, warn }, () => '');
    for (const c of claims) if (c.resource?.file) c.resource = { ...c.resource, file: workspacePath(workspace, c.resource.file) };
    const decision = engine.decide(claims, inputs.mode ? { now: inputs.now, mode: inputs.mode } : { now: inputs.now });
    return {
      decision,
      config,
      configFile: workspacePath(workspace, config.file),
      inputs: files.map((f) => workspacePath(workspace, f)),
      warnings,
    };
  } catch (err) {
    if (err instanceof EntitlegateError) {
      const problems = err.problems.map((p) => (p.file ? { ...p, file: workspacePath(workspace, resolve(workspace, p.file)) } : p));
      throw new EntitlegateError(err.code, inWorkspace(workspace, err.message), problems);
    }
    throw err;
  }
}
