// A kube-apiserver stand-in for tests of the inventory and the webhook.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

/**
 * A kube-apiserver stand-in over a real socket: list responses carry
 * metadata.resourceVersion (and page with limit/continue), `?watch=true`
 * opens a chunked stream of JSON watch events from the requested version on.
 */
export class FakeApiServer {
  readonly server: Server;
  readonly requests: string[] = [];
  #rv = 100;
  #objects = new Map<string, Map<string, Record<string, unknown>>>();
  #events: { rv: number; path: string; line: string }[] = [];
  #watchers = new Map<string, Set<ServerResponse>>();
  /** Paths whose next watch is refused with 410 Gone (history compacted). */
  readonly gone = new Set<string>();
  /** Delays list responses until released (to test readiness before the first sync). */
  holdLists: Promise<void> | undefined;

  constructor() {
    this.server = createServer((req, res) => void this.#handle(req, res));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** A kubeconfig for this server, with the bearer token it expects. */
  kubeConfig(server: string): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server, skipTLSVerify: true }],
      users: [{ name: 'test', token: 'test-token' }],
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
    if (req.headers.authorization !== 'Bearer test-token') {
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
    const all = [...(this.#objects.get(url.pathname)?.values() ?? [])];
    const limit = Number(url.searchParams.get('limit') ?? all.length) || all.length;
    const offset = Number(url.searchParams.get('continue') ?? '0');
    const items = all.slice(offset, offset + limit);
    const more = offset + limit < all.length;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: 'List',
        apiVersion: 'v1',
        metadata: { resourceVersion: String(this.#rv), ...(more ? { continue: String(offset + limit) } : {}) },
        items,
      }),
    );
  }
}
