// Inputs → engine → decision, the same path `entitlegate check` takes, with
// paths read from the workspace and shown relative to it.
import { existsSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadedConfig } from '../../config/load.ts';
import { EntitlegateError } from '../../engine/errors.ts';
import { loadEngine } from '../../config/load.ts';
import { builtinPolicyPath } from '../../engine/policy/wasm.ts';
import type { Decision } from '../../engine/types.ts';
import { claimsFromPaths, type InputWarning } from '../../inputs/read.ts';
import { expandPaths, workspacePath, type ActionInputs } from './inputs.ts';

export interface Decided {
  decision: Decision;
  config: LoadedConfig;
  /** The config file, relative to the workspace. */
  configFile: string;
  inputs: string[];
  /** What a person should know about inputs that were read (the same object twice), files relative to the workspace. */
  warnings: InputWarning[];
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
    const { config, engine } = await loadEngine(abs(inputs.config), inputs.usage.map(abs), policyPath());
    const notInputs = [abs(inputs.config), ...inputs.usage.map(abs)];
    const files = expandPaths(workspace, inputs.paths, notInputs);
    const warnings: InputWarning[] = [];
    const warn = (w: InputWarning) => warnings.push(w.file ? { ...w, file: workspacePath(workspace, resolve(workspace, w.file)) } : w);
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
