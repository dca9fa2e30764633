// A small list/watch client for the Kubernetes API over plain HTTP(S) JSON:
// paged lists (limit + continue) parsed page by page, each item handed on at
// once, then a watch from the list's resourceVersion (bookmarks on), read as
// newline-delimited JSON however the chunks split it. 410 Gone relists,
// dropped connections rewatch with backoff, stop() aborts everything.
//
// Connection details and credentials come from a KubeConfig
// (@kubernetes/client-node), imported as a type only: applyToHTTPSOptions()
// gives the CA, client certificate, skip-verify, proxy agent and the
// Authorization header (tokens, token files, exec and auth-provider plugins),
// asked again for every request so rotating tokens keep working. This module
// loads none of that package's generated API clients and none of its
// ObjectSerializer: objects stay plain JSON.
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** What the client needs of a KubeConfig (a loaded @kubernetes/client-node KubeConfig is one). */
export type KubeConnection = Pick<KubeConfig, 'getCurrentCluster' | 'applyToHTTPSOptions'>;

/** A non-2xx answer of the API server, with the code and reason of its Status body when it sent one. */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string | undefined;
  constructor(status: number, message: string, reason?: string) {
    super(message);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
  }
}

/** 410 Gone: the resourceVersion (or continue token) is too old; list again. */
export const isGone = (e: unknown): boolean => e instanceof KubeApiError && e.status === 410;

type Json = Record<string, unknown>;

interface RequestOptions {
  signal: AbortSignal;
}

/**
 * GET requests against the current cluster of a KubeConnection. Keeps one
 * keep-alive agent per TLS identity (a list is many requests), unless the
 * cluster goes through a proxy, where the KubeConfig's own agent is used.
 */
export class KubeClient {
  readonly #conn: KubeConnection;
  #agent: http.Agent | undefined;
  #agentKey: unknown[] = [];

  constructor(conn: KubeConnection) {
    this.#conn = conn;
  }

  /** Opens a GET and resolves with the response once its status is 2xx (else rejects with KubeApiError). */
  async open(pathAndQuery: string, { signal }: RequestOptions): Promise<http.IncomingMessage> {
    const cluster = this.#conn.getCurrentCluster();
    if (!cluster?.server) throw new Error('kubeconfig: no current cluster (server URL)');
    const url = new URL(cluster.server.replace(/\/+$/, '') + pathAndQuery);
    const opts: https.RequestOptions = { headers: {} };
    await this.#conn.applyToHTTPSOptions(opts);
    signal.throwIfAborted();
    const headers = { ...(opts.headers as Record<string, string>), Accept: 'application/json', 'User-Agent': 'entitlegate' };
    const secure = url.protocol === 'https:';
    const agent = cluster.proxyUrl ? opts.agent : this.#keepAliveAgent(secure, opts);
    const request = secure ? https.request : http.request;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'GET',
          headers,
          agent,
          signal,
          ...(opts.auth ? { auth: opts.auth } : {}),
        },
        resolve,
      );
      req.on('error', reject);
      req.on('socket', (s) => s.setKeepAlive(true, 30_000));
      req.end();
    });
    if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) return res;
    const body = await readBody(res).catch(() => '');
    throw apiError(res.statusCode ?? 0, pathAndQuery, body);
  }

  #keepAliveAgent(secure: boolean, o: https.RequestOptions): http.Agent {
    const key = [secure, o.ca, o.cert, o.key, o.pfx, o.passphrase, o.rejectUnauthorized, o.servername];
    const same = this.#agent && key.length === this.#agentKey.length && key.every((k, i) => sameValue(k, this.#agentKey[i]));
    if (!same) {
      this.#agent?.destroy();
      const tls = {
        ca: o.ca,
        cert: o.cert,
        key: o.key,
        pfx: o.pfx,
        passphrase: o.passphrase,
        servername: o.servername,
        ...(o.rejectUnauthorized !== undefined ? { rejectUnauthorized: o.rejectUnauthorized } : {}),
      };
      this.#agent = secure ? new https.Agent({ keepAlive: true, ...tls }) : new http.Agent({ keepAlive: true });
      this.#agentKey = key;
    }
    return this.#agent!;
  }

  /** Closes idle keep-alive sockets. */
  close(): void {
    this.#agent?.destroy();
    this.#agent = undefined;
    this.#agentKey = [];
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  return a === b;
}

function apiError(status: number, path: string, body: string): KubeApiError {
  let message = `GET ${path}: HTTP ${status}`;
  let reason: string | undefined;
  try {
    const s = JSON.parse(body) as Json;
    if (typeof s.message === 'string') message += `: ${s.message}`;
    if (typeof s.reason === 'string') reason = s.reason;
  } catch {
    if (body) message += `: ${body.slice(0, 200)}`;
  }
  return new KubeApiError(status, message, reason);
}

async function readBody(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Calls `onLine` for each complete line of a stream of text chunks; a line may span any number of chunks. */
export class LineSplitter {
  #rest = '';
  readonly #onLine: (line: string) => void;
  constructor(onLine: (line: string) => void) {
    this.#onLine = onLine;
  }
  push(chunk: string): void {
    let text = this.#rest + chunk;
    let nl: number;
    while ((nl = text.indexOf('\n')) >= 0) {
      const line = text.slice(0, nl).trim();
      text = text.slice(nl + 1);
      if (line) this.#onLine(line);
    }
    this.#rest = text;
  }
  /** The unterminated remainder at the end of the stream, if any. */
  end(): void {
    const line = this.#rest.trim();
    this.#rest = '';
    if (line) this.#onLine(line);
  }
}

/**
 * A list response read as it arrives: each element of the top-level `items`
 * array is parsed (JSON.parse of its own text) and handed on as soon as its
 * closing brace is in, so neither the page's text nor its object graph is
 * ever held whole. The rest of the document (kind, metadata with
 * resourceVersion and continue) is kept as text and parsed at the end.
 */
/** Whether the backslashes right before `end` (not looking before `from`) are an odd run, i.e. escape the character at `end`. */
function oddBackslashesBefore(s: string, end: number, from: number): boolean {
  let n = 0;
  for (let j = end - 1; j >= from && s.charCodeAt(j) === 92; j--) n++;
  return n % 2 === 1;
}

export class ListPageParser {
  readonly #onItem: (item: unknown) => void;
  #buf = '';
  #pos = 0;
  #depth = 0;
  #inString = false;
  #stringStart = -1;
  #lastString = '';
  #inItems = false;
  #itemStart = -1;
  /** The document outside the items array, up to and including its `[`. */
  #head = '';
  /** Where the text after the items array starts in #buf (-1 while inside it). */
  #tailFrom = 0;

  constructor(onItem: (item: unknown) => void) {
    this.#onItem = onItem;
  }

  push(chunk: string): void {
    const s = (this.#buf += chunk);
    const n = s.length;
    // State in locals for the loop (it sees every byte of the list).
    let depth = this.#depth;
    let inString = this.#inString;
    let stringStart = this.#stringStart;
    let itemStart = this.#itemStart;
    let i = this.#pos;
    for (; i < n; i++) {
      if (inString) {
        // Jump to the closing quote natively. The whole string so far is in
        // #buf, so an escaped quote (odd run of backslashes) is told apart
        // even when the chunk ended between the backslash and the quote.
        let q = s.indexOf('"', i);
        while (q > 0 && s.charCodeAt(q - 1) === 92 && oddBackslashesBefore(s, q, stringStart + 1)) q = s.indexOf('"', q + 1);
        if (q < 0) {
          i = n;
          break;
        }
        i = q;
        inString = false;
        if (depth === 1 && !this.#inItems) this.#lastString = s.slice(stringStart + 1, i);
        continue;
      }
      const c = s.charCodeAt(i);
      if (c === 34 /* " */) {
        inString = true;
        stringStart = i;
      } else if (c === 123 /* { */ || c === 91 /* [ */) {
        depth++;
        if (this.#inItems) {
          if (depth === 3) itemStart = i;
        } else if (depth === 2 && c === 91 && this.#lastString === 'items') {
          this.#inItems = true;
          this.#head = s.slice(0, i + 1);
          this.#tailFrom = -1;
        }
      } else if (c === 125 /* } */ || c === 93 /* ] */) {
        depth--;
        if (depth === 2 && itemStart >= 0 && this.#inItems) {
          const item = JSON.parse(s.slice(itemStart, i + 1)) as unknown;
          itemStart = -1;
          this.#onItem(item);
        } else if (depth === 1 && this.#inItems) {
          this.#inItems = false;
          this.#tailFrom = i;
        }
      }
    }
    // Keep only what is still needed: the item being read, or (outside the
    // items array, a few hundred bytes) everything.
    if (this.#inItems) {
      const from = itemStart >= 0 ? itemStart : inString ? stringStart : n;
      this.#buf = s.slice(from);
      i -= from;
      if (itemStart >= 0) itemStart -= from;
      stringStart -= from;
    }
    this.#pos = i;
    this.#depth = depth;
    this.#inString = inString;
    this.#stringStart = stringStart;
    this.#itemStart = itemStart;
  }

  /** The document without its items (metadata.resourceVersion, metadata.continue). */
  end(): Record<string, unknown> {
    if (this.#depth !== 0 || this.#inString) throw new Error('list response ended mid-document');
    const text = this.#tailFrom < 0 ? this.#buf : this.#head ? this.#head + this.#buf.slice(this.#tailFrom) : this.#buf;
    this.#buf = '';
    const doc = JSON.parse(text) as unknown;
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('list response is not a JSON object');
    return doc as Record<string, unknown>;
  }
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ListWatchHandlers {
  /** A list starts; `relist` when objects of this resource may already be held (so the caller can drop those that are gone). */
  onListStart?(relist: boolean): void;
  /** One item of a list page (as parsed; the caller slims it before keeping anything). */
  onListItem(item: unknown): void;
  /** The whole list has been handed over; the watch starts from `resourceVersion`. */
  onListEnd(resourceVersion: string): void;
  /** One watch event. */
  onEvent(type: WatchEventType, object: unknown): void;
  /** A list or watch failed (it is retried); 410 Gone relists quietly and is not reported. */
  onError?(error: unknown): void;
}

export interface ListWatchOptions {
  /** Items per list page. */
  pageSize?: number;
  /** First retry delay after a failure; doubles per consecutive failure up to maxRetryDelayMs. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Server-side watch timeout (the server ends the watch, it is resumed at once); randomised ±50 %. */
  watchTimeoutSeconds?: number;
}

/**
 * List-then-watch of one collection (e.g. `/api/v1/pods`), kept going until
 * stop(): the informer loop without a cache (the caller keeps what it needs).
 */
export class ListWatch {
  readonly #client: KubeClient;
  readonly #path: string;
  readonly #h: ListWatchHandlers;
  readonly #o: Required<ListWatchOptions>;
  readonly #abort = new AbortController();
  #resourceVersion: string | undefined;
  #listedBefore = false;
  #failures = 0;
  #quickEmptyCloses = 0;
  #gone = 0;
  #loop: Promise<void> | undefined;
  #sleep: { timer: NodeJS.Timeout; resolve: () => void } | undefined;

  constructor(client: KubeClient, path: string, handlers: ListWatchHandlers, opts: ListWatchOptions = {}) {
    this.#client = client;
    this.#path = path;
    this.#h = handlers;
    this.#o = {
      pageSize: opts.pageSize ?? 500,
      retryDelayMs: opts.retryDelayMs ?? 1000,
      maxRetryDelayMs: opts.maxRetryDelayMs ?? Math.max(opts.retryDelayMs ?? 0, 60_000),
      watchTimeoutSeconds: opts.watchTimeoutSeconds ?? 300,
    };
  }

  /** The last resourceVersion seen (list, event or bookmark). */
  get resourceVersion(): string | undefined {
    return this.#resourceVersion;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    if (this.#sleep) {
      clearTimeout(this.#sleep.timer);
      this.#sleep.resolve();
    }
    await this.#loop;
  }

  get #stopped(): boolean {
    return this.#abort.signal.aborted;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        if (this.#resourceVersion === undefined) await this.#list();
        await this.#watch();
      } catch (e) {
        if (this.#stopped) return;
        if (isGone(e)) {
          // Too old to resume (or a continue token expired): list again, at
          // once the first time, with backoff if the server keeps saying so.
          this.#resourceVersion = undefined;
          if (this.#gone++ > 0) await this.#wait(this.#o.retryDelayMs * Math.min(2 ** (this.#gone - 2), 32));
          continue;
        }
        this.#failures++;
        this.#h.onError?.(e);
        await this.#wait(this.#backoff());
      }
    }
  }

  #backoff(): number {
    const base = Math.min(this.#o.retryDelayMs * 2 ** Math.min(this.#failures - 1, 20), this.#o.maxRetryDelayMs);
    return base * (0.8 + Math.random() * 0.4);
  }

  #wait(ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#sleep = undefined;
        resolve();
      }, ms);
      timer.unref();
      this.#sleep = { timer, resolve };
    });
  }

  async #list(): Promise<void> {
    this.#h.onListStart?.(this.#listedBefore);
    this.#listedBefore = true;
    let next: string | undefined;
    let rv: string | undefined;
    do {
      const q = new URLSearchParams(next ? { continue: next, limit: String(this.#o.pageSize) } : { limit: String(this.#o.pageSize) });
      const res = await this.#client.open(`${this.#path}?${q}`, { signal: this.#abort.signal });
      res.setEncoding('utf8');
      const parser = new ListPageParser((item) => this.#h.onListItem(item));
      for await (const chunk of res) parser.push(chunk as string);
      const page = parser.end();
      if (Array.isArray(page.items)) for (const item of page.items) this.#h.onListItem(item); // only when the scan found no top-level items array to stream
      const meta = (page.metadata ?? {}) as Json;
      rv = typeof meta.resourceVersion === 'string' ? meta.resourceVersion : rv;
      next = typeof meta.continue === 'string' && meta.continue ? meta.continue : undefined;
    } while (next && !this.#stopped);
    if (this.#stopped) return;
    this.#resourceVersion = rv ?? '';
    this.#failures = 0;
    this.#gone = 0;
    this.#h.onListEnd(this.#resourceVersion);
  }

  /** One watch request, until the server ends it (resolves) or it fails (rejects). */
  async #watch(): Promise<void> {
    const timeout = Math.max(1, Math.round(this.#o.watchTimeoutSeconds * (0.5 + Math.random())));
    const q = new URLSearchParams({ watch: 'true', allowWatchBookmarks: 'true', timeoutSeconds: String(timeout) });
    if (this.#resourceVersion) q.set('resourceVersion', this.#resourceVersion);
    const local = new AbortController();
    const onStop = () => local.abort();
    this.#abort.signal.addEventListener('abort', onStop, { once: true });
    const opened = Date.now();
    let received = false;
    // Nothing for longer than the server-side timeout: the connection is dead without having said so.
    let idle: NodeJS.Timeout | undefined;
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => local.abort(new Error(`watch ${this.#path}: no data for ${timeout + 30} s`)), (timeout + 30) * 1000);
      idle.unref();
    };
    try {
      armIdle();
      const res = await this.#client.open(`${this.#path}?${q}`, { signal: local.signal });
      res.setEncoding('utf8');
      let failure: unknown;
      const lines = new LineSplitter((line) => {
        if (failure) return;
        received = true;
        try {
          this.#onWatchLine(line);
        } catch (e) {
          failure = e;
          local.abort(e);
        }
      });
      try {
        for await (const chunk of res) {
          armIdle();
          lines.push(chunk as string);
        }
        lines.end();
      } catch (e) {
        throw failure ?? (local.signal.aborted && !this.#stopped ? (local.signal.reason ?? e) : e);
      }
      if (failure) throw failure;
      this.#failures = 0;
    } finally {
      clearTimeout(idle);
      this.#abort.signal.removeEventListener('abort', onStop);
    }
    // The server ended the watch (its timeout, or a restart): resume at once,
    // but not in a tight loop if it keeps closing at once with nothing said.
    if (!received && Date.now() - opened < 1000) {
      if (++this.#quickEmptyCloses > 1) await this.#wait(this.#o.retryDelayMs * Math.min(2 ** (this.#quickEmptyCloses - 2), 32));
    } else this.#quickEmptyCloses = 0;
  }

  #onWatchLine(line: string): void {
    const event = JSON.parse(line) as { type?: string; object?: Json };
    const object = event.object ?? {};
    const rv = (object.metadata as Json | undefined)?.resourceVersion;
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED':
      case 'DELETED':
        this.#h.onEvent(event.type, object);
        if (typeof rv === 'string' && rv) this.#resourceVersion = rv;
        return;
      case 'BOOKMARK':
        if (typeof rv === 'string' && rv) this.#resourceVersion = rv;
        return;
      case 'ERROR': {
        const code = typeof object.code === 'number' ? object.code : 0;
        throw new KubeApiError(
          code,
          `watch ${this.#path}: ${typeof object.message === 'string' ? object.message : `error event ${JSON.stringify(object).slice(0, 200)}`}`,
          typeof object.reason === 'string' ? object.reason : undefined,
        );
      }
      default:
        throw new Error(`watch ${this.#path}: unknown event type ${JSON.stringify(event.type)}`);
    }
  }
}
