// The npm package as a user gets it: `npm pack`, installed into an empty
// project, its bin run through npx and its library imported and typechecked
// by tsc. Dependencies come from npm's cache when the repo's own install has
// filled it (--prefer-offline), else from the registry.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_CHECK, ROOT } from './cli-harness.ts';

interface PackResult {
  filename: string;
  files: { path: string }[];
}

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let dir: string;
let project: string;
let packed: PackResult;

function sh(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  // `npm test` has just built dist/; a lone run of this file builds it first.
  if (!existsSync(join(ROOT, 'dist', 'engine', 'index.d.ts'))) expect(sh(NPM, ['run', 'build', '--silent'], ROOT).code).toBe(0);
  dir = mkdtempSync(join(tmpdir(), 'eg-pack-'));
  const pack = sh(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT);
  expect(pack.code, pack.stderr).toBe(0);
  packed = (JSON.parse(pack.stdout) as PackResult[])[0]!;
  project = join(dir, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'adopter', private: true, type: 'module' }));
  const install = sh(
    NPM,
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', join(dir, packed.filename)],
    project,
  );
  expect(install.code, install.stderr).toBe(0);
}, 180_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('packed tarball', () => {
  it('ships the licence, the declarations of both exports, the policy and no test code, fakes or generators', () => {
    const paths = packed.files.map((f) => f.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'LICENSE',
        'package.json',
        'dist/bin/entitlegate.js',
        'dist/bin/cli.cjs',
        'dist/engine/index.d.ts',
        'dist/adapters/cdktf/index.d.ts',
        'policies/dist/entitlegate.wasm',
      ]),
    );
    const testish = paths.filter((p) =>
      /(\.test\.|\/testing\/|\/test-[^/]*$|_test\.rego$|fake|generate-plan|gen-instance-types|real-terraform)/.test(p),
    );
    expect(testish).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg.repository).toBeTruthy();
    expect(pkg.homepage).toBeTruthy();
    expect(pkg.bugs).toBeTruthy();
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toContain('Apache License');
  });

  it('npx entitlegate check decides the example as the repository does', () => {
    const r = sh('npx', ['--no-install', 'entitlegate', ...EXAMPLE_CHECK], project);
    expect(r.code, r.stderr).toBe(1);
    const decision = JSON.parse(r.stdout) as { allowed: boolean; violations: { code: string }[] };
    expect(decision.allowed).toBe(false);
    expect(decision.violations.map((v) => v.code)).toContain('OVER_ENTITLEMENT');
  });

  it('an import from entitlegate and entitlegate/cdktf typechecks with tsc and runs', () => {
    writeFileSync(
      join(project, 'index.ts'),
      [
        "import { Engine, loadConfig, type Config } from 'entitlegate';",
        "import { EntitlegateAspect, type EntitlegateAspectOptions } from 'entitlegate/cdktf';",
        `const loaded = loadConfig(${JSON.stringify(join(ROOT, 'examples/entitlegate.yaml'))});`,
        'const config: Config = loaded.config;',
        'const engine = await Engine.create(loaded, []);',
        "const options: EntitlegateAspectOptions = { config, evaluate: (claims) => engine.decide(claims, { now: new Date('2026-11-28T10:00:00Z') }) };",
        'new EntitlegateAspect(options);',
        "console.log(typeof EntitlegateAspect, config.products.length > 0 ? 'products' : 'none');",
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2024',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          allowImportingTsExtensions: true,
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules/@types')],
        },
        files: ['index.ts'],
      }),
    );
    const tsc = sh(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], project);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.code).toBe(0);
    const run = sh(process.execPath, ['index.ts'], project);
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('function products');
  });
});
