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
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { packageRoot } from '../engine/policy/wasm.ts';

const INLINED = new Set(['zod', 'yaml', '@open-policy-agent/opa-wasm', 'picomatch']);

// Bundled CommonJS packages may call require() themselves; an ESM bundle has
// none unless we make one.
const banner = "const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);";

// Node built-ins through process.getBuiltinModule, not `import`. An ESM
// import of a built-in builds its ESM facade, which reads every export,
// lazy getters included: `node:fs` then loads all of streams (ReadStream),
// `node:crypto` WebCrypto, and yaml's require('process') the stdin and stdout
// getters. That was 15 ms of a 100 ms `check`. Each imported built-in becomes
// a small ES module over the very object Node has; its exports are marked
// pure, so the bundle keeps (and reads) only the names the code imports.
const builtinsAsIs: Plugin = {
  name: 'builtins-as-is',
  setup(b) {
    const names = new Set(builtinModules.filter((m) => !m.startsWith('_')));
    b.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
      const name = args.path.replace(/^node:/, '');
      if (!args.path.startsWith('node:') && !names.has(name)) return undefined;
      // A require() gets the object itself: through an ES module, every export would be read.
      return { path: `node:${name}`, namespace: args.kind === 'require-call' ? 'builtin-cjs' : 'builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'builtin-cjs' }, (args) => ({ contents: `module.exports = process.getBuiltinModule(${JSON.stringify(args.path)});`, loader: 'js' }));
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => {
      const keys = Object.keys(process.getBuiltinModule(args.path) as object).filter((key) => /^[A-Za-z_$][\w$]*$/.test(key) && key !== 'default');
      const contents = [
        `const __egBuiltin = process.getBuiltinModule(${JSON.stringify(args.path)});`,
        'const __egGet = (key) => __egBuiltin[key];',
        'export default __egBuiltin;',
        ...keys.map((key) => `export const ${key} = /* @__PURE__ */ __egGet(${JSON.stringify(key)});`),
      ].join('\n');
      return { contents, loader: 'js' };
    });
  },
};

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
    // No comments, and strings escaped to ASCII (esbuild's default charset):
    // Node decodes a source file with any non-ASCII byte on its slow UTF-8
    // path, 2 ms for the check chunk. Names stay; the source map maps back.
    minifyWhitespace: true,
    legalComments: 'eof',
    logLevel: 'warning',
    plugins: [builtinsAsIs],
  });
  return join(outdir, 'entitlegate.js');
}

if (import.meta.main) await bundleCli();
