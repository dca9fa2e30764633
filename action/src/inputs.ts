// The action's inputs (action.yml), read and checked in one place. A wrong
// input is an EntitlegateError like a wrong CLI flag: the step fails with
// the message, nothing is evaluated.
import { type Dirent, readdirSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import * as core from '@actions/core';
import picomatch from 'picomatch';
import { EntitlegateError } from '../../engine/errors.ts';
import { parseNow } from '../../engine/time.ts';
import { SCOPE_DIMENSIONS, type Mode, type Scope } from '../../engine/types.ts';
import { SKIPPED } from '../../inputs/walk.ts';
import type { LedgerInputs } from './ledger.ts';

export interface ActionInputs {
  config: string;
  usage: string[];
  /** Patterns as given, newline or comma separated. */
  paths: string[];
  scope: Scope;
  /** Undefined: the config's `defaults.mode`. */
  mode?: Mode;
  comment: boolean;
  checkRun: boolean;
  token: string;
  /** ENTITLEGATE_NOW (tests, what-if runs); else the clock. Not used with a ledger: it decides at its own clock. */
  now: Date;
  ledger: LedgerInputs;
}

function inputError(message: string): EntitlegateError {
  return new EntitlegateError('EG_ERR_USAGE', message);
}

/** Newline- or comma-separated list, blanks and `#` comments dropped. */
export function listInput(value: string): string[] {
  return value
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s && !s.startsWith('#'));
}

function booleanInput(name: string, fallback: boolean): boolean {
  const raw = core.getInput(name).trim().toLowerCase();
  if (!raw) return fallback;
  if (['true', 'yes', 'on', '1'].includes(raw)) return true;
  if (['false', 'no', 'off', '0'].includes(raw)) return false;
  throw inputError(`input ${name} must be true or false, not "${raw}"`);
}

export function readInputs(env: NodeJS.ProcessEnv = process.env): ActionInputs {
  const config = core.getInput('config').trim();
  if (!config) throw inputError('input config is required: the path of the entitlegate config, relative to the repository root');
  const paths = listInput(core.getInput('paths'));
  if (!paths.length)
    throw inputError('input paths is required: globs of the manifests, plan JSON, cdktf.out folders or claims JSON to check');
  const scope: Scope = {};
  for (const d of SCOPE_DIMENSIONS) {
    const v = core.getInput(d).trim();
    if (v) scope[d] = v;
  }
  const modeRaw = core.getInput('mode').trim();
  if (modeRaw && modeRaw !== 'enforce' && modeRaw !== 'warn') throw inputError(`input mode must be enforce or warn, not "${modeRaw}"`);
  const nowRaw = env.ENTITLEGATE_NOW?.trim();
  let now = new Date();
  if (nowRaw) {
    const parsed = parseNow(nowRaw);
    if (!parsed) throw inputError(`ENTITLEGATE_NOW must be an ISO-8601 instant such as 2026-11-28T10:00:00Z, not "${nowRaw}"`);
    now = parsed;
  }
  const token = core.getInput('github-token').trim();
  if (token) core.setSecret(token);
  const inputs: ActionInputs = {
    config,
    usage: listInput(core.getInput('usage')),
    paths,
    scope,
    comment: booleanInput('comment', true),
    checkRun: booleanInput('check-run', true),
    token,
    now,
    ledger: readLedgerInputs(),
  };
  if (modeRaw) inputs.mode = modeRaw as Mode;
  return inputs;
}

function readLedgerInputs(): LedgerInputs {
  const url = core.getInput('ledger-url').trim();
  const token = core.getInput('ledger-token').trim();
  if (token) core.setSecret(token);
  const ttl = core.getInput('ttl').trim();
  const source = core.getInput('source').trim();
  return {
    reserve: booleanInput('reserve', false),
    ...(source ? { source } : {}),
    ...(url ? { url } : {}),
    ...(token ? { token } : {}),
    ...(ttl ? { ttl } : {}),
  };
}

/** A path as a person reads it in the repository: relative to the workspace, `/`-separated. */
export function workspacePath(workspace: string, path: string): string {
  const rel = relative(workspace, path);
  if (!rel || rel.startsWith('..') || isAbsolute(rel)) return path.split(sep).join('/');
  return rel.split(sep).join('/');
}

/**
 * Workspace paths (files and folders) under `base` that `pattern` matches,
 * hidden ones and node_modules included: `check` on a folder reads those as
 * `kubectl apply -R` applies them, so a glob that passed them by (as
 * fs.globSync does with dot-folders) let `.prod/db.yaml` through uncounted.
 * Only git's own folder is skipped, as in a folder walk. Linked folders are
 * followed, each real folder once.
 */
function globMatches(workspace: string, pattern: string): string[] {
  const isMatch = picomatch(pattern, { dot: true });
  const root = resolve(workspace, picomatch.scan(pattern).base || '.');
  const seen = new Set<string>();
  const out: string[] = [];
  const visit = (dir: string) => {
    let real: string;
    let entries: Dirent[];
    try {
      real = realpathSync(dir);
      if (seen.has(real)) return;
      seen.add(real);
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // an unreadable folder is reported by the walk when a match names it
    }
    for (const e of entries) {
      if (SKIPPED(e.name)) continue;
      const path = join(dir, e.name);
      if (isMatch(workspacePath(workspace, path))) out.push(path);
      let isDir = e.isDirectory();
      if (e.isSymbolicLink()) {
        try {
          isDir = statSync(path).isDirectory();
        } catch {
          isDir = false;
        }
      }
      if (isDir) visit(path);
    }
  };
  visit(root);
  return out;
}

/**
 * Expands the `paths` patterns against the workspace. Plain paths (files or
 * folders) are taken as they are; globs may match files or folders (a cdktf.out
 * folder is one input). `!pattern` excludes. Files inside a matched folder are
 * not read twice, and the config and usage files are never read as inputs.
 * A pattern that matches nothing is an error: a typo must not pass the gate.
 */
export function expandPaths(workspace: string, patterns: readonly string[], exclude: readonly string[] = []): string[] {
  const negated = patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1));
  const isExcluded = negated.length ? picomatch(negated, { dot: true }) : () => false;
  const skip = new Set(exclude.map((p) => resolve(workspace, p)));
  const found: string[] = [];
  for (const pattern of patterns.filter((p) => !p.startsWith('!'))) {
    let matches: string[];
    if (!picomatch.scan(pattern).isGlob) {
      const abs = resolve(workspace, pattern);
      try {
        statSync(abs);
      } catch {
        throw new EntitlegateError('EG_ERR_FILE_NOT_FOUND', `paths: ${pattern}: no such file or folder in the workspace`, [
          { file: pattern, message: 'no such file or folder' },
        ]);
      }
      matches = [abs];
    } else {
      matches = globMatches(workspace, pattern);
      if (!matches.length)
        throw new EntitlegateError('EG_ERR_FILE_NOT_FOUND', `paths: ${pattern} matches no file in the workspace`, [
          { message: `${pattern} matches nothing` },
        ]);
    }
    for (const m of matches) {
      if (skip.has(m) || isExcluded(workspacePath(workspace, m))) continue;
      found.push(m);
    }
  }
  const unique = [...new Set(found)].sort();
  // A folder is read whole; drop what lies inside a folder already taken.
  const folders = unique.filter((p) => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return false; // a dangling link: the walk names it
    }
  });
  return unique.filter((p) => !folders.some((f) => p !== f && p.startsWith(f + sep)));
}
