// Runs the action the way the Actions runner does: inputs as INPUT_<NAME>
// variables (upper-cased, spaces to `_`, `-` kept), GITHUB_OUTPUT and
// GITHUB_STEP_SUMMARY files that exist before the step, an event payload at
// GITHUB_EVENT_PATH, RUNNER_TEMP, and the API at GITHUB_API_URL. Either from
// source in this process, or the bundled action/dist/index.js as a child `node`.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../../../test/temp.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const BUNDLE = join(REPO_ROOT, 'action', 'dist', 'index.js');
export const PR_EVENT = join(REPO_ROOT, 'action', 'src', 'testdata', 'pull_request.json');
export const PR_HEAD_SHA = '6dcb09b5b57875f334f61aebed695e2e4193db5e';
export const MERGE_SHA = 'e9e5ab3bb2c1c4a1d5f1f0d7a0b3c6e18f2b0a11';

export interface StepOptions {
  inputs: Record<string, string>;
  apiUrl: string;
  workspace?: string;
  /** Event payload; the pull_request fixture unless given. */
  event?: object;
  eventName?: string;
  /** Evaluation instant (ENTITLEGATE_NOW). */
  now?: string;
  /** More environment variables of the step (a workflow's `env:`). */
  env?: Record<string, string>;
}

export interface StepResult {
  exitCode: number;
  stdout: string;
  outputs: Record<string, string>;
  summary: string;
  tempDir: string;
}

export interface Step {
  env: Record<string, string>;
  files: { output: string; summary: string; temp: string };
}

/** Same mapping as the runner and @actions/core's getInput. */
export function inputVariable(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

export function prepareStep(opts: StepOptions): Step {
  // Removed after the test file's last test, not the step's: a test may read a step's runner temp after it.
  const dir = tempDir('eg-step-');
  const temp = join(dir, 'runner-temp');
  mkdirSync(temp);
  const output = join(dir, 'github_output');
  const summary = join(dir, 'step_summary');
  writeFileSync(output, '');
  writeFileSync(summary, '');
  const eventPath = join(dir, 'event.json');
  writeFileSync(eventPath, opts.event ? JSON.stringify(opts.event) : readFileSync(PR_EVENT, 'utf8'));
  const env: Record<string, string> = {
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_REPOSITORY: 'acme/payments-infra',
    GITHUB_REPOSITORY_OWNER: 'acme',
    GITHUB_EVENT_NAME: opts.eventName ?? 'pull_request',
    GITHUB_EVENT_PATH: eventPath,
    // On pull_request events GITHUB_SHA is the merge commit, not the head.
    GITHUB_SHA: MERGE_SHA,
    GITHUB_REF: 'refs/pull/42/merge',
    GITHUB_WORKSPACE: opts.workspace ?? REPO_ROOT,
    GITHUB_SERVER_URL: 'https://github.example',
    GITHUB_API_URL: opts.apiUrl,
    GITHUB_RUN_ID: '12345678901',
    GITHUB_JOB: 'gate',
    GITHUB_ACTION: 'entitlegate',
    GITHUB_OUTPUT: output,
    GITHUB_STEP_SUMMARY: summary,
    RUNNER_TEMP: temp,
    ENTITLEGATE_NOW: opts.now ?? '2026-11-28T10:00:00Z',
    'INPUT_GITHUB-TOKEN': 'ghs_fakeInstallationToken0123456789',
    INPUT_COMMENT: 'true',
    'INPUT_CHECK-RUN': 'true',
    INPUT_MODE: '',
    INPUT_USAGE: '',
  };
  for (const [k, v] of Object.entries(opts.inputs)) env[inputVariable(k)] = v;
  Object.assign(env, opts.env);
  return { env, files: { output, summary, temp } };
}

/** Parses GITHUB_OUTPUT as the runner does: `name<<DELIM` … `DELIM` blocks (and `name=value`). */
export function parseOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== heredoc[2]; i++) value.push(lines[i]!);
      out[heredoc[1]!] = value.join('\n');
    } else if (line.includes('=')) {
      out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return out;
}

function result(step: Step, exitCode: number, stdout: string): StepResult {
  return {
    exitCode,
    stdout,
    outputs: parseOutputs(readFileSync(step.files.output, 'utf8')),
    summary: readFileSync(step.files.summary, 'utf8'),
    tempDir: step.files.temp,
  };
}

/** The bundle in its own process, as the runner starts it: `node action/dist/index.js`. */
export function runBundled(opts: StepOptions, bundle = BUNDLE): Promise<StepResult> {
  const step = prepareStep(opts);
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...step.env };
  return new Promise((resolveRun) => {
    execFile(process.execPath, [bundle], { env, cwd: step.env.GITHUB_WORKSPACE }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolveRun(result(step, code, stdout + stderr));
    });
  });
}

/** The source in this process: env swapped in, stdout captured, exit code read from process.exitCode. */
export async function runInProcess(opts: StepOptions, run: () => Promise<void>): Promise<StepResult> {
  const step = prepareStep(opts);
  const saved = { ...process.env };
  const write = process.stdout.write;
  let stdout = '';
  for (const k of Object.keys(process.env)) if (k.startsWith('INPUT_') || k.startsWith('GITHUB_')) delete process.env[k];
  Object.assign(process.env, step.env);
  process.exitCode = undefined;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  }) as typeof process.stdout.write;
  try {
    await run();
  } finally {
    process.stdout.write = write;
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
  const code = typeof process.exitCode === 'number' ? process.exitCode : 0;
  process.exitCode = undefined;
  return result(step, code, stdout);
}
