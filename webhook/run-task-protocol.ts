// The run task's side of HCP Terraform's protocol: the request payload, its
// signature, and which URLs named in it this server may request.
//
// Protocol (developer.hashicorp.com/terraform/cloud-docs/api-docs/run-tasks/run-tasks-integration):
// HCP Terraform POSTs a JSON payload, signed in `X-TFC-Task-Signature` (hex
// HMAC-SHA512 of the raw body) when the task has an HMAC key, and expects 200
// at once; the result goes back later as a PATCH of `task_result_callback_url`.
//
// The payload names the URLs this server then requests, so whoever holds the
// HMAC key could point it into the server's own network (a cloud metadata
// endpoint, the Kubernetes API, an admin port on localhost). So the URLs must
// be https (http only to a listed loopback host, for local tests), on one
// host, on a configured host when `terraform.runTaskHosts` is set, and never
// on a loopback, link-local, private or reserved address unless their host is
// listed. Names are resolved and checked here, and again when the connection
// is made (run-task-transport.ts), so a DNS answer that changes between the
// two (rebinding) is caught too.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';

export const RUN_TASK_PATH = '/terraform/run-task';
export const SIGNATURE_HEADER = 'x-tfc-task-signature';
export const JSON_API = 'application/vnd.api+json';
/**
 * Tokens of the test request HCP Terraform sends when a run task is created or
 * edited: HashiCorp's run task scaffolding treats `test-token` as that request;
 * `verification-token` is accepted too. Such a request is answered 200 and
 * nothing is fetched or called back.
 */
export const VERIFICATION_TOKENS: ReadonlySet<string> = new Set(['test-token', 'verification-token']);
export const PLAN_STAGES: ReadonlySet<string> = new Set(['post_plan', 'pre_apply']);
export const NO_PLAN_STAGES: ReadonlySet<string> = new Set(['pre_plan', 'post_apply']);

/** The fields of the run task request read here (others are ignored). */
export interface RunTaskPayload {
  payload_version: number;
  stage: string;
  access_token: string;
  capabilities?: { outcomes?: boolean };
  is_speculative?: boolean;
  organization_name?: string;
  workspace_name?: string;
  run_id?: string;
  run_app_url?: string;
  task_result_id?: string;
  task_result_callback_url: string;
  task_result_enforcement_level?: string;
  plan_json_api_url?: string;
}

/** Constant-time check of the hex HMAC-SHA512 of the raw body. */
export function signatureValid(raw: Buffer, signature: string | undefined, key: string): boolean {
  if (!signature) return false;
  const expected = Buffer.from(createHmac('sha512', key).update(raw).digest('hex'), 'utf8');
  const given = Buffer.from(signature.trim().toLowerCase(), 'utf8');
  // The expected length is public (128 hex digits); only equal lengths are compared.
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The payload, or why it is not one this endpoint can act on. */
export function parsePayload(value: unknown): RunTaskPayload | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'the body is not a JSON object';
  const p = value as Record<string, unknown>;
  if (p.payload_version !== 1) return `payload_version ${JSON.stringify(p.payload_version)} is not supported (only 1)`;
  for (const key of ['stage', 'access_token', 'task_result_callback_url'] as const) {
    if (typeof p[key] !== 'string' || p[key] === '') return `${key} is missing or not a string`;
  }
  if (!isHttpUrl(p.task_result_callback_url as string)) return 'task_result_callback_url is not an http(s) URL';
  if (
    p.plan_json_api_url !== undefined &&
    p.plan_json_api_url !== null &&
    (typeof p.plan_json_api_url !== 'string' || !isHttpUrl(p.plan_json_api_url))
  ) {
    return 'plan_json_api_url is not an http(s) URL';
  }
  if (p.task_result_id !== undefined && typeof p.task_result_id !== 'string') return 'task_result_id is not a string';
  return p as unknown as RunTaskPayload;
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

/** localhost, 127.0.0.0/8 and ::1: the only hosts plain http is allowed to. */
export function isLoopbackHost(hostname: string): boolean {
  const h = bare(hostname);
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** A URL's hostname without IPv6 brackets, lower-case. */
function bare(hostname: string): string {
  return hostname.toLowerCase().replace(/^\[|\]$/g, '');
}

/** Whether `terraform.runTaskHosts` lists this URL's host: by name, or as `host:port`. */
export function hostListed(url: URL, allowedHosts: readonly string[] | undefined): boolean {
  if (!allowedHosts) return false;
  const name = bare(url.hostname);
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return allowedHosts.some((entry) => {
    const e = entry.toLowerCase();
    return bare(e) === name || e === url.host.toLowerCase() || e === `${url.hostname.toLowerCase()}:${port}`;
  });
}

/** Whether `terraform.runTaskHosts` lists this host name (any port): the connect-time check knows only the name. */
export function nameListed(hostname: string, allowedHosts: readonly string[] | undefined): boolean {
  if (!allowedHosts) return false;
  const name = bare(hostname);
  return allowedHosts.some((entry) => {
    const e = entry.toLowerCase();
    const entryName = e.startsWith('[') ? e.slice(1, e.indexOf(']')) : e.split(':').length === 2 ? e.split(':')[0]! : e;
    return entryName === name;
  });
}

// Addresses a run task never reaches unless their host is listed (link-local
// holds the cloud metadata endpoints, 169.254.169.254). Node's
// BlockList also matches IPv4-mapped IPv6 (::ffff:127.0.0.1) against the IPv4 rules.
const NOT_PUBLIC: [string, number, 'ipv4' | 'ipv6', string][] = [
  ['0.0.0.0', 8, 'ipv4', 'reserved'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['100.64.0.0', 10, 'ipv4', 'carrier-grade NAT (shared)'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local'],
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.0.0.0', 24, 'ipv4', 'reserved'],
  ['192.0.2.0', 24, 'ipv4', 'reserved (documentation)'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['198.18.0.0', 15, 'ipv4', 'reserved (benchmarking)'],
  ['198.51.100.0', 24, 'ipv4', 'reserved (documentation)'],
  ['203.0.113.0', 24, 'ipv4', 'reserved (documentation)'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  ['::', 96, 'ipv6', 'reserved (IPv4-compatible)'],
  ['100::', 64, 'ipv6', 'reserved (discard)'],
  ['2001:db8::', 32, 'ipv6', 'reserved (documentation)'],
  ['fc00::', 7, 'ipv6', 'private (unique local)'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['fec0::', 10, 'ipv6', 'private (site-local)'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];
const RULES = NOT_PUBLIC.map(([net, prefix, family, kind]) => {
  const list = new BlockList();
  list.addSubnet(net, prefix, family);
  return { list, kind };
});

/** The 16 bytes of an IPv6 address (isIP(address) === 6). */
function ipv6Bytes(address: string): number[] {
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t].map((g) => Number.parseInt(g, 16));
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

/**
 * Why a run task must not connect to this IP address (loopback, link-local,
 * private, reserved…), or undefined for a public address. IPv6 forms that
 * carry an IPv4 address (NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by
 * that address.
 */
export function addressProblem(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return `"${address}" is not an IP address`;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const { list, kind } of RULES) if (list.check(address, type)) return `${address} is a ${kind} address`;
  if (family === 6) {
    const b = ipv6Bytes(address);
    const nat64 = b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && b.slice(4, 12).every((x) => x === 0);
    const embedded = nat64 ? b.slice(12, 16) : b[0] === 0x20 && b[1] === 0x02 ? b.slice(2, 6) : undefined;
    if (embedded) {
      const why = addressProblem(embedded.join('.'));
      if (why) return `${address} carries ${embedded.join('.')}, which ${why.replace(/^\S+ is/, 'is')}`;
    }
  }
  return undefined;
}

/** The URLs of a request, by the payload field that names them. */
export type NamedUrls = Pick<RunTaskPayload, 'task_result_callback_url' | 'plan_json_api_url'>;

/**
 * Why the URLs the payload names must not be requested, or undefined when they
 * may: each is https (http only on a loopback host), carries no credentials,
 * the plan URL is on the callback URL's host (HCP Terraform's or the TFE
 * instance's: host and port), that host is in `allowedHosts` when given (an
 * entry is a host name, or `host:port` to pin the port too), and an IP
 * address written in the URL is a public one unless the host is listed.
 */
export function urlProblem(payload: NamedUrls, allowedHosts?: readonly string[]): string | undefined {
  const named: [string, string][] = [['task_result_callback_url', payload.task_result_callback_url]];
  if (payload.plan_json_api_url) named.push(['plan_json_api_url', payload.plan_json_api_url]);
  const urls: URL[] = [];
  for (const [field, text] of named) {
    let u: URL;
    try {
      u = new URL(text);
    } catch {
      return `${field} is not a URL`;
    }
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && isLoopbackHost(u.hostname))) {
      return `${field} must be an https URL (plain http only to a loopback host), not ${u.protocol}//${u.host}`;
    }
    if (u.username || u.password) return `${field} must not carry credentials`;
    urls.push(u);
  }
  const [callback, plan] = urls as [URL, URL | undefined];
  if (plan && plan.host !== callback.host) {
    return `plan_json_api_url (${plan.host}) and task_result_callback_url (${callback.host}) must be on the same host: the HCP Terraform or Terraform Enterprise host that sent the request`;
  }
  if (allowedHosts && !hostListed(callback, allowedHosts)) {
    return `${callback.host} is not in terraform.runTaskHosts (${allowedHosts.join(', ')})`;
  }
  return hostProblem(callback, allowedHosts, 'task_result_callback_url');
}

/**
 * Why this URL's host may not be reached by what its name says — `localhost`
 * or an IP literal that is not public — unless the host is listed. Names are
 * checked by their addresses (resolveProblem, and at connect time).
 */
export function hostProblem(url: URL, allowedHosts: readonly string[] | undefined, field: string): string | undefined {
  if (hostListed(url, allowedHosts)) return undefined;
  const name = bare(url.hostname);
  const why = isIP(name) ? addressProblem(name) : isLoopbackHost(name) ? `${name} is a loopback host` : undefined;
  return why ? `${field}: ${why}; list its host in terraform.runTaskHosts to allow it` : undefined;
}

/** How names are resolved: all addresses of a host name (dns.lookup with all: true, or a test's stand-in). */
export type Resolve = (hostname: string) => Promise<{ address: string; family: number }[]>;

/** Why a host name resolves to an address a run task must not reach (see hostProblem), or undefined. */
export async function resolveProblem(
  url: URL,
  allowedHosts: readonly string[] | undefined,
  resolve: Resolve,
  field: string,
): Promise<string | undefined> {
  const name = bare(url.hostname);
  if (isIP(name) || hostListed(url, allowedHosts)) return undefined;
  let addresses: { address: string }[];
  try {
    addresses = await resolve(name);
  } catch (err) {
    return `${field}: ${name} could not be resolved (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  for (const { address } of addresses) {
    const why = addressProblem(address);
    if (why) return `${field}: ${name} resolves to ${why}; list its host in terraform.runTaskHosts to allow it`;
  }
  return undefined;
}
