// The package's bin (bundled to dist/bin/entitlegate.js by scripts/bundle-cli.ts).
// It runs the bundled CLI, dist/bin/cli.cjs, as a vm.Script with a V8 code
// cache. Node's own compile cache stores a module's code as compiled before it
// runs, so every function the run needs is still compiled again, lazily, on
// every start: that was about a fifth of a small plan's `check`. A code cache
// taken after the run (Script#createCachedData) holds those functions too.
// One cache file per command is written by that command's first run; V8
// rejects a cache from another V8 version or other flags, and then it is
// written again.
//
// Only Node built-ins here, through process.getBuiltinModule: an ESM import of
// a built-in reads every one of its exports.
const { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } = process.getBuiltinModule('node:fs');
const { Script, constants } = process.getBuiltinModule('node:vm');
const { enableCompileCache, getCompileCacheDir, createRequire, wrap } = process.getBuiltinModule('node:module');
const { dirname, join } = process.getBuiltinModule('node:path');
const { fileURLToPath } = process.getBuiltinModule('node:url');

type Cli = typeof import('./bundle-entry.ts');

/** sha256 (16 hex digits) of the cli.cjs built beside this file, set by scripts/bundle-cli.ts. */
declare const __EG_CLI_BUILD__: string;

/** Short commands, run once per CI step or hook; `serve` and `policy` run long enough not to care. */
const CACHED_COMMANDS = new Set(['check', 'validate', 'report']);

// For the external dependencies `serve` loads from node_modules.
enableCompileCache?.();

/**
 * Where the code cache for `command` lives: beside Node's compile cache (so
 * NODE_COMPILE_CACHE and NODE_DISABLE_COMPILE_CACHE apply), keyed by the
 * bundle's build hash, size and mtime, Node's version and the architecture.
 * V8 checks only its own version, its flags and the source's length, so the
 * key must tell two builds apart. A cache is code that will run: the folders
 * must be this user's and writable by no one else.
 */
function cachePath(file: string, command: string | undefined): string | undefined {
  if (!command || !CACHED_COMMANDS.has(command)) return undefined;
  const base = getCompileCacheDir?.();
  if (!base) return undefined;
  const dir = join(base, 'entitlegate');
  try {
    // Node's folder (NODE_COMPILE_CACHE or its default), its per-version folder and ours.
    if (!private_(dirname(base)) || !private_(base)) return undefined;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!private_(dir)) return undefined;
    const s = statSync(file);
    return join(dir, `cli-${__EG_CLI_BUILD__}-${process.version}-${process.arch}-${s.size}-${Math.trunc(s.mtimeMs)}-${command}.v8cache`);
  } catch {
    return undefined;
  }
}

/** Owned by this user (or root) and writable by no one else. */
function private_(dir: string): boolean {
  const d = statSync(dir);
  const uid = process.getuid?.();
  return (uid === undefined || d.uid === uid || d.uid === 0) && (d.mode & 0o022) === 0;
}

function save(path: string, data: Buffer): void {
  // Written aside and renamed: a concurrent run reads the old file or the new one, never half of one.
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data, { mode: 0o600 });
    renameSync(tmp, path);
    // The same command's caches for earlier builds will not be read again.
    const command = path.slice(path.lastIndexOf('-'));
    for (const old of readdirSync(dirname(path))) {
      if (old.endsWith(command) && join(dirname(path), old) !== path) rmSync(join(dirname(path), old), { force: true });
    }
  } catch {
    // a read-only or full disk costs speed, not the run
  }
}

const file = join(dirname(fileURLToPath(import.meta.url)), 'cli.cjs');
const argv = process.argv.slice(2);
const path = cachePath(file, argv[0]);
let cached: Buffer | undefined;
try {
  if (path) cached = readFileSync(path);
} catch {
  // no cache yet
}
const script = new Script(wrap(readFileSync(file, 'utf8')), {
  filename: file,
  ...(cached ? { cachedData: cached } : {}),
  importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
});
const mod = { exports: {} as Cli };
(script.runInThisContext() as (...args: unknown[]) => void)(mod.exports, createRequire(file), mod, file, dirname(file));
const code = await mod.exports.run(argv, mod.exports.processIo);
if (path && (!cached || script.cachedDataRejected)) save(path, script.createCachedData());
process.exitCode = code;
