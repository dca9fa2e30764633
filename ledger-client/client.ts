// The client of the ledger's /v1 API (docs/ledger.md), shared by every surface
// (check, the Action, the webhook, the run task). Every failure is an
// EntitlegateError a person can act on: the ledger unreachable or a token
// refused exits 2 (nothing was decided or recorded); a refusal of the step
// itself (a role the token lacks, an ended reservation) is a LedgerRefusal,
// which the commands turn into exit 1.
import { readFileSync } from 'node:fs';
import { EntitlegateError, type ErrorCode, type Problem } from '../engine/errors.ts';
import { type Claim, type Decision, type Mode, resourceId, type Scope, type UsageRecord } from '../engine/types.ts';
import { VERSION } from '../engine/version.ts';

const TIMEOUT_MS = 30_000;

export class LedgerRefusal extends EntitlegateError {}

export interface LedgerClientOptions {
  url: string;
  token: string;
  /** How long one call may take before it fails as unreachable (default 30 s; the webhook answers within the apiserver's timeout). */
  timeoutMs?: number;
  /** How a request is sent (default: the global fetch). A server making many calls passes a pooled HTTP client. */
  send?: Send;
  /** Which surface calls (cli, action, webhook): the decision log shows it. */
  surface?: string;
}

/** One HTTP exchange; throws when no answer came (refused, reset, timed out). */
export type Send = (req: {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
}) => Promise<{ status: number; text: string }>;

const fetchSend: Send = async (req) => {
  const res = await fetch(req.url, {
    method: req.method,
    headers: req.headers,
    ...(req.body !== undefined ? { body: req.body } : {}),
    signal: AbortSignal.timeout(req.timeoutMs),
  });
  return { status: res.status, text: await res.text() };
};

/** `POST /v1/decisions` (docs/ledger.md, "The API"). */
export interface DecisionRequest {
  claims: Claim[];
  scope?: Scope;
  mode?: Mode;
  reserve?: boolean;
  /** A duration such as `120s` or `30m`. */
  ttl?: string;
  configDigest?: string;
  /** With reserve: a name for the reservation; while one made under it holds, the ledger returns it instead of reserving twice. */
  reservationKey?: string;
}

/** `reused`: the reservation made earlier under the request's reservationKey, which still holds (null expiry: confirmed). */
export type LedgerDecision = Decision & { reservation?: { id: string; expiresAt: string | null; reused?: true } };

/** A usage source's name at the ledger (`cluster:prod-eu-1`, `terraform:payments-prod`). */
export const SOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$/;

/**
 * A resource's id at the ledger when its own id is unique only within its
 * source: a Terraform address in one workspace (`terraform:prod/aws_instance.db`),
 * a Kubernetes object in one cluster (`cluster:prod/Deployment/apps/web`).
 * The source's usage reports give its resources the same ids, so they settle
 * the reservations the claims made.
 */
export function sourcedId(source: string, id: string): string {
  return `${source}/${id}`;
}

/** The claims with their resources' ids as the ledger knows them from `source` (sourcedId). */
export function claimsOfSource(claims: readonly Claim[], source: string): Claim[] {
  return claims.map((c) => (c.resource ? { ...c, resource: { ...c.resource, address: sourcedId(source, resourceId(c.resource)) } } : c));
}

/**
 * Refuses to reserve claims identified by Terraform address (a plan, a CDK for
 * Terraform synth) without the source whose state will report them: the
 * reservation could never be settled by a state report, and two workspaces of
 * one layout would share ids. `flag` names the option in the message.
 */
export function checkReservationSource(claims: readonly Claim[], source: string | undefined, flag: string): void {
  if (source !== undefined) {
    if (!SOURCE_NAME.test(source))
      throw new EntitlegateError(
        'EG_ERR_USAGE',
        `${flag} must be a source name: letters, digits and . _ : / - (such as terraform:payments-prod), at most 200, not "${source}"`,
      );
    return;
  }
  // Only what a reservation would hold needs it: a plan that only frees capacity reserves nothing.
  const addressed = claims.find((c) => c.resource?.address && c.quantity !== null && c.quantity > 0);
  if (addressed)
    throw new EntitlegateError(
      'EG_ERR_USAGE',
      `reserving Terraform resources (${addressed.resource!.address}) needs ${flag} NAME: the source whose state reports them after apply (entitlegate ledger usage put --source NAME state.json), such as terraform:payments-prod; without it the state could never settle the reservation and workspaces of one layout would be taken for the same resources. Nothing was reserved`,
    );
}

/** A source's report (`PUT /v1/sources/{name}/usage`): a usage snapshot whose records may name their resource. */
export interface UsageReport {
  version: 1;
  source: string;
  observedAt: string;
  usage: (UsageRecord & { resource?: string })[];
}

/** The token from --token-file, else $ENTITLEGATE_TOKEN; never printed. */
export function tokenFrom(tokenFile: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (tokenFile) {
    let text: string;
    try {
      text = readFileSync(tokenFile, 'utf8');
    } catch (err) {
      throw new EntitlegateError(
        'EG_ERR_FILE_NOT_FOUND',
        `--token-file ${tokenFile}: cannot read it: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
    const token = text.trim();
    if (!token) throw new EntitlegateError('EG_ERR_USAGE', `--token-file ${tokenFile} is empty`);
    return token;
  }
  const token = env.ENTITLEGATE_TOKEN?.trim();
  if (!token) throw new EntitlegateError('EG_ERR_USAGE', 'the ledger needs a token: set $ENTITLEGATE_TOKEN or pass --token-file FILE');
  return token;
}

export function ledgerUrl(value: unknown): string {
  const url = String(value ?? '');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new EntitlegateError('EG_ERR_USAGE', `--ledger must be the ledger's URL, such as https://ledger.example.com, not "${url}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new EntitlegateError('EG_ERR_USAGE', `--ledger must be an http:// or https:// URL, not "${url}"`);
  return parsed.toString().replace(/\/+$/, '');
}

export class LedgerClient {
  readonly url: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly send: Send;
  private readonly surface: string;

  constructor(opts: LedgerClientOptions) {
    this.surface = opts.surface ?? 'cli';
    this.url = opts.url;
    this.token = opts.token;
    this.timeoutMs = opts.timeoutMs ?? TIMEOUT_MS;
    this.send = opts.send ?? fetchSend;
  }

  decide(request: DecisionRequest): Promise<LedgerDecision> {
    return this.call<LedgerDecision>('POST', '/v1/decisions', JSON.stringify(request));
  }

  /** Replaces the source's usage at the ledger (the previous report is kept as history). */
  putUsage(report: UsageReport, staleAfter?: string): Promise<{ source: string; records: number; settled: unknown[] }> {
    const query = staleAfter ? `?staleAfter=${encodeURIComponent(staleAfter)}` : '';
    return this.call('PUT', `/v1/sources/${encodeURIComponent(report.source)}/usage${query}`, JSON.stringify(report));
  }

  async call<T>(method: string, path: string, body?: string, contentType = 'application/json'): Promise<T> {
    let res: { status: number; text: string };
    try {
      res = await this.send({
        method,
        url: this.url + path,
        headers: {
          authorization: `Bearer ${this.token}`,
          // The decision log records which client (surface and version) asked.
          'user-agent': `entitlegate/${VERSION} (${this.surface})`,
          ...(body !== undefined ? { 'content-type': contentType } : {}),
        },
        ...(body !== undefined ? { body } : {}),
        timeoutMs: this.timeoutMs,
      });
    } catch (err) {
      const e = err as { code?: string; cause?: { code?: string; message?: string }; message?: string };
      const why = e.cause?.code ?? e.cause?.message ?? e.code ?? e.message;
      throw new EntitlegateError(
        'EG_ERR_LEDGER_UNREACHABLE',
        `the ledger at ${this.url} could not be reached (${why}); nothing was decided or recorded`,
      );
    }
    const text = res.text;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new EntitlegateError(
        'EG_ERR_LEDGER_UNREACHABLE',
        `${this.url}${path} answered HTTP ${res.status} with something other than JSON: is it an entitlegate ledger?`,
      );
    }
    if (res.status >= 200 && res.status < 300) return json as T;
    const e = (json as { error?: { code?: string; message?: string; problems?: Problem[] } }).error ?? {};
    const message = `the ledger refused ${method} ${path} (HTTP ${res.status}): ${e.message ?? text}`;
    const code = (e.code ?? 'EG_ERR_LEDGER_UNREACHABLE') as ErrorCode;
    if (res.status === 403 || res.status === 409) throw new LedgerRefusal(code, message, e.problems ?? []);
    if (res.status === 503) throw new EntitlegateError('EG_ERR_LEDGER_UNREACHABLE', `${message}; try again shortly`);
    throw new EntitlegateError(code, message, e.problems ?? []);
  }
}
