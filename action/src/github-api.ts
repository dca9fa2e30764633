// The GitHub REST client: Octokit (@octokit/rest) with the retry plugin
// (5xx and network errors, a few times with backoff) and the throttling plugin
// (primary and secondary rate limits: waits what GitHub's `retry-after` or
// `x-ratelimit-reset` says, once, when that is under a minute; a job step
// should not sleep for an hour to post a comment). It talks to
// GITHUB_API_URL, so it works against GitHub Enterprise Server
// (https://HOST/api/v3) as well as github.com. Errors become GitHubApiError,
// which says whether a token without write access caused it.
import * as core from '@actions/core';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import { VERSION } from '../../engine/version.ts';

export class GitHubApiError extends Error {
  readonly status: number;
  readonly method: string;
  readonly path: string;
  constructor(method: string, path: string, status: number, detail: string) {
    super(`${method} ${path} → HTTP ${status}${detail ? `: ${detail}` : ''}`);
    this.name = 'GitHubApiError';
    this.status = status;
    this.method = method;
    this.path = path;
  }

  /** 403/404 from a token without write access (forks, missing `permissions:`); a rate limit is not that. */
  get isPermission(): boolean {
    return (this.status === 403 && !/rate limit/i.test(this.message)) || this.status === 404;
  }
}

export interface GitHubApiOptions {
  apiUrl: string;
  token: string;
  /** Per request, in milliseconds. */
  timeout?: number;
  /** The longest rate-limit wait worth taking, in seconds. */
  maxRateLimitWait?: number;
}

const Client = Octokit.plugin(retry, throttling);
export type GitHubApi = InstanceType<typeof Client>;

export function gitHubApi(opts: GitHubApiOptions): GitHubApi {
  const timeout = opts.timeout ?? 30_000;
  const maxWait = opts.maxRateLimitWait ?? 60;
  const onLimit =
    (kind: string) =>
    (retryAfter: number, options: { method?: string; url?: string }, _octokit: unknown, retryCount: number): boolean => {
      const again = retryCount === 0 && retryAfter <= maxWait;
      core.info(
        `entitlegate: GitHub ${kind} rate limit on ${options.method} ${options.url}; ${again ? `retrying in ${retryAfter} s` : 'giving up'}`,
      );
      return again;
    };
  return new Client({
    auth: opts.token,
    baseUrl: opts.apiUrl.replace(/\/+$/, ''),
    userAgent: `entitlegate-action/${VERSION}`,
    request: {
      fetch: (url: string | URL, init?: RequestInit) => fetch(url, { ...init, signal: AbortSignal.timeout(timeout) }),
    },
    retry: { retries: 2 },
    throttle: { onRateLimit: onLimit('primary'), onSecondaryRateLimit: onLimit('secondary') },
    // Octokit's own warnings (deprecations) go to the debug log, not the job's.
    log: { debug: () => {}, info: () => {}, warn: (m: string) => core.debug(m), error: (m: string) => core.debug(m) },
  });
}

interface OctokitError {
  status?: number;
  message?: string;
  response?: { data?: unknown };
}

/** Runs one API call; any failure becomes a GitHubApiError naming the call. */
export async function call<T>(method: string, path: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (err) {
    const e = err as OctokitError;
    const data = e.response?.data as { message?: unknown } | undefined;
    const detail = typeof data?.message === 'string' ? data.message : (e.message ?? String(err));
    throw new GitHubApiError(method, path, typeof e.status === 'number' ? e.status : 0, detail);
  }
}
