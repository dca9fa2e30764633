// Builds the single executable for this platform (linux-x64 in CI): Node's
// single executable applications, the blob injected with postject (Node 24 has
// no `--build-sea` yet). Needs no Node on the machine that runs it.
//
//   node scripts/build-binary.ts [--out dist/sea/entitlegate-linux-x64]
//
// 1. The npm bin's bundle of the CLI (scripts/bundle-cli.ts), and the
//    dependencies it loads from node_modules bundled into a second file (a
//    binary has no node_modules); cli/sea-launcher.ts is the SEA's main script.
// 2. Assets: that bundle, the package files the CLI reads (policy .wasm, its
//    Rego sources and builtins list, package.json, the dashboard's page and
//    uPlot), the embedded store's
//    worker thread (started from its code) and a manifest. The
//    instance-type table is imported as JSON, so it is inside the bundle.
// 3. A first binary is run on representative checks (a generated 1,000-change
//    plan, the Kubernetes example) and writes the V8 code cache of everything
//    they compiled; the final binary carries that cache as an asset, so its
//    first run on a machine compiles almost nothing. Built and trained by the
//    same Node binary, so V8's version and flags match.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { isBuiltin } from 'node:module';
import { build } from 'esbuild';
import { generatePlan } from '../adapters/terraform/generate-plan.ts';
import type { SeaManifest, SeaTraining } from '../cli/sea-launcher.ts';
import { packageRoot } from '../engine/policy/wasm.ts';
import { SEA_WORKER_ASSET } from '../ledger/store/sqlite-thread.ts';
import { bundleCli } from './bundle-cli.ts';

const SENTINEL = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

function versions(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(join(root, 'scripts', 'versions.env'), 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(\S+)/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): void {
  // Their output goes to stderr: stdout is the binary's path alone (`$(node scripts/build-binary.ts)`).
  const r = spawnSync(cmd, args, { stdio: ['ignore', 2, 2], ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}`);
}

/** The package files the bundled CLI reads at run time, relative to the package root. */
function packageFiles(root: string): string[] {
  const rego = readdirSync(join(root, 'policies', 'entitlegate'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.rego') && !e.name.endsWith('_test.rego'))
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .sort();
  // The dashboard's page, and uPlot where ledger/dashboard/ui-files.ts resolves it from (as in an npm install).
  const ui = readdirSync(join(root, 'ledger', 'dashboard', 'ui')).map((f) => `ledger/dashboard/ui/${f}`);
  const uplot = ['package.json', 'dist/uPlot.iife.min.js', 'dist/uPlot.min.css'].map((f) => `node_modules/uplot/${f}`);
  return ['package.json', 'policies/dist/entitlegate.wasm', 'policies/engine-builtins.json', ...rego, ...ui.sort(), ...uplot];
}

export async function buildBinary(
  root = packageRoot(),
  out = join(root, 'dist', 'sea', `entitlegate-${process.platform}-${process.arch}`),
) {
  const work = join(root, 'dist', 'sea', 'work');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
  const common = { absWorkingDir: root, bundle: true, platform: 'node', target: 'node24', format: 'cjs', logLevel: 'warning' } as const;
  // The npm bin's own bundle, as is; what it loads from node_modules (serve's
  // fastify, prom-client, the Kubernetes client) goes in a second asset,
  // compiled only by the commands that require it: a check reads, compiles and
  // caches a 0.6 MB script, not the 4 MB of everything.
  await bundleCli(root, join(work, 'bin'));
  copyFileSync(join(work, 'bin', 'cli.cjs'), join(work, 'cli.cjs'));
  const peers = new Set(Object.keys(pkg.peerDependencies ?? {}));
  const external = [...new Set([...readFileSync(join(work, 'cli.cjs'), 'utf8').matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]!))]
    .filter((id) => !isBuiltin(id) && !peers.has(id))
    .sort();
  writeFileSync(
    join(work, 'deps-entry.cjs'),
    `module.exports = {\n${external.map((id) => `  ${JSON.stringify(id)}: () => require(${JSON.stringify(id)}),`).join('\n')}\n};\n`,
  );
  // Only the optional cdktf peers stay out: the binary reads plans and cdk.tf.json, it never synthesises.
  await build({
    ...common,
    entryPoints: [join(work, 'deps-entry.cjs')],
    outfile: join(work, 'deps.cjs'),
    minifyWhitespace: true,
    external: [...peers],
  });
  await build({ ...common, entryPoints: ['cli/sea-launcher.ts'], outfile: join(work, 'main.cjs') });
  // The embedded store's thread: `ledger serve` starts it from this asset's code (a binary has no file beside it).
  // In a function of its own: a worker's eval'd code is a script, whose top-level
  // names are globals, and a bundled `crypto` then hits Node's getter-only global.
  await build({
    ...common,
    format: 'iife',
    entryPoints: ['ledger/store/sqlite-worker.ts'],
    outfile: join(work, SEA_WORKER_ASSET),
    minifyWhitespace: true,
  });

  const files = packageFiles(root);
  const hash = createHash('sha256').update(readFileSync(join(work, 'cli.cjs')));
  for (const f of files) hash.update(f).update(readFileSync(join(root, f)));
  const manifest: SeaManifest = { build: hash.digest('hex').slice(0, 16), files };
  writeFileSync(join(work, 'manifest.json'), JSON.stringify(manifest));

  const postject = versions(root).POSTJECT_VERSION;
  if (!postject) throw new Error('scripts/versions.env has no POSTJECT_VERSION');
  const blobBinary = (cache: string, target: string) => {
    const assets: Record<string, string> = {
      'cli.cjs': join(work, 'cli.cjs'),
      'deps.cjs': join(work, 'deps.cjs'),
      'manifest.json': join(work, 'manifest.json'),
      'cli.v8cache': cache,
      [SEA_WORKER_ASSET]: join(work, SEA_WORKER_ASSET),
    };
    for (const f of files) assets[f] = join(root, f);
    const config = join(work, 'sea-config.json');
    const blob = join(work, 'sea.blob');
    writeFileSync(config, JSON.stringify({ main: join(work, 'main.cjs'), output: blob, disableExperimentalSEAWarning: true, assets }));
    run(process.execPath, ['--experimental-sea-config', config], { cwd: work });
    copyFileSync(process.execPath, target);
    chmodSync(target, 0o755);
    // Node's official binary carries its symbols and debug info: 18 of its 127 MB.
    if (spawnSync('strip', ['--version'], { stdio: 'ignore' }).status === 0) run('strip', ['--strip-all', target]);
    run(
      'npm',
      ['exec', '--yes', `--package=postject@${postject}`, '--', 'postject', target, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SENTINEL],
      {
        cwd: work,
      },
    );
  };

  // A first binary, without a code cache, trains one.
  const empty = join(work, 'empty.v8cache');
  writeFileSync(empty, '');
  const trainer = join(work, 'trainer');
  blobBinary(empty, trainer);
  const plan = join(work, 'plan.json');
  writeFileSync(plan, generatePlan(1_000));
  const fix = join(root, 'bench', 'fixtures', 'terraform');
  const training: SeaTraining = {
    out: join(work, 'cli.v8cache'),
    runs: [
      ['check', plan, '--config', join(fix, 'entitlegate.yaml'), '--usage', join(fix, 'usage.yaml'), '--format', 'json'],
      ['check', plan, '--config', join(fix, 'entitlegate.yaml'), '--usage', join(fix, 'usage.yaml')],
      [
        'check',
        join(root, 'examples', 'manifests'),
        '--config',
        join(root, 'examples', 'entitlegate.yaml'),
        '--usage',
        join(root, 'examples', 'usage.yaml'),
      ],
      ['validate', '--config', join(root, 'examples', 'entitlegate.yaml')],
    ],
  };
  writeFileSync(join(work, 'training.json'), JSON.stringify(training));
  run(trainer, [], { env: { ...process.env, ENTITLEGATE_SEA_TRAIN: join(work, 'training.json'), XDG_CACHE_HOME: join(work, 'cache') } });

  mkdirSync(join(out, '..'), { recursive: true });
  blobBinary(training.out, out);
  rmSync(work, { recursive: true, force: true });
  return { path: out, bytes: statSync(out).size, cacheBytes: statSync(training.out, { throwIfNoEntry: false })?.size };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const r = await buildBinary(packageRoot(), values.out);
  process.stdout.write(`${r.path}\n`);
}
