// Every command's usage and flags, in one table: `entitlegate CMD --help`
// prints from it, and the shell completions are generated from it
// (cli/completion.ts). cli/help.test.ts checks it against the flags each
// command really parses, so a flag cannot be added without its help.
import { FORMATS } from '../render/index.ts';
import { EXCEPTION_USAGE } from './exception.ts';

export interface Flag {
  name: string;
  short?: string;
  /** The value's placeholder; none for a boolean flag. */
  value?: string;
  /** Fixed choices, offered by the completions. */
  choices?: readonly string[];
  /** The value is a path (completions offer files). */
  file?: boolean;
  multiple?: boolean;
  help: string;
}

export interface CommandHelp {
  name: string;
  summary: string;
  usage: string[];
  /** What the positional arguments are. */
  args?: string;
  /** Sub-commands (policy build|test, completion bash|zsh|fish). */
  subcommands?: readonly string[];
  /** Positionals are paths (completions offer files). */
  fileArgs?: boolean;
  flags: Flag[];
}

const config: Flag = {
  name: 'config',
  short: 'c',
  value: 'FILE',
  file: true,
  help: 'the entitlegate config (products, entitlements, exceptions)',
};
const usage: Flag = {
  name: 'usage',
  short: 'u',
  value: 'FILE',
  file: true,
  multiple: true,
  help: 'a usage snapshot; several add up',
};
const now: Flag = { name: 'now', value: 'ISO-8601', help: 'decide as of this instant (what-if questions, tests); default: the clock' };
const scope: Flag[] = [
  { name: 'environment', value: 'E', help: 'the environment the change goes to (fills in what the inputs do not say)' },
  { name: 'cluster', value: 'C', help: 'the cluster the change goes to' },
  { name: 'namespace', value: 'N', help: 'the namespace for objects that name none' },
  { name: 'account', value: 'A', help: 'the cloud account or subscription' },
  { name: 'region', value: 'R', help: 'the cloud region' },
];
const help: Flag = { name: 'help', short: 'h', help: 'show this help' };

export const COMMANDS: CommandHelp[] = [
  {
    name: 'check',
    summary: 'decide whether a change fits the entitlements (exit 0 allowed, 1 blocked, 2 bad input)',
    usage: [
      'entitlegate check [PATH...] --config FILE [--usage FILE]... [--mode enforce|warn] [scope flags] [--format F] [--output FILE] [--quiet]',
    ],
    args: 'files, folders or - (stdin): Kubernetes YAML/JSON, AdmissionReview, Terraform or OpenTofu plan JSON, cdktf.out, claims JSON',
    fileArgs: true,
    flags: [
      config,
      usage,
      {
        name: 'mode',
        value: 'MODE',
        choices: ['enforce', 'warn'],
        help: 'enforce: violations block (exit 1); warn: reported, exit 0. Default: the config',
      },
      ...scope,
      { name: 'format', short: 'f', value: 'FORMAT', choices: FORMATS, help: 'how to print the decision' },
      { name: 'output', short: 'o', value: 'FILE', file: true, help: 'write the formatted decision to FILE and print the text summary' },
      { name: 'quiet', short: 'q', help: 'print one line (verdict and counts) instead of the report; the exit code says the rest' },
      {
        name: 'ledger',
        value: 'URL',
        help: "decide at this ledger with the organisation's usage (docs/ledger.md); the config's ledger: otherwise",
      },
      { name: 'reserve', help: 'with a ledger: hold the allowed change as a reservation (prints its id; confirm or release it)' },
      { name: 'ttl', value: 'DURATION', help: 'with --reserve: how long the reservation holds unconfirmed (default 30m, at most 7d)' },
      {
        name: 'source',
        value: 'NAME',
        help: 'with a ledger: the usage source whose report will show these resources (terraform:WORKSPACE); required to reserve a plan',
      },
      { name: 'token-file', value: 'FILE', file: true, help: "file holding the ledger's bearer token (default: $ENTITLEGATE_TOKEN)" },
      now,
      help,
    ],
  },
  {
    name: 'validate',
    summary: 'check a config (and usage snapshots) without deciding anything',
    usage: ['entitlegate validate --config FILE [--usage FILE]...'],
    flags: [config, usage, help],
  },
  {
    name: 'report',
    summary: 'utilisation, headroom, expiry and unused cost per product and entitlement',
    usage: [
      'entitlegate report --config FILE [--usage FILE]... [--format text|json|markdown] [--now ISO-8601]',
      'entitlegate report --ledger URL [--format json|markdown|csv] [--dormant-days N] [--token-file F]',
    ],
    flags: [
      config,
      usage,
      {
        name: 'format',
        short: 'f',
        value: 'FORMAT',
        choices: ['text', 'json', 'markdown', 'csv'],
        help: 'how to print the report (csv: with --ledger; default markdown with --ledger, else text)',
      },
      now,
      {
        name: 'ledger',
        value: 'URL',
        help: "the ledger's reconciliation: entitled vs declared vs discovered vs reserved (docs/dashboard.md)",
      },
      {
        name: 'dormant-days',
        value: 'N',
        help: 'with --ledger: an entitlement with nothing counted this many days is dormant (default 90)',
      },
      { name: 'token-file', value: 'FILE', file: true, help: "file holding the ledger's bearer token (default: $ENTITLEGATE_TOKEN)" },
      help,
    ],
  },
  {
    name: 'serve',
    summary: 'the Kubernetes admission webhook and HCP Terraform run task over HTTPS',
    usage: [
      'entitlegate serve --config FILE [--usage FILE]... (--tls-cert F --tls-key F | --insecure-http) [--port N] [--host H]',
      '    [--now ISO-8601] [--no-cluster] [--log-level L] [--reload-interval MS] [--shared-reservations NAMESPACE] [--replica-id ID]',
      '    [--metrics-port N] [--client-ca FILE]',
    ],
    flags: [
      config,
      usage,
      { name: 'tls-cert', value: 'FILE', file: true, help: 'PEM certificate (the kube-apiserver only calls webhooks over HTTPS)' },
      { name: 'tls-key', value: 'FILE', file: true, help: 'PEM private key of the certificate, unencrypted' },
      {
        name: 'client-ca',
        value: 'FILE',
        file: true,
        help: 'PEM CA of the kube-apiserver client certificate; /validate answers 401 to any other client (needs --tls-cert)',
      },
      { name: 'insecure-http', help: 'serve plain HTTP without TLS files (local testing only)' },
      { name: 'port', short: 'p', value: 'N', help: 'port to listen on (default 8443; 0 picks a free one)' },
      { name: 'host', value: 'H', help: 'address to listen on (default 0.0.0.0)' },
      now,
      { name: 'no-cluster', help: 'do not look for a cluster to watch; decide from the usage snapshots alone' },
      {
        name: 'log-level',
        value: 'L',
        choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
        help: 'log level (default info)',
      },
      { name: 'reload-interval', value: 'MS', help: 'how often to look for changed config and usage files (default 1000; 0 turns it off)' },
      {
        name: 'shared-reservations',
        value: 'NAMESPACE',
        help: 'share admission reservations between replicas through Leases in this namespace',
      },
      { name: 'replica-id', value: 'ID', help: "this replica's name in shared reservations (default: the host name)" },
      {
        name: 'metrics-port',
        value: 'N',
        help: 'also serve GET /metrics alone over plain HTTP on this port (for Prometheus; 0 picks a free one)',
      },
      {
        name: 'ledger',
        value: 'URL',
        help: "decide and reserve admissions at this ledger, and report the cluster's usage to it (the config's ledger: otherwise)",
      },
      {
        name: 'token-file',
        value: 'FILE',
        file: true,
        help: "with --ledger: file holding the ledger's bearer token (default: $ENTITLEGATE_TOKEN)",
      },
      help,
    ],
  },
  {
    name: 'policy',
    summary: 'build or test the built-in rules together with your own Rego (needs the OPA compiler)',
    usage: ['entitlegate policy build DIR [--output FILE]', 'entitlegate policy test DIR'],
    args: 'DIR: the folder of your Rego rules',
    subcommands: ['build', 'test'],
    fileArgs: true,
    flags: [
      { name: 'output', short: 'o', value: 'FILE', file: true, help: 'build: where to write the .wasm (default DIR/policy.wasm)' },
      help,
    ],
  },
  {
    name: 'completion',
    summary: 'print a shell completion script',
    usage: ['entitlegate completion bash|zsh|fish'],
    args: 'bash: source <(entitlegate completion bash); zsh: entitlegate completion zsh > ~/.zfunc/_entitlegate (a folder on $fpath); fish: entitlegate completion fish > ~/.config/fish/completions/entitlegate.fish',
    subcommands: ['bash', 'zsh', 'fish'],
    flags: [help],
  },
  {
    name: 'ledger',
    summary: 'the ledger: one record of usage and reservations for every gate (docs/ledger.md)',
    usage: [
      'entitlegate ledger serve --config FILE --store STORE [--port N] [--host H] [--tls-cert F --tls-key F] [--insecure-http]',
      '    [--signing-key FILE [--checkpoint-every N] [--checkpoint-minutes T] [--retain-days N]]',
      'entitlegate ledger token create --store STORE --name NAME --role ROLE... [--product P]... [--scope DIM=VALUE]...',
      'entitlegate ledger token list --store STORE [--format text|json]',
      'entitlegate ledger token revoke ID --store STORE',
      'entitlegate ledger key create FILE',
      'entitlegate ledger usage put --ledger URL --source NAME FILE [--stale-after 2h] [--token-file F]',
      '    [--environment E] [--cluster C] [--namespace N] [--account A] [--region R]   (the scope of a Terraform state)',
      'entitlegate ledger confirm|release ID --ledger URL [--token-file F]',
    ],
    flags: [help],
  },
  {
    name: 'exception',
    summary: 'request, approve, deny, revoke and list exceptions at the ledger (docs/ledger.md)',
    usage: EXCEPTION_USAGE,
    subcommands: ['request', 'approve', 'deny', 'revoke', 'list'],
    flags: [
      { name: 'ledger', value: 'URL', help: "the ledger's URL" },
      { name: 'token-file', value: 'FILE', file: true, help: "file holding the ledger's bearer token (default: $ENTITLEGATE_TOKEN)" },
      { name: 'format', short: 'f', value: 'FORMAT', choices: ['text', 'json'], help: 'text, or json: the exception record(s), with ids' },
      { name: 'product', value: 'P', help: 'request: the product that needs more' },
      { name: 'quantity', value: 'N', help: "request: how much more, in the product's metric" },
      { name: 'until', value: 'DATE', help: 'request: the last day (or instant) it lasts; at most ledger.exceptions.maxDays ahead' },
      { name: 'scope', value: 'DIM=VALUE', multiple: true, help: 'request: where it applies, such as environment=prod' },
      { name: 'reason', value: 'TEXT', help: 'request: why (required); approve, deny, revoke: a note kept with the step' },
      { name: 'ticket', value: 'REF', help: 'request: the change or incident it is for (the ledger requires one)' },
      { name: 'state', value: 'STATE', choices: ['pending', 'active', 'ended'], help: 'list: only these' },
      help,
    ],
  },
  {
    name: 'audit',
    summary: 'verify or export the ledger’s hash-chained decision log (docs/ledger.md)',
    usage: [
      'entitlegate audit verify (--ledger URL | --store STORE) [--key FILE] [--format text|json] [--token-file F]',
      'entitlegate audit export [--since SEQ|DATE] (--ledger URL | --store STORE) [--token-file F]',
    ],
    args: 'verify exits 1 and names the first record that does not verify; export writes JSON Lines to stdout',
    flags: [
      { name: 'ledger', value: 'URL', help: 'read the log from this running ledger (a token with the auditor role)' },
      { name: 'store', value: 'STORE', file: true, help: 'read the log from the store itself: a path, or postgres://…' },
      { name: 'key', value: 'FILE', file: true, help: 'verify: the Ed25519 public key (PEM) checkpoints must be signed with' },
      { name: 'format', value: 'FORMAT', choices: ['text', 'json'], help: 'verify: text (default) or json' },
      { name: 'since', value: 'SEQ|DATE', help: 'export: records from this seq, or at or after this ISO-8601 date' },
      { name: 'token-file', value: 'FILE', file: true, help: "file holding the ledger's bearer token (default: $ENTITLEGATE_TOKEN)" },
      help,
    ],
  },
  {
    name: 'version',
    summary: 'print the version (also --version)',
    usage: ['entitlegate version'],
    flags: [help],
  },
];

export function commandHelp(name: string): CommandHelp | undefined {
  return COMMANDS.find((c) => c.name === name);
}

function flagLine(f: Flag): [string, string] {
  const value = f.value ? ` ${f.choices ? f.choices.join('|') : f.value}` : '';
  const names = `${f.short ? `-${f.short}, ` : '    '}--${f.name}${value}`;
  return [names, f.help + (f.multiple ? ' (repeatable)' : '')];
}

export function renderCommandHelp(c: CommandHelp): string {
  const rows = c.flags.map(flagLine);
  const width = Math.min(Math.max(...rows.map(([n]) => n.length)), 44);
  const lines = [`entitlegate ${c.name} — ${c.summary}`, '', 'Usage:', ...c.usage.map((u) => `  ${u}`)];
  if (c.args) lines.push('', `Arguments: ${c.args}`);
  lines.push('', 'Flags:');
  for (const [n, h] of rows) lines.push(n.length > width ? `  ${n}\n  ${' '.repeat(width)}  ${h}` : `  ${n.padEnd(width)}  ${h}`);
  lines.push('', EXIT_CODES, '');
  return lines.join('\n');
}

export const EXIT_CODES = 'Exit codes: 0 allowed (or done), 1 blocked, 2 bad input, config or usage (nothing evaluated).';

export function renderOverview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'entitlegate — block deployments that would exceed a software licence entitlement',
    '',
    'Usage: entitlegate COMMAND [flags]      entitlegate COMMAND --help shows every flag',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    '  entitlegate --version, entitlegate --help',
    '',
    EXIT_CODES,
    '',
  ].join('\n');
}
