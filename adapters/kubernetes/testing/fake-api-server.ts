// The one kube-apiserver stand-in, for the tests of the list/watch client, the
// inventory and the webhook, and for the memory bench (bench/lib/fake-kube.ts
// runs it in a process of its own with generated collections).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

/** Takes over every request (a test of how the client copes with one particular answer). */
export type FakeHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

/** A collection built when a page of it is asked for: `make(i)` is item i of `count`. */
export interface GeneratedCollection {
  count: number;
  make(i: number): object;
}

export interface FakeApiServerOptions {
  /** The bearer token requests must carry (401 otherwise). */
  token?: string;
  /** resourceVersion of the first state. */
  resourceVersion?: number;
}

/**
 * A kube-apiserver stand-in over a real socket: list responses carry
 * metadata.resourceVersion (and page with limit/continue), `?watch=true`
 * opens a chunked stream of JSON watch events from the requested version on.
 * Collections are stored objects (event()) or generated page by page
 * (generate(), for a cluster too big to hold); a `handler` takes over
 * every request.
 */
export class FakeApiServer {
  readonly server: Server;
  /** Path and query of every request, in order. */
  readonly requests: string[] = [];
  /** The Authorization header of every request, in order. */
  readonly authorizations: (string | undefined)[] = [];
  /** Responses not yet closed (open watches, lists being written). */
  readonly open = new Set<ServerResponse>();
  handler: FakeHandler | undefined;
  readonly #token: string;
  #rv: number;
  #generated = new Map<string, GeneratedCollection>();
  #objects = new Map<string, Map<string, Record<string, unknown>>>();
  #events: { rv: number; path: string; line: string }[] = [];
  #watchers = new Map<string, Set<ServerResponse>>();
  /** Paths whose next watch is refused with 410 Gone (history compacted). */
  readonly gone = new Set<string>();
  /** Delays list responses until released (to test readiness before the first sync). */
  holdLists: Promise<void> | undefined;

  constructor(opts: FakeApiServerOptions = {}) {
    this.#token = opts.token ?? 'test-token';
    this.#rv = opts.resourceVersion ?? 100;
    this.server = createServer((req, res) => void this.#handle(req, res));
  }

  /** Serves `path` from generated items (not stored, so millions cost nothing until listed). */
  generate(path: string, collection: GeneratedCollection): void {
    this.#generated.set(path, collection);
  }

  /** Watch requests so far (path and query). */
  watches(): string[] {
    return this.requests.filter((r) => r.includes('watch=true'));
  }

  /** List requests so far (path and query). */
  lists(): string[] {
    return this.requests.filter((r) => !r.includes('watch=true'));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** A kubeconfig for this server, with the bearer token it expects (or another). */
  kubeConfig(server: string, token = this.#token): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server, skipTLSVerify: true }],
      users: [{ name: 'test', token }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'test' }],
      currentContext: 'fake',
    });
    return kc;
  }

  async close(): Promise<void> {
    for (const set of this.#watchers.values()) for (const res of set) res.end();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** Stores the object and sends the watch event to open streams. */
  event(type: 'ADDED' | 'MODIFIED' | 'DELETED', path: string, object: Record<string, unknown>): void {
    const rv = ++this.#rv;
    const metadata: Record<string, unknown> = { ...(object.metadata as Record<string, unknown>), resourceVersion: String(rv) };
    const stored = { ...object, metadata };
    const key = `${String(metadata.namespace ?? '')}/${String(metadata.name)}`;
    const objects = this.#objects.get(path) ?? new Map();
    this.#objects.set(path, objects);
    if (type === 'DELETED') objects.delete(key);
    else objects.set(key, stored);
    const line = `${JSON.stringify({ type, object: stored })}\n`;
    this.#events.push({ rv, path, line });
    for (const res of this.#watchers.get(path) ?? []) if (!res.writableEnded) res.write(line);
  }

  bookmark(path: string): void {
    const line = `${JSON.stringify({ type: 'BOOKMARK', object: { kind: 'Deployment', apiVersion: 'apps/v1', metadata: { resourceVersion: String(this.#rv) } } })}\n`;
    for (const res of this.#watchers.get(path) ?? []) if (!res.writableEnded) res.write(line);
  }

  /** Removes an object with no watch event, as if the event were lost to compaction. */
  forget(path: string, namespace: string, name: string): void {
    this.#rv++;
    this.#objects.get(path)?.delete(`${namespace}/${name}`);
  }

  /** Ends every watch stream, as the apiserver does when a watch times out. */
  dropWatches(): void {
    for (const set of this.#watchers.values()) {
      for (const res of set) res.end();
      set.clear();
    }
  }

  watchers(path: string): number {
    return this.#watchers.get(path)?.size ?? 0;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push(`${url.pathname}${url.search}`);
    this.authorizations.push(req.headers.authorization);
    this.open.add(res);
    res.on('close', () => this.open.delete(res));
    if (this.handler) {
      this.handler(req, res, url);
      return;
    }
    if (req.headers.authorization !== `Bearer ${this.#token}`) {
      res.writeHead(401).end();
      return;
    }
    if (url.searchParams.get('watch') === 'true' && this.gone.delete(url.pathname)) {
      res.writeHead(410, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          code: 410,
          reason: 'Expired',
          message: 'too old resource version',
        }),
      );
      return;
    }
    if (url.searchParams.get('watch') === 'true') {
      const from = Number(url.searchParams.get('resourceVersion') ?? '0');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      for (const e of this.#events) if (e.path === url.pathname && e.rv > from) res.write(e.line);
      const set = this.#watchers.get(url.pathname) ?? new Set();
      this.#watchers.set(url.pathname, set);
      set.add(res);
      res.on('close', () => set.delete(res));
      return;
    }
    if (this.holdLists) await this.holdLists;
    const generated = this.#generated.get(url.pathname);
    const stored = generated ? [] : [...(this.#objects.get(url.pathname)?.values() ?? [])];
    const total = generated ? generated.count : stored.length;
    const limit = Number(url.searchParams.get('limit') ?? total) || total;
    const offset = Number(url.searchParams.get('continue') ?? '0');
    const end = Math.min(total, offset + limit);
    const item = (i: number): object => (generated ? generated.make(i) : stored[i]!);
    const more = end < total;
    res.writeHead(200, { 'content-type': 'application/json' });
    const head = {
      kind: 'List',
      apiVersion: 'v1',
      metadata: { resourceVersion: String(this.#rv), ...(more ? { continue: String(end) } : {}) },
    };
    // Written as it is built, in 64 KB chunks, as the API server streams a
    // list: an unpaged list of a big generated cluster (what a client without
    // limit asks for) is never one string here.
    let out = `${JSON.stringify(head).slice(0, -1)},"items":[`;
    for (let i = offset; i < end; i++) {
      out += (i > offset ? ',' : '') + JSON.stringify(item(i));
      if (out.length < 65_536) continue;
      const flushed = res.write(out);
      out = '';
      if (!flushed)
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      if (res.destroyed) return;
    }
    res.end(`${out}]}`);
  }
}
