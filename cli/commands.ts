// The commands of the CLI contract (docs/architecture.md, Contracts). Each returns its exit code:
// 0 allowed, 1 blocked, 2 bad input (nothing evaluated).
import { relative, resolve } from 'node:path';
import { standingReport } from '../engine/report.ts';
import { formatFrom, modeFrom, nowFrom, parse, scopeFrom, scopeOptions, strings, usageError } from './args.ts';
import { loadEngine } from '../config/load.ts';
import { definitionLines } from '../engine/config/definitions.ts';
import { claimsFromPaths, type InputWarning, reportClash } from '../inputs/read.ts';
import { quietLine, renderDecision, renderReport } from '../render/index.ts';
import type { Io } from './io.ts';
import { removeStaleReport, writeReport } from './output.ts';
import { checkLedgerFlags, checkWithLedger, ledgerCheckOptions, wantsLedger } from './ledger-check.ts';
import { reportFromLedger } from './report-ledger.ts';

/** `file:line: message`, as compilers and the error lines of `check` name a place. */
function warningText(w: InputWarning): string {
  const at = w.file === undefined ? '' : w.line === undefined ? `${w.file}: ` : `${w.file}:${w.line}: `;
  return at + w.message;
}

export async function check(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      config: { type: 'string', short: 'c' },
      usage: { type: 'string', short: 'u', multiple: true },
      mode: { type: 'string' },
      format: { type: 'string', short: 'f' },
      output: { type: 'string', short: 'o' },
      now: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      ...scopeOptions,
      ...ledgerCheckOptions,
    },
    true,
  );
  const output = values.output as string | undefined;
  const configFile = values.config as string | undefined;
  const usageFiles = strings(values.usage);
  // A refused --output names one of the run's own files: it is left as it is.
  let refused = false;
  const refuseOutput = (others: { path: string; what: string }[], paths: readonly string[] = []) => {
    const clash = output === undefined ? undefined : reportClash(output, paths, others);
    refused = clash !== undefined;
    if (clash) throw usageError(`--output ${output} would overwrite or feed an input (${clash}); write the report elsewhere`);
  };
  try {
    // Before anything is read: the inputs, the config, the usage snapshots.
    refuseOutput(
      [
        ...(configFile ? [{ path: configFile, what: 'the config' }] : []),
        ...usageFiles.map((u) => ({ path: u, what: `the usage snapshot ${u}` })),
      ],
      positionals,
    );
    const format = formatFrom(values.format);
    const mode = modeFrom(values.mode);
    const now = nowFrom(values.now, io.clock);
    if (!positionals.length) throw usageError('check needs at least one PATH (a file, a folder, or - for stdin)');
    checkLedgerFlags(values);
    const warn = (w: InputWarning) => io.stderr(`entitlegate: warning: ${warningText(w)}\n`);
    const notInputs = [...(configFile ? [configFile] : []), ...usageFiles];
    if (values.ledger)
      return await checkWithLedger({ values, paths: positionals, scope: scopeFrom(values), mode, format, notInputs, warn }, io);
    const { config, engine } = await loadEngine(configFile, usageFiles);
    const ledger = config.config.ledger;
    if (wantsLedger(values, !!ledger)) {
      const settings = ledger ? { settings: { ...ledger, configFile: config.file } } : {};
      return await checkWithLedger(
        { values, paths: positionals, scope: scopeFrom(values), mode, format, notInputs, warn, ...settings },
        io,
      );
    }
    if (config.policyPath) refuseOutput([{ path: config.policyPath, what: "the config's compiled policy" }]);
    // Gone before the inputs are read: a run killed from here on leaves no
    // earlier verdict behind either.
    if (output !== undefined) removeStaleReport(output);
    // On stderr, whatever the format: JSON and SARIF on stdout stay parseable.
    const claims = claimsFromPaths(positionals, { config: config.config, scope: scopeFrom(values), notInputs, warn }, io.readStdin);
    const decision = engine.decide(claims, mode ? { now, mode } : { now });
    const out = renderDecision(decision, format, { configFile: config.file, configLine: definitionLines(config) });
    if (output !== undefined) {
      writeReport(output, out);
      io.stdout(values.quiet ? quietLine(decision) : renderDecision(decision, 'text'));
    } else io.stdout(values.quiet ? quietLine(decision) : out);
    return decision.allowed ? 0 : 1;
  } catch (err) {
    if (output !== undefined && !refused) removeStaleReport(output);
    throw err;
  }
}

export async function validate(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, { config: { type: 'string', short: 'c' }, usage: { type: 'string', short: 'u', multiple: true } }, false);
  const { config, usage } = await loadEngine(values.config as string | undefined, strings(values.usage));
  const c = config.config;
  io.stdout(
    `${config.file}: valid — ${c.products.length} products, ${c.entitlements.length} entitlements, ${c.exceptions.length} exceptions` +
      (usage.length ? `; ${usage.length} usage snapshot${usage.length === 1 ? '' : 's'} valid` : '') +
      '\n',
  );
  return 0;
}

export async function report(args: string[], io: Io): Promise<number> {
  const { values } = parse(
    args,
    {
      config: { type: 'string', short: 'c' },
      usage: { type: 'string', short: 'u', multiple: true },
      format: { type: 'string', short: 'f' },
      now: { type: 'string' },
      ledger: { type: 'string' },
      'token-file': { type: 'string' },
      'dormant-days': { type: 'string' },
    },
    false,
  );
  if (values.ledger !== undefined) return reportFromLedger(values, io);
  if (values['dormant-days'] !== undefined || values['token-file'] !== undefined)
    throw usageError('--dormant-days and --token-file go with --ledger URL');
  const format = formatFrom(values.format, ['text', 'json', 'markdown']);
  const now = nowFrom(values.now, io.clock);
  const { engine } = await loadEngine(values.config as string | undefined, strings(values.usage));
  io.stdout(renderReport(standingReport(engine, now), format));
  return 0;
}

export async function policy(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parse(rest, { output: { type: 'string', short: 'o' } }, true);
  if ((sub !== 'build' && sub !== 'test') || positionals.length !== 1)
    throw usageError('usage: entitlegate policy build|test DIR [--output FILE]');
  const dir = resolve(positionals[0]!);
  // Imported here: it loads child_process, which no other command needs.
  const { buildPolicy, testPolicy } = await import('../engine/policy/compile.ts');
  if (sub === 'build') {
    const output = resolve((values.output as string | undefined) ?? `${dir}/policy.wasm`);
    buildPolicy(output, [dir]);
    io.stdout(
      `built ${relative(process.cwd(), output)} (built-in rules + ${relative(process.cwd(), dir) || '.'}); name it in the config with \`policy:\`, relative to the config file\n`,
    );
    return 0;
  }
  const r = testPolicy([dir], ['--ignore', '*.wasm']);
  io.stdout(r.output + '\n');
  return r.ok ? 0 : 1;
}
