// Bundles the action into action/dist: index.js (ESM, node24, every dependency
// inlined), entitlegate.wasm (the compiled policy, copied so the bundle does
// not depend on the repository layout around it) and a package.json that
// marks index.js as ESM.
//
//   node action/build.ts           rebuild action/dist
//   node action/build.ts --check   rebuild into a temp folder; fail if action/dist differs
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'action', 'dist');

// Bundled CommonJS packages call require() for Node built-ins; an ESM bundle
// has none unless we make one.
const banner = "import { createRequire as __egCreateRequire } from 'node:module'; const require = __egCreateRequire(import.meta.url);";

// @actions/core's OIDC client (@actions/http-client, undici): the action imports
// @actions/core, whose index re-exports it, but never calls it. Declared free
// of side effects, esbuild drops it (megabytes) while nothing uses its
// exports; if something ever does, it is kept. The Kubernetes adapter's
// Inventory needed the same once; it now imports @kubernetes/client-node as a
// type only (its own list/watch client, kube-client.ts), so a bundle that
// reaches it holds no client-node, and the action does not reach it anyway.
const UNUSED = /[\\/]@actions[\\/]core[\\/]lib[\\/]oidc-utils\.js$/;

const dropUnused: Plugin = {
  name: 'drop-unused',
  setup(b) {
    b.onResolve({ filter: /oidc-utils/ }, async (args) => {
      if (args.pluginData === 'drop-unused') return undefined;
      const r = await b.resolve(args.path, {
        resolveDir: args.resolveDir,
        kind: args.kind,
        importer: args.importer,
        pluginData: 'drop-unused',
      });
      if (r.errors.length || !UNUSED.test(r.path)) return undefined;
      return { path: r.path, sideEffects: false };
    });
  },
};

async function bundle(out: string): Promise<void> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await build({
    absWorkingDir: root,
    entryPoints: ['action/src/index.ts'],
    outfile: join(out, 'index.js'),
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    banner: { js: banner },
    legalComments: 'eof',
    charset: 'utf8',
    logLevel: 'warning',
    plugins: [dropUnused],
  });
  copyFileSync(join(root, 'policies', 'dist', 'entitlegate.wasm'), join(out, 'entitlegate.wasm'));
  // index.js is ESM whatever package.json sits above it (or none).
  writeFileSync(join(out, 'package.json'), '{ "type": "module", "private": true }\n');
}

function files(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

if (process.argv.includes('--check')) {
  const tmp = mkdtempSync(join(tmpdir(), 'entitlegate-action-'));
  try {
    await bundle(tmp);
    const want = files(tmp);
    const have = files(dist);
    const stale = [...new Set([...want, ...have])].filter(
      (f) => !want.includes(f) || !have.includes(f) || !readFileSync(join(tmp, f)).equals(readFileSync(join(dist, f))),
    );
    if (stale.length) {
      console.error(`action/dist is out of date (${stale.join(', ')}); run \`npm run action:build\` and commit action/dist`);
      process.exitCode = 1;
    } else console.log('action/dist is up to date');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
} else {
  await bundle(dist);
  console.log(
    `built ${files(dist)
      .map((f) => `action/dist/${f}`)
      .join(', ')}`,
  );
}
