// GET requests to the Kubernetes API over plain HTTP(S) JSON, for the
// list/watch client (list-watch.ts).
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
