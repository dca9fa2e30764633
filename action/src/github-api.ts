// A small GitHub REST client over fetch. It talks to GITHUB_API_URL, so it works
// against GitHub Enterprise Server (https://HOST/api/v3) as well as github.com.
// Only the calls the action makes; no Octokit, to keep the bundle small and the
// dependency list short.

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
}

const USER_AGENT = 'entitlegate-action';

export class GitHubApi {
  private readonly base: string;
  private readonly token: string;
  private readonly timeout: number;

  constructor(opts: GitHubApiOptions) {
    this.base = opts.apiUrl.replace(/\/+$/, '');
    this.token = opts.token;
    this.timeout = opts.timeout ?? 30_000;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await this.send<T>(method, this.base + path, path, body)).data;
  }

  /** Every item of a list endpoint, following `Link: rel="next"` (as GitHub and GHES send it). */
  async paginate<T>(path: string): Promise<T[]> {
    const items: T[] = [];
    let url: string | null = `${this.base}${path}${path.includes('?') ? '&' : '?'}per_page=100`;
    while (url) {
      const { data, link }: { data: T[]; link: string | null } = await this.send<T[]>('GET', url, path, undefined);
      if (!Array.isArray(data)) throw new GitHubApiError('GET', path, 200, 'expected a list');
      items.push(...data);
      url = nextLink(link);
    }
    return items;
  }

  private async send<T>(method: string, url: string, path: string, body: unknown): Promise<{ data: T; link: string | null }> {
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          accept: 'application/vnd.github+json',
          authorization: `Bearer ${this.token}`,
          'x-github-api-version': '2022-11-28',
          'user-agent': USER_AGENT,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeout),
      });
    } catch (err) {
      throw new GitHubApiError(method, path, 0, `request failed: ${(err as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok) throw new GitHubApiError(method, path, res.status, errorDetail(text));
    return { data: (text ? JSON.parse(text) : null) as T, link: res.headers.get('link') };
  }
}

function errorDetail(text: string): string {
  try {
    const m = (JSON.parse(text) as { message?: unknown }).message;
    if (typeof m === 'string') return m;
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.slice(0, 200);
}

export function nextLink(link: string | null): string | null {
  if (!link) return null;
  for (const part of link.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (m) return m[1]!;
  }
  return null;
}
