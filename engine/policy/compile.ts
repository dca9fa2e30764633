// Drives the real OPA compiler: builds the built-in rules (plus an
// organisation's own) to WebAssembly against a capabilities file that lists
// exactly the builtins the engine provides, and runs `opa test`.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { EntitlegateError } from '../errors.ts';
import { ENTRYPOINT, packageRoot } from './wasm.ts';

export const OPA_VERSION = 'v1.22.3';

/** Where scripts/ install the pinned tools (scripts/lib.sh): $EG_CACHE, else $XDG_CACHE_HOME/entitlegate, else ~/.cache/entitlegate. */
export function toolCacheDir(): string {
  return process.env.EG_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'entitlegate');
}

/** Why the OPA compiler cannot be used here, or undefined when it can (tests that need it skip with this reason). */
export function opaUnavailable(): string | undefined {
  try {
    findOpa();
    return undefined;
  } catch {
    return 'the OPA compiler is not installed (scripts/install-opa.sh)';
  }
}

/** ENTITLEGATE_OPA, then `opa` on PATH, then the pinned build in the cache. */
export function findOpa(): string {
  const candidates = [
    process.env.ENTITLEGATE_OPA,
    ...(process.env.PATH ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((d) => join(d, 'opa')),
    join(toolCacheDir(), 'go', `opa-${OPA_VERSION}`, 'bin', 'opa'),
  ];
  const found = candidates.find((c) => c && existsSync(c));
  if (!found) {
    throw new EntitlegateError(
      'EG_ERR_OPA_MISSING',
      `the OPA compiler is needed to build or test policies and was not found (looked at $ENTITLEGATE_OPA, opa on PATH, the entitlegate cache); install it with scripts/install-opa.sh or \`go install github.com/open-policy-agent/opa@${OPA_VERSION}\``,
    );
  }
  return found;
}

export function builtinRegoDir(): string {
  return join(packageRoot(), 'policies', 'entitlegate');
}

/** A capabilities document: the compiler's own, with builtins cut to what the engine provides. */
export function capabilities(opa: string): object {
  const current = JSON.parse(execFileSync(opa, ['capabilities', '--current'], { encoding: 'utf8' })) as { builtins: { name: string }[] };
  const provided = JSON.parse(readFileSync(join(packageRoot(), 'policies', 'engine-builtins.json'), 'utf8')) as {
    native: string[];
    javascript: string[];
  };
  const allowed = new Set([...provided.native, ...provided.javascript]);
  return { ...current, builtins: current.builtins.filter((b) => allowed.has(b.name)) };
}

function runOpa(opa: string, args: string[], cwd?: string): { ok: boolean; output: string } {
  const r = spawnSync(opa, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...(cwd ? { cwd } : {}) });
  if (r.error) throw new EntitlegateError('EG_ERR_OPA_MISSING', `cannot run ${opa}: ${r.error.message}`);
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}`.trim() };
}

/** Compiles the built-in rules and `extraDirs` into one policy.wasm at `output`. */
export function buildPolicy(output: string, extraDirs: string[] = []): void {
  const opa = findOpa();
  const work = mkdtempSync(join(tmpdir(), 'entitlegate-build-'));
  try {
    const caps = join(work, 'capabilities.json');
    writeFileSync(caps, JSON.stringify(capabilities(opa)));
    const bundle = join(work, 'bundle.tar.gz');
    // Test files are left out: they are not part of the decision.
    // The built-in rules by a relative path: the compiler records file names in
    // the wasm, and the committed build must not depend on where the clone is.
    const builtin = builtinRegoDir();
    const r = runOpa(
      opa,
      [
        'build',
        '-t',
        'wasm',
        '-e',
        ENTRYPOINT,
        '--capabilities',
        caps,
        '--ignore',
        '*_test.rego',
        '-o',
        bundle,
        basename(builtin),
        ...extraDirs.map((d) => resolve(d)),
      ],
      dirname(builtin),
    );
    if (!r.ok) throw new EntitlegateError('EG_ERR_INPUT_INVALID', `opa build failed:\n${r.output}`);
    execFileSync('tar', ['-xzf', bundle, '-C', work, '/policy.wasm'], { stdio: 'pipe' });
    copyFileSync(join(work, 'policy.wasm'), output);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Runs `opa test` over the built-in rules and `extraDirs`; returns its output. */
export function testPolicy(extraDirs: string[] = [], extraArgs: string[] = []): { ok: boolean; output: string } {
  return runOpa(findOpa(), ['test', ...extraArgs, builtinRegoDir(), ...extraDirs]);
}
