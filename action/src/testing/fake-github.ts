// A local GitHub REST API for the action's tests: the endpoints the action
// calls (issue comments: list, create, update; check runs: list for a commit,
// create, update), served over a real socket and recording every call, with
// pagination by Link headers and GitHub's secondary rate limit (403 with
// `retry-after`). Mounted under a path prefix like GitHub Enterprise Server's /api/v3.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Call {
  method: string;
  /** Path without the prefix and query. */
  path: string;
  query: URLSearchParams;
  body: any;
  authorization: string | undefined;
}

export interface FakeComment {
  id: number;
  body: string;
  user: { login: string; type: string };
}

export interface FakeCheckRun {
  id: number;
  name: string;
  head_sha: string;
  status: string;
  conclusion?: string;
  external_id?: string;
  output: { title: string; summary: string };
  annotations: any[];
}

export interface FakeGitHubOptions {
  prefix?: string;
  /** Comments already on every pull request. */
  comments?: FakeComment[];
  /** The server's own cap on per_page, to make pagination happen with few comments. */
  maxPerPage?: number;
  /** Answer every write (POST/PATCH) with this status, as GitHub does for a read-only token. */
  denyWrites?: 403 | 404;
  /** Check runs already on the commit. */
  checkRuns?: FakeCheckRun[];
  /** Answer the first `times` writes with GitHub's secondary rate limit: 403 and `retry-after: seconds`. */
  secondaryRateLimit?: { times: number; retryAfter: number };
}

export interface FakeGitHub {
  url: string;
  calls: Call[];
  comments: FakeComment[];
  checkRuns: FakeCheckRun[];
  close(): Promise<void>;
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
};

async function readBody(req: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

export async function startFakeGitHub(opts: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const prefix = opts.prefix ?? '/api/v3';
  const calls: Call[] = [];
  const comments: FakeComment[] = structuredClone(opts.comments ?? []);
  const checkRuns: FakeCheckRun[] = structuredClone(opts.checkRuns ?? []);
  let nextId = 9000;
  let limited = 0;
  let base = '';

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const body = await readBody(req);
    const path = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : url.pathname;
    const call: Call = { method: req.method ?? 'GET', path, query: url.searchParams, body, authorization: req.headers.authorization };
    calls.push(call);
    if (!url.pathname.startsWith(prefix)) return json(res, 404, { message: 'Not Found' });
    if (opts.denyWrites && call.method !== 'GET') {
      return json(res, opts.denyWrites, {
        message: 'Resource not accessible by integration',
        documentation_url: 'https://docs.github.com/rest',
        status: String(opts.denyWrites),
      });
    }
    if (opts.secondaryRateLimit && call.method !== 'GET' && limited < opts.secondaryRateLimit.times) {
      limited++;
      return json(
        res,
        403,
        {
          message:
            'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.',
          documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
          status: '403',
        },
        { 'retry-after': String(opts.secondaryRateLimit.retryAfter) },
      );
    }
    /** One page of a list and its Link header, as GitHub pages. */
    const paged = <T>(list: T[]): { slice: T[]; headers: Record<string, string> } => {
      const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 30), opts.maxPerPage ?? 100);
      const page = Number(url.searchParams.get('page') ?? 1);
      const headers: Record<string, string> = {};
      if (page * perPage < list.length) {
        const next = new URL(base + url.pathname + url.search);
        next.searchParams.set('per_page', String(perPage));
        next.searchParams.set('page', String(page + 1));
        headers.link = `<${next}>; rel="next", <${base}${url.pathname}?page=1>; rel="first"`;
      }
      return { slice: list.slice((page - 1) * perPage, page * perPage), headers };
    };
    let m: RegExpExecArray | null;
    if (call.method === 'GET' && (m = /^\/repos\/[^/]+\/[^/]+\/issues\/(\d+)\/comments$/.exec(path))) {
      const { slice, headers } = paged(comments);
      return json(res, 200, slice, headers);
    }
    if (call.method === 'GET' && (m = /^\/repos\/[^/]+\/[^/]+\/commits\/([^/]+)\/check-runs$/.exec(path))) {
      const name = url.searchParams.get('check_name');
      const matching = checkRuns.filter((r) => r.head_sha === m![1] && (!name || r.name === name));
      const { slice, headers } = paged(matching);
      return json(res, 200, { total_count: matching.length, check_runs: slice }, headers);
    }
    if (call.method === 'POST' && (m = /^\/repos\/[^/]+\/[^/]+\/issues\/(\d+)\/comments$/.exec(path))) {
      const c: FakeComment = { id: nextId++, body: body.body, user: { login: 'github-actions[bot]', type: 'Bot' } };
      comments.push(c);
      return json(res, 201, { ...c, html_url: `https://github.example/pull/${m[1]}#issuecomment-${c.id}` });
    }
    if (call.method === 'PATCH' && (m = /^\/repos\/[^/]+\/[^/]+\/issues\/comments\/(\d+)$/.exec(path))) {
      const c = comments.find((x) => x.id === Number(m![1]));
      if (!c) return json(res, 404, { message: 'Not Found' });
      c.body = body.body;
      return json(res, 200, c);
    }
    if (call.method === 'POST' && /^\/repos\/[^/]+\/[^/]+\/check-runs$/.test(path)) {
      if ((body.output?.annotations?.length ?? 0) > 50) return json(res, 422, { message: 'Only 50 annotations are allowed per request' });
      const run: FakeCheckRun = {
        id: nextId++,
        name: body.name,
        head_sha: body.head_sha,
        status: body.status,
        conclusion: body.conclusion,
        ...(body.external_id ? { external_id: body.external_id } : {}),
        output: body.output,
        annotations: [...(body.output?.annotations ?? [])],
      };
      checkRuns.push(run);
      return json(res, 201, { id: run.id, html_url: `https://github.example/runs/${run.id}` });
    }
    if (call.method === 'PATCH' && (m = /^\/repos\/[^/]+\/[^/]+\/check-runs\/(\d+)$/.exec(path))) {
      const run = checkRuns.find((r) => r.id === Number(m![1]));
      if (!run) return json(res, 404, { message: 'Not Found' });
      if ((body.output?.annotations?.length ?? 0) > 50) return json(res, 422, { message: 'Only 50 annotations are allowed per request' });
      if (body.status) run.status = body.status;
      if (body.conclusion) run.conclusion = body.conclusion;
      if (body.output) run.output = body.output;
      run.annotations.push(...(body.output?.annotations ?? []));
      return json(res, 200, { id: run.id });
    }
    return json(res, 404, { message: 'Not Found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base + prefix,
    calls,
    comments,
    checkRuns,
    close: () => new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}
