// The commands of the CLI contract (DESIGN.md). Each returns its exit code:
// 0 allowed, 1 blocked, 2 bad input (nothing evaluated).
import { writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { standingReport } from '../engine/report.ts';
import { formatFrom, modeFrom, nowFrom, parse, scopeFrom, scopeOptions, strings, usageError } from './args.ts';
import { claimsFromPaths } from '../inputs/read.ts';
import { loadEngine } from '../engine/load.ts';
import { renderDecision, renderReport } from '../render/index.ts';
import type { Io } from './io.ts';
import { checkLedgerFlags, checkWithLedger, ledgerCheckOptions, wantsLedger } from './ledger-check.ts';

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
      ...scopeOptions,
      ...ledgerCheckOptions,
    },
    true,
  );
  const format = formatFrom(values.format);
  const mode = modeFrom(values.mode);
  const now = nowFrom(values.now, io.clock);
  if (!positionals.length) throw usageError('check needs at least one PATH (a file, a folder, or - for stdin)');
  checkLedgerFlags(values);
  if (values.ledger) return checkWithLedger({ values, paths: positionals, scope: scopeFrom(values), mode, format }, io);
  const { config, engine } = await loadEngine(values.config as string | undefined, strings(values.usage));
  const ledger = config.config.ledger;
  if (wantsLedger(values, !!ledger))
    return checkWithLedger(
      {
        values,
        paths: positionals,
        scope: scopeFrom(values),
        mode,
        format,
        ...(ledger ? { settings: { ...ledger, configFile: config.file } } : {}),
      },
      io,
    );
  const claims = claimsFromPaths(positionals, { config: config.config, scope: scopeFrom(values) }, io.readStdin);
  const decision = engine.decide(claims, mode ? { now, mode } : { now });
  const out = renderDecision(decision, format);
  if (values.output) {
    writeFileSync(values.output as string, out);
    io.stdout(renderDecision(decision, 'text'));
  } else io.stdout(out);
  return decision.allowed ? 0 : 1;
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
    },
    false,
  );
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
