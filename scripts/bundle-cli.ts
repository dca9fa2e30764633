// Bundles the CLI into dist/bin (the package's `bin`):
//   cli.cjs         the whole CLI, one CommonJS file;
//   entitlegate.js  the launcher (cli/launcher.ts), which runs cli.cjs with a
//                   V8 code cache taken after the command's first run;
//   sqlite-worker.js the embedded store's thread, started by `ledger serve`.
//
// Why a bundle: `entitlegate check` is one short process per CI run or
// pre-apply hook, and loading ~200 separate ES modules (resolution, package.json
// lookups, one compile each) was a third of a small plan's wall time.
// Why CommonJS: a vm.Script (a classic script) is what can take a code cache
// made after it ran, which holds the functions compiled lazily during the run
// (see cli/launcher.ts); a CommonJS require() of a Node built-in is also just
// the object, where an ESM import builds a facade that reads every export.
// The webhook's modules are in the same file but only evaluated by `serve`.
//
// Only the libraries on the check path are inlined. Every other dependency
// (fastify, pino, prom-client, @kubernetes/client-node, the optional cdktf
// peers) stays external and loads from node_modules as usual, so `serve`
// runs exactly the packages npm installed.
//
//   node scripts/bundle-cli.ts     (run by `npm run build`, after tsc)
import { createHash } from 'node:crypto';
import { chmodSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { packageRoot } from '../engine/policy/wasm.ts';

const INLINED = new Set(['zod', 'yaml', '@open-policy-agent/opa-wasm', 'picomatch']);

export async function bundleCli(root = packageRoot(), outdir = join(root, 'dist', 'bin')): Promise<string> {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
  const external = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})].filter(
    (name) => !INLINED.has(name),
  );
  rmSync(outdir, { recursive: true, force: true });
  // No comments, and strings escaped to ASCII (esbuild's default charset):
  // Node decodes a source with any non-ASCII byte on its slow UTF-8 path.
  // Names stay; the source map maps back.
  const common = {
    absWorkingDir: root,
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node22',
    minifyWhitespace: true,
    logLevel: 'warning',
  } as const;
  await build({
    ...common,
    entryPoints: { cli: 'cli/bundle-entry.ts' },
    outExtension: { '.js': '.cjs' },
    format: 'cjs',
    external: [...external, ...external.map((name) => `${name}/*`)],
    // The sources find the package (policies/, schema/) from import.meta.url.
    define: { 'import.meta.url': '__egImportMetaUrl' },
    banner: { js: "const __egImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    sourcemap: 'linked',
    legalComments: 'eof',
  });
  // The embedded store's worker thread (ledger/store/sqlite-thread.ts), which
  // `ledger serve` starts from the file beside cli.cjs: one module of its own.
  await build({
    ...common,
    entryPoints: { 'sqlite-worker': 'ledger/store/sqlite-worker.ts' },
    format: 'esm',
    external: [...external, ...external.map((name) => `${name}/*`)],
  });
  // The launcher keys its code cache by this build of cli.cjs: npm gives installed
  // files one fixed mtime, and V8 itself only compares the source's length.
  const cliHash = createHash('sha256')
    .update(readFileSync(join(outdir, 'cli.cjs')))
    .digest('hex')
    .slice(0, 16);
  await build({
    ...common,
    entryPoints: { entitlegate: 'cli/launcher.ts' },
    format: 'esm',
    banner: { js: '#!/usr/bin/env node' },
    define: { __EG_CLI_BUILD__: JSON.stringify(cliHash) },
  });
  const bin = join(outdir, 'entitlegate.js');
  chmodSync(bin, 0o755);
  return bin;
}

if (import.meta.main) await bundleCli();
