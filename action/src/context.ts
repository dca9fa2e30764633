// What the runner tells the action about where it runs: repository, commit,
// event payload, API address, temp folder. Read from the environment at call
// time (never at import), so tests can set it per run.
import { readFileSync } from 'node:fs';

export interface PullRequest {
  number: number;
  headSha: string;
  /** owner/name of the head repository; differs from the base one on forks. */
  headRepo: string | null;
  baseRepo: string | null;
}

export interface RunContext {
  workspace: string;
  tempDir: string;
  owner: string | null;
  repo: string | null;
  /** The commit a check run belongs to: the PR head, else GITHUB_SHA. */
  sha: string | null;
  eventName: string;
  pullRequest: PullRequest | null;
  apiUrl: string;
  /** Link to this workflow run, for the comment. */
  runUrl: string | null;
  /** This step across attempts of its job: run id, job and step id (the check run's external_id). */
  stepId: string | null;
}

interface PullRequestPayload {
  number?: unknown;
  pull_request?: {
    number?: unknown;
    head?: { sha?: unknown; repo?: { full_name?: unknown } | null };
    base?: { repo?: { full_name?: unknown } | null };
  };
}

function readEvent(path: string | undefined): PullRequestPayload {
  if (!path) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as PullRequestPayload;
  } catch {
    // A missing or unreadable payload only costs the PR comment.
    return {};
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);

export function runContext(env: NodeJS.ProcessEnv = process.env): RunContext {
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? '').split('/');
  const event = readEvent(env.GITHUB_EVENT_PATH);
  const pr = event.pull_request;
  const pullRequest: PullRequest | null =
    pr && typeof pr.number === 'number'
      ? {
          number: pr.number,
          headSha: str(pr.head?.sha) ?? env.GITHUB_SHA ?? '',
          headRepo: str(pr.head?.repo?.full_name),
          baseRepo: str(pr.base?.repo?.full_name),
        }
      : null;
  const server = (env.GITHUB_SERVER_URL ?? 'https://github.com').replace(/\/+$/, '');
  return {
    workspace: env.GITHUB_WORKSPACE || process.cwd(),
    tempDir: env.RUNNER_TEMP || env.TMPDIR || '/tmp',
    owner: owner || null,
    repo: repo || null,
    sha: pullRequest?.headSha || env.GITHUB_SHA || null,
    eventName: env.GITHUB_EVENT_NAME ?? '',
    pullRequest,
    apiUrl: env.GITHUB_API_URL || 'https://api.github.com',
    runUrl: env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID ? `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}` : null,
    stepId: env.GITHUB_RUN_ID ? [env.GITHUB_RUN_ID, env.GITHUB_JOB, env.GITHUB_ACTION].filter(Boolean).join('/') : null,
  };
}

/** True when the PR comes from a fork, whose GITHUB_TOKEN is read-only on `pull_request`. */
export function fromFork(pr: PullRequest | null): boolean {
  return !!pr && !!pr.headRepo && !!pr.baseRepo && pr.headRepo !== pr.baseRepo;
}
