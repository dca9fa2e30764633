// Runs the CLI in process with captured output and an injected clock, and
// as a real child process where exit codes and stderr matter.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../cli/run.ts';
import { NOW } from './fixtures.ts';
import { tempDir } from './temp.ts';

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(args: string[], stdin = ''): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    readStdin: () => stdin,
    clock: () => NOW,
  });
  return { code, stdout, stderr };
}

export const ROOT = join(import.meta.dirname, '..');

/** The README's example check (JSON decision), with the paths absolute so it runs from any folder. */
export const EXAMPLE_CHECK = [
  'check',
  join(ROOT, 'examples/manifests'),
  '--config',
  join(ROOT, 'examples/entitlegate.yaml'),
  '--usage',
  join(ROOT, 'examples/usage.yaml'),
  '--cluster',
  'prod-eu-1',
  '--now',
  '2026-11-28T10:00:00Z',
  '--format',
  'json',
];

export function cliProcess(args: string[], opts: { cwd?: string; input?: string } = {}): Result {
  const r = spawnSync(process.execPath, [join(ROOT, 'cli', 'main.ts'), ...args], {
    encoding: 'utf8',
    cwd: opts.cwd ?? ROOT,
    input: opts.input ?? '',
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A fresh temp folder with the given files written into it (removed after the test file's last test). */
export function tempFiles(files: Record<string, string>): string {
  const dir = tempDir('entitlegate-test-');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}
