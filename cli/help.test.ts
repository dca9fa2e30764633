// The CLI people expect: --help on every command with every flag it parses,
// exit 0; --version and version; completions for bash, zsh and fish.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import pkg from '../package.json' with { type: 'json' };
import { cli, cliProcess } from '../test/cli-harness.ts';
import { HelpRequested } from './args.ts';
import { completionScript } from './completion.ts';
import { COMMANDS } from './help.ts';
import { commands } from './run.ts';
import type { Io } from './io.ts';
import { tempDir } from '../test/temp.ts';

const io: Io = { stdout: () => {}, stderr: () => {}, readStdin: () => '', clock: () => new Date(0) };

/** The flags a command really parses, asked of the command itself. */
async function parsedFlags(name: string) {
  const args = name === 'policy' ? ['build', '--help'] : ['--help'];
  try {
    await commands[name]!(args, io);
  } catch (err) {
    if (err instanceof HelpRequested) return err.flags;
    throw err;
  }
  return [];
}

describe('--help', () => {
  it('every command has a help entry, and every entry a command', () => {
    expect(COMMANDS.map((c) => c.name).sort()).toEqual(Object.keys(commands).sort());
  });

  it.each(COMMANDS.map((c) => [c.name]))('%s: help lists exactly the flags it parses, with their short names', async (name) => {
    const help = COMMANDS.find((c) => c.name === name)!;
    const parsed = await parsedFlags(name);
    const listed = help.flags.filter((f) => f.name !== 'help');
    expect(listed.map((f) => f.name).sort()).toEqual(parsed.map((f) => f.name).sort());
    for (const f of parsed) {
      const h = listed.find((x) => x.name === f.name)!;
      expect(h.short, `--${f.name}`).toBe(f.short);
      expect(!h.value, `--${f.name} takes ${f.boolean ? 'no value' : 'a value'}`).toBe(f.boolean);
      expect(!!h.multiple, `--${f.name} repeatable`).toBe(f.multiple);
    }
  });

  const table: [string, string[]][] = [
    ...COMMANDS.flatMap((c): [string, string[]][] => [
      [c.name, [c.name, '--help']],
      [c.name, [c.name, '-h']],
      [c.name, ['help', c.name]],
    ]),
    ['(overview)', ['--help']],
    ['(overview)', ['-h']],
    ['(overview)', ['help']],
  ];
  it.each(table)('%s: `entitlegate %s` prints help, every flag, exit 0', async (name, argv) => {
    const r = await cli(argv);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    if (name === '(overview)') for (const c of COMMANDS) expect(r.stdout).toContain(`  ${c.name} `);
    else for (const f of COMMANDS.find((c) => c.name === name)!.flags) expect(r.stdout).toContain(`--${f.name}`);
  });

  it('help wins over missing required flags (check --help without --config)', async () => {
    const r = await cli(['check', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^entitlegate check — /);
  });

  it('after -- a --help is a path, not a request for help', async () => {
    const r = await cli(['check', '--config', 'examples/entitlegate.yaml', '--', '--help']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--help');
  });

  it('no command: the overview on stderr, exit 2; an unknown one too', async () => {
    expect((await cli([])).code).toBe(2);
    const r = await cli(['chekc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "chekc"');
  });
});

describe('--version', () => {
  it.each([['--version'], ['-V'], ['version']])('`entitlegate %s` prints the package version, exit 0', async (arg) => {
    const r = cliProcess([arg]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`entitlegate ${pkg.version}\n`);
  });
});

describe('--quiet', () => {
  it('one line for scripts; the exit code is unchanged', async () => {
    const base = ['--config', 'examples/entitlegate.yaml', '--usage', 'examples/usage.yaml', '--quiet'];
    const blocked = await cli(['check', 'examples/claims/over.json', ...base]);
    expect(blocked.code).toBe(1);
    expect(blocked.stdout).toMatch(/^entitlegate: BLOCKED — 1 violation, \d+ warnings?\n$/);
    const allowed = await cli(['check', 'examples/claims/fits.json', ...base, '-f', 'json']);
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toMatch(/^entitlegate: ALLOWED — 0 violations, \d+ warnings?\n$/);
  });
});

const shellHas = (sh: string) => spawnSync(sh, ['-c', 'exit 0']).status === 0;

describe('completion', () => {
  it('bash: completes commands, flags, choices and files', () => {
    const script = join(tempDir('eg-comp-'), 'entitlegate.bash');
    writeFileSync(script, completionScript('bash'));
    const complete = (line: string) => {
      const words = line.split(' ');
      const r = spawnSync(
        'bash',
        [
          '-c',
          `source "$0"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _entitlegate; printf '%s\\n' "\${COMPREPLY[@]}"`,
          script,
        ],
        { encoding: 'utf8', cwd: join(import.meta.dirname, '..') },
      );
      expect(r.stderr).toBe('');
      return r.stdout.trim().split('\n');
    };
    expect(complete('entitlegate ch')).toEqual(['check']);
    expect(complete('entitlegate check --for')).toEqual(['--format']);
    expect(complete('entitlegate check --format sa')).toEqual(['sarif']);
    expect(complete('entitlegate serve --tls')).toEqual(['--tls-cert', '--tls-key']);
    expect(complete('entitlegate completion f')).toEqual(['fish']);
    expect(complete('entitlegate check --config examples/entitlegate.y')).toEqual(['examples/entitlegate.yaml']);
  });

  it.skipIf(!shellHas('zsh'))('zsh: the script parses', () => {
    const r = spawnSync('zsh', ['-n', '-c', completionScript('zsh')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.skipIf(!shellHas('fish'))('fish: the script loads and offers the flags', () => {
    const r = spawnSync('fish', ['--no-config', '-c', `${completionScript('fish')}\ncomplete -C 'entitlegate check --for'`], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('--format');
  });

  it('an unknown shell is a usage error', async () => {
    const r = await cli(['completion', 'tcsh']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bash|zsh|fish');
  });
});
