// Bundles the CLI into dist/bin (the package's `bin`): entitlegate.js plus
// the chunks it loads on demand.
//
// Why a bundle: `entitlegate check` is one short process per CI run or
// pre-apply hook, and loading ~200 separate ES modules (resolution, package.json
// lookups, one compile each) was a third of a small plan's wall time. One
// file per command path loads in a fraction of that; `serve` stays its own
// chunk, so `check` never parses the webhook.
//
// Only the libraries on the check path are inlined. Every other dependency
// (fastify, pino, prom-client, @kubernetes/client-node, the optional cdktf
// peers) stays external and loads from node_modules as usual, so `serve`
// runs exactly the packages npm installed.
//
//   node scripts/bundle-cli.ts     (run by `npm run build`, after tsc)
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { packageRoot } from '../engine/policy/wasm.ts';

const INLINED = new Set(['zod', 'yaml', '@open-policy-agent/opa-wasm', 'picomatch']);

// Bundled CommonJS packages call require() for Node built-ins; an ESM bundle
// has none unless we make one.
const banner = "import { createRequire as __egCreateRequire } from 'node:module'; const require = __egCreateRequire(import.meta.url);";

export async function bundleCli(root = packageRoot(), outdir = join(root, 'dist', 'bin')): Promise<string> {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
  const external = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})].filter((name) => !INLINED.has(name));
  rmSync(outdir, { recursive: true, force: true });
  await build({
    absWorkingDir: root,
    entryPoints: { entitlegate: 'cli/main.ts' },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    external: [...external, ...external.map((name) => `${name}/*`)],
    banner: { js: banner },
    sourcemap: 'linked',
    legalComments: 'eof',
    charset: 'utf8',
    logLevel: 'warning',
  });
  return join(outdir, 'entitlegate.js');
}

if (import.meta.main) await bundleCli();
