// `entitlegate audit verify|export`: the decision log read from the store
// itself (--store) or from a running ledger over HTTP (--ledger, role
// auditor). Both read page by page or as a stream: memory stays bounded
// whatever the log's length. Started by the CLI (cli/serve-audit.ts).
import type { KeyObject } from 'node:crypto';
import { createPublicKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { EntitlegateError } from '../../engine/errors.ts';
import { isPostgresUrl, openStore } from '../store/open.ts';
import type { Store } from '../store/types.ts';
import type { LogRecord } from './chain.ts';
import type { Checkpoint } from './checkpoint.ts';
import { exportPages } from './export.ts';
import { heapKeeper } from './heap.ts';
import { sinceSeq } from './routes.ts';
import { type AuditSource, paged, type VerifyResult, verifyLog } from './verify.ts';

export type AuditTarget = { store: string } | { ledger: string; token: string };

const TIMEOUT_MS = 30_000;

/** The ledger refused this token the auditor's reads (HTTP 403): exit 1, as a refusal is for every ledger command. */
export class AuditRefusal extends EntitlegateError {}

function storeSource(store: Store): AuditSource {
  const keep = heapKeeper(100_000);
  return {
    checkpoints: () => store.checkpoints(),
    records: (from) =>
      (async function* () {
        for await (const r of paged((s, l) => store.logRows(s, l), from)) {
          keep();
          yield r;
        }
      })(),
  };
}

async function get(url: string, token: string, path: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url + path, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new EntitlegateError(
      'EG_ERR_LEDGER_UNREACHABLE',
      `the ledger at ${url} could not be reached (${cause?.code ?? cause?.message ?? (err as Error).message})`,
    );
  }
  if (res.ok || res.status === 404) return res;
  const text = await res.text();
  let message = text;
  try {
    message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
  } catch {
    // not JSON: the text is the message
  }
  const why = `the ledger refused GET ${path} (HTTP ${res.status}): ${message}`;
  if (res.status === 403) throw new AuditRefusal('EG_ERR_LEDGER_AUTH', why);
  throw new EntitlegateError(res.status === 401 ? 'EG_ERR_LEDGER_AUTH' : 'EG_ERR_LEDGER_UNREACHABLE', why);
}

/** A response body's text as it arrives; a connection cut midway is the ledger's failure, said with the lines read by then. */
async function* bodyText(body: ReadableStream<Uint8Array>, lines: () => number): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  try {
    for await (const chunk of body) yield decoder.decode(chunk, { stream: true });
  } catch (err) {
    if (err instanceof EntitlegateError) throw err;
    throw new EntitlegateError(
      'EG_ERR_LEDGER_UNREACHABLE',
      `the ledger's export was cut off after line ${lines()}: ${(err as Error).message}`,
    );
  }
  const tail = decoder.decode();
  if (tail) yield tail;
}

/** JSON Lines from a response body, one record at a time. */
async function* jsonLines(body: ReadableStream<Uint8Array> | null): AsyncGenerator<LogRecord> {
  if (!body) return;
  let rest = '';
  let line = 0;
  const parse = (text: string): LogRecord => {
    line++;
    try {
      return JSON.parse(text) as LogRecord;
    } catch {
      throw new EntitlegateError('EG_ERR_LEDGER_UNREACHABLE', `the ledger's export, line ${line}: not JSON`);
    }
  };
  for await (const text of bodyText(body, () => line)) {
    const parts = (rest + text).split('\n');
    rest = parts.pop()!;
    for (const p of parts) if (p) yield parse(p);
  }
  if (rest.trim()) yield parse(rest);
}

function ledgerSource(url: string, token: string): AuditSource {
  return {
    checkpoints: async () => ((await (await get(url, token, '/v1/audit/checkpoints')).json()) as { checkpoints: Checkpoint[] }).checkpoints,
    records: (from) =>
      (async function* () {
        yield* jsonLines((await get(url, token, `/v1/audit/export?since=${from}`)).body);
      })(),
  };
}

async function withStore<T>(spec: string, fn: (store: Store) => Promise<T>): Promise<T> {
  // Opening a path that is not there would make an empty store, which "verifies".
  if (!isPostgresUrl(spec) && !existsSync(spec))
    throw new EntitlegateError('EG_ERR_FILE_NOT_FOUND', `--store ${spec}: no such store (a ledger's file, or postgres://…)`);
  const store = await openStore(spec);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export interface VerifyReport extends VerifyResult {
  /** The key the checkpoints were checked against, and where it came from. */
  key: { keyId: string | null; from: 'pinned' | 'ledger' | 'checkpoints' | 'none' };
}

export async function verifyAudit(target: AuditTarget, pinned: KeyObject | null): Promise<VerifyReport> {
  if ('store' in target)
    return withStore(target.store, async (store) => {
      const result = await verifyLog(storeSource(store), { key: pinned });
      return { ...result, key: keyNote(pinned, result, await store.checkpoints()) };
    });
  let key = pinned;
  let from: VerifyReport['key']['from'] = pinned ? 'pinned' : 'none';
  if (!key) {
    const res = await get(target.ledger, target.token, '/v1/audit/key');
    if (res.ok) {
      key = createPublicKey(((await res.json()) as { publicKey: string }).publicKey);
      from = 'ledger';
    }
  }
  const source = ledgerSource(target.ledger, target.token);
  const result = await verifyLog(source, { key });
  const cps = await source.checkpoints();
  return { ...result, key: from === 'none' ? keyNote(null, result, cps) : { keyId: cps[0]?.keyId ?? null, from } };
}

function keyNote(pinned: KeyObject | null, _r: VerifyResult, cps: Checkpoint[]): VerifyReport['key'] {
  if (pinned) return { keyId: cps[0]?.keyId ?? null, from: 'pinned' };
  return { keyId: cps.at(-1)?.keyId ?? null, from: cps.length ? 'checkpoints' : 'none' };
}

/**
 * The ledger's export as it arrives, cut at line ends (a line is never written
 * in halves), each line checked to be a record but not parsed: it is written as
 * the ledger sent it.
 */
async function* exportChunks(body: ReadableStream<Uint8Array> | null): AsyncGenerator<{ text: string; count: number }> {
  if (!body) return;
  let rest = '';
  let line = 0;
  const lines = (text: string): number => {
    let n = 0;
    for (let at = 0; at < text.length; at = text.indexOf('\n', at) + 1) {
      line++;
      if (!text.startsWith('{"seq":', at))
        throw new EntitlegateError('EG_ERR_LEDGER_UNREACHABLE', `the ledger's export, line ${line}: not a decision-log record`);
      n++;
    }
    return n;
  };
  for await (const chunk of bodyText(body, () => line)) {
    const text = rest + chunk;
    const end = text.lastIndexOf('\n') + 1;
    rest = text.slice(end);
    if (end > 0) {
      const whole = text.slice(0, end);
      yield { text: whole, count: lines(whole) };
    }
  }
  if (rest.trim()) throw new EntitlegateError('EG_ERR_LEDGER_UNREACHABLE', `the ledger's export was cut off in line ${line + 1}`);
}

/**
 * Streams the records from `since` (a seq or an ISO date) as JSON Lines to
 * `write`, a page at a time: the next page is read once the promise `write`
 * returns has resolved (a slow reader holds the export up, nothing piles up).
 */
export async function exportAudit(
  target: AuditTarget,
  since: string | undefined,
  write: (chunk: string) => void | Promise<void>,
): Promise<number> {
  let n = 0;
  if ('store' in target) {
    await withStore(target.store, async (store) => {
      for await (const page of exportPages(store, await sinceSeq(store, since))) {
        await write(page.text);
        n += page.count;
      }
    });
  } else {
    const q = since === undefined ? '' : `?since=${encodeURIComponent(since)}`;
    const res = await get(target.ledger, target.token, `/v1/audit/export${q}`);
    for await (const chunk of exportChunks(res.body)) {
      await write(chunk.text);
      n += chunk.count;
    }
  }
  return n;
}

export { loadPublicKey } from './checkpoint.ts';
