// List-then-watch of one collection of the Kubernetes API: paged lists
// (limit + continue) read item by item, then a watch from the list's
// resourceVersion (bookmarks on). 410 Gone relists, dropped connections
// rewatch with backoff, stop() aborts everything.
import { isGone, KubeApiError, type KubeClient } from './kube-http.ts';
import { LineSplitter, ListPageParser } from './list-parser.ts';

type Json = Record<string, unknown>;

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
