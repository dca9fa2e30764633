// The main script of the single executable (scripts/build-binary.ts): a Node
// binary with the whole CLI inside as SEA assets, so a runner needs no Node
// and no node_modules, like conftest.
//
// The assets are the CLI bundled with every dependency (cli.cjs), the package
// files it reads at run time (the compiled policy, its Rego sources and
// builtins list, package.json) and a V8 code cache taken at build time after
// representative checks had run. So even the first run on a machine compiles
// almost nothing: the cache holds the functions those runs compiled lazily
// (see cli/launcher.ts for why a cache taken after a run, not Node's own).
//
// The CLI finds policies/ by walking up from its own file to package.json
// (engine/policy/wasm.ts). Those few files are written once per build to a
// folder of this user's cache and the CLI runs as if installed there; the
// JavaScript itself is never written out.
//
// Only Node built-ins here: the SEA's own require loads nothing else.
const sea = process.getBuiltinModule('node:sea');
const { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } = process.getBuiltinModule('node:fs');
const { Script, constants } = process.getBuiltinModule('node:vm');
const { createRequire, isBuiltin, wrap } = process.getBuiltinModule('node:module');
const { homedir, tmpdir } = process.getBuiltinModule('node:os');
const { dirname, join } = process.getBuiltinModule('node:path');

type Cli = typeof import('./bundle-entry.ts');

/** The `manifest.json` asset, written by scripts/build-binary.ts. */
export interface SeaManifest {
  /** sha256 (16 hex digits) of cli.cjs and the package files: the extraction folder's name. */
  build: string;
  /** Package files, as paths relative to the package root; each is an asset of the same name. */
  files: string[];
}

/** Training at build time: run these argument lists in one process, then write the code cache to `out`. */
export interface SeaTraining {
  out: string;
  runs: string[][];
}

/** Owned by this user (or root) and writable by no one else: what is read from it will run. */
function private_(dir: string): boolean {
  const d = statSync(dir);
  const uid = process.getuid?.();
  return (uid === undefined || d.uid === uid || d.uid === 0) && (d.mode & 0o022) === 0;
}

function cacheBases(): string[] {
  const uid = process.getuid?.() ?? 'user';
  const xdg = process.env.XDG_CACHE_HOME;
  const bases = [xdg?.startsWith('/') ? xdg : join(homedir(), '.cache'), join(tmpdir(), `entitlegate-${uid}`)];
  return bases.map((b) => join(b, 'entitlegate'));
}

/** The package root with this build's files in it, written on the first run of this build. */
function packageRoot(manifest: SeaManifest): string {
  const problems: string[] = [];
  for (const base of cacheBases()) {
    const root = join(base, `sea-${manifest.build}`);
    try {
      mkdirSync(base, { recursive: true, mode: 0o700 });
      // Its parent too: whoever can write there can swap our folder for theirs.
      for (const dir of [dirname(base), base]) if (!private_(dir)) throw new Error(`${dir} is not this user's alone`);
      if (existsSync(join(root, '.complete')) && private_(root)) return root;
      // Written aside and renamed: a concurrent first run sees all of it or none.
      const tmp = `${root}.${process.pid}.tmp`;
      rmSync(tmp, { recursive: true, force: true });
      for (const file of manifest.files) {
        mkdirSync(dirname(join(tmp, file)), { recursive: true, mode: 0o700 });
        writeFileSync(join(tmp, file), new Uint8Array(sea.getRawAsset(file)), { mode: 0o600 });
      }
      writeFileSync(join(tmp, '.complete'), '');
      try {
        renameSync(tmp, root);
      } catch (err) {
        // another run finished first: use its folder
        rmSync(tmp, { recursive: true, force: true });
        if (!existsSync(join(root, '.complete'))) throw err;
      }
      return root;
    } catch (err) {
      problems.push(`${base}: ${(err as Error).message}`);
    }
  }
  throw new Error(`entitlegate: no private cache folder to unpack the policy into (${problems.join('; ')})`);
}

/**
 * The require the CLI bundle gets: Node's built-ins as usual; the packages the
 * npm bin loads from node_modules (serve's fastify, prom-client, the
 * Kubernetes client) from the deps.cjs asset, compiled on the first such require.
 */
function bundledRequire(file: string): NodeJS.Require {
  const nodeRequire = createRequire(file);
  let deps: Record<string, () => unknown> | undefined;
  const loadDeps = () => {
    const depsFile = join(dirname(file), 'deps.cjs');
    const mod = { exports: {} as Record<string, () => unknown> };
    const fn = new Script(wrap(sea.getAsset('deps.cjs', 'utf8')), { filename: depsFile }).runInThisContext() as (
      ...args: unknown[]
    ) => void;
    fn(mod.exports, nodeRequire, mod, depsFile, dirname(depsFile));
    return mod.exports;
  };
  const required = (id: string): unknown => {
    if (isBuiltin(id)) return nodeRequire(id);
    deps ??= loadDeps();
    return Object.hasOwn(deps, id) ? deps[id]!() : nodeRequire(id);
  };
  return Object.assign(required, {
    resolve: nodeRequire.resolve,
    cache: nodeRequire.cache,
    main: nodeRequire.main,
    extensions: nodeRequire.extensions,
  });
}

async function main(): Promise<number> {
  const manifest = JSON.parse(sea.getAsset('manifest.json', 'utf8')) as SeaManifest;
  const root = packageRoot(manifest);
  const file = join(root, 'dist', 'bin', 'cli.cjs');
  const training = process.env.ENTITLEGATE_SEA_TRAIN
    ? (JSON.parse(readFileSync(process.env.ENTITLEGATE_SEA_TRAIN, 'utf8')) as SeaTraining)
    : undefined;
  let cachedData: Buffer | undefined;
  if (!training) {
    const raw = sea.getRawAsset('cli.v8cache');
    if (raw.byteLength > 0) cachedData = Buffer.from(raw);
  }
  const script = new Script(wrap(sea.getAsset('cli.cjs', 'utf8')), {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (process.env.ENTITLEGATE_SEA_DEBUG) {
    const state = !cachedData ? 'none' : script.cachedDataRejected ? 'rejected' : 'accepted';
    process.stderr.write(`entitlegate: package files in ${root}; code cache ${state}\n`);
  }
  const mod = { exports: {} as Cli };
  (script.runInThisContext() as (...args: unknown[]) => void)(mod.exports, bundledRequire(file), mod, file, dirname(file));
  if (!training) return mod.exports.run(process.argv.slice(2), mod.exports.processIo);
  const quiet = { ...mod.exports.processIo, stdout: () => {}, stderr: () => {} };
  for (const args of training.runs) await mod.exports.run(args, quiet);
  writeFileSync(training.out, script.createCachedData());
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 2;
  },
);
