// The run task's HTTP: fetching the plan JSON and sending the result back,
// through connections that reach only the addresses the protocol allows.
//
// Every connection resolves its host through `guardedAgent`'s lookup, which
// refuses a loopback, link-local, private or reserved address unless the
// host is listed in `terraform.runTaskHosts`: the check runs on the address
// the socket then connects to, so a name that resolved to a public address
// when the request was accepted and to 127.0.0.1 a moment later (DNS
// rebinding) is refused all the same. Redirects are followed by hand, each
// target checked: same scheme, and the same host, a listed one, or HCP
// Terraform's plan storage host; the bearer token goes only to the origin it
// was issued for.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent, fetch as undiciFetch, type Response } from 'undici';
import { EntitlegateError } from '../engine/errors.ts';
import { JSON_API, addressProblem, hostListed, hostProblem, nameListed, type Resolve } from './run-task-protocol.ts';

export type FetchLike = typeof undiciFetch;
export const defaultFetch: FetchLike = undiciFetch;

/** HCP Terraform errors a task with no update within 10 minutes; stay well inside it. */
const FETCH_TIMEOUT_MS = 120_000;
const CALLBACK_TIMEOUT_MS = 30_000;
const CALLBACK_ATTEMPTS = 3;
const MAX_REDIRECTS = 5;
/**
 * The largest plan JSON fetched (bytes, after any content decoding). Plans of
 * big workspaces reach tens of MiB; a parsed plan takes several times its text
 * in memory, and V8 cannot hold a string much over 512 MiB, so reading stops at
 * 256 MiB and the task fails, saying so.
 */
export const PLAN_MAX_BYTES = 256 * 1024 * 1024;
/**
 * Where a plan URL's host may redirect to besides itself and the listed hosts:
 * app.terraform.io answers the plan JSON with a 307 to a signed URL on its
 * storage host (the Plans API: "a temporary redirect that should be followed").
 * Terraform Enterprise serves its storage on its own host.
 */
export const STORAGE_HOSTS: Readonly<Record<string, readonly string[]>> = { 'app.terraform.io': ['archivist.terraform.io'] };

export const resolveAll: Resolve = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  );

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** An undici Agent whose sockets connect only to addresses a run task may reach (see the top of this file). */
export function guardedAgent(allowedHosts: readonly string[] | undefined, resolve: Resolve = resolveAll): Agent {
  const lookup = (hostname: string, options: { all?: boolean }, callback: LookupCallback) => {
    resolve(hostname).then(
      (addresses) => {
        if (!nameListed(hostname, allowedHosts)) {
          for (const { address } of addresses) {
            const why = addressProblem(address);
            if (why) {
              const err: NodeJS.ErrnoException = new Error(
                `${hostname} resolves to ${why}; list its host in terraform.runTaskHosts to allow it`,
              );
              err.code = 'EG_ERR_ADDRESS';
              return callback(err, []);
            }
          }
        }
        if (!addresses.length) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
        if (options.all) return callback(null, addresses as LookupAddress[]);
        const first = addresses[0]!;
        return callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, []),
    );
  };
  return new Agent({ connect: { lookup } as Record<string, unknown> });
}

export interface TransportOptions {
  fetch: FetchLike;
  dispatcher: Agent;
  allowedHosts: readonly string[] | undefined;
}

/** Why a redirect from `from` to `to` is not followed, or undefined. */
export function redirectProblem(from: URL, to: URL, allowedHosts: readonly string[] | undefined): string | undefined {
  if (to.protocol !== from.protocol) return `it redirected from ${from.protocol}// to ${to.protocol}//${to.host}, another scheme`;
  if (to.username || to.password) return 'it redirected to a URL with credentials';
  const sameHost = to.hostname === from.hostname;
  const storage = STORAGE_HOSTS[from.hostname]?.includes(to.hostname) ?? false;
  if (!sameHost && !storage && !hostListed(to, allowedHosts)) {
    return `it redirected to another host (${to.host}); a redirect is followed only to the same host, to a host in terraform.runTaskHosts, or from app.terraform.io to archivist.terraform.io`;
  }
  return hostProblem(to, allowedHosts, 'the redirect');
}

/** Reads the plan JSON (following only the redirects redirectProblem allows), at most maxBytes of it. */
export async function fetchPlan(start: string, token: string, maxBytes: number, t: TransportOptions): Promise<string> {
  const failed = (why: string) =>
    new EntitlegateError('EG_ERR_INPUT_INVALID', `the plan JSON could not be fetched from ${redact(start)}: ${why}`);
  let url = new URL(start);
  const origin = url.origin;
  let res: Response;
  for (let hop = 0; ; hop++) {
    try {
      res = await t.fetch(url, {
        // The token is for the API that issued it, never for a host it redirects to.
        headers: url.origin === origin ? { Authorization: `Bearer ${token}`, Accept: 'application/json' } : { Accept: 'application/json' },
        redirect: 'manual',
        dispatcher: t.dispatcher,
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
    } catch (err) {
      throw failed(causeOf(err));
    }
    if (![301, 302, 303, 307, 308].includes(res.status)) break;
    await res.body?.cancel().catch(() => undefined);
    const location = res.headers.get('location');
    if (!location) throw failed(`HTTP ${res.status} without a Location`);
    if (hop >= MAX_REDIRECTS) throw failed(`more than ${MAX_REDIRECTS} redirects`);
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw failed(`HTTP ${res.status} to a Location that is not a URL`);
    }
    const why = redirectProblem(url, next, t.allowedHosts);
    if (why) throw failed(why);
    url = next;
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw failed(`HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
  }
  const tooLarge = () =>
    new EntitlegateError(
      'EG_ERR_INPUT_INVALID',
      `the plan JSON from ${redact(start)} is larger than ${sizeText(maxBytes)}, the most this server reads; check this plan with \`entitlegate check\` in a pre-apply step instead`,
    );
  const declared = Number(res.headers.get('content-length'));
  if (!res.headers.get('content-encoding') && Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge();
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof EntitlegateError) throw err;
    throw new EntitlegateError('EG_ERR_INPUT_INVALID', `the plan JSON from ${redact(start)} could not be read: ${causeOf(err)}`);
  }
  try {
    return Buffer.concat(chunks, total).toString('utf8');
  } catch (err) {
    throw new EntitlegateError('EG_ERR_INPUT_INVALID', `the plan JSON from ${redact(start)} could not be read: ${causeOf(err)}`);
  }
}

export interface CallbackStatus {
  ok: boolean;
  status?: number;
  reason?: string;
}

/** PATCHes the result to the callback URL, retrying 5xx, 429 and network errors; a redirect is not followed. */
export async function patchCallback(url: string, token: string, body: string, t: TransportOptions): Promise<CallbackStatus> {
  let last: CallbackStatus = { ok: false };
  for (let attempt = 1; attempt <= CALLBACK_ATTEMPTS; attempt++) {
    try {
      const res = await t.fetch(url, {
        method: 'PATCH',
        headers: { 'Content-Type': JSON_API, Accept: JSON_API, Authorization: `Bearer ${token}` },
        body,
        redirect: 'manual',
        dispatcher: t.dispatcher,
        signal: AbortSignal.timeout(CALLBACK_TIMEOUT_MS),
      });
      await res.body?.cancel().catch(() => undefined);
      if (res.ok) return { ok: true, status: res.status };
      last = { ok: false, status: res.status, ...(res.status >= 300 && res.status < 400 ? { reason: 'redirects are not followed' } : {}) };
      // 3xx and 4xx (401 expired token, 422 rejected payload) will not change on a retry.
      if (res.status < 500 && res.status !== 429) return last;
    } catch (err) {
      last = { ok: false, reason: causeOf(err) };
      if ((err as { cause?: { code?: string } }).cause?.code === 'EG_ERR_ADDRESS') return last;
    }
    if (attempt < CALLBACK_ATTEMPTS) await new Promise((r) => setTimeout(r, 250 * attempt));
  }
  return last;
}

function sizeText(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** A URL without its query (storage URLs carry signatures there). */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return 'the plan_json_api_url';
  }
}

export function causeOf(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timed out';
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}
