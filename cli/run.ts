// Dispatch and the one place errors end: a user's mistake prints its message
// (file:line:col per problem) and exits 2; never a stack trace. Help and the
// version are answered here for every command, before its own parsing.
import { EntitlegateError } from '../engine/errors.ts';
import { VERSION } from '../engine/version.ts';
import { parse, usageError } from './args.ts';
import { check, policy, report, validate } from './commands.ts';
import { completionScript, SHELLS, type Shell } from './completion.ts';
import { commandHelp, renderCommandHelp, renderOverview } from './help.ts';
import { serve } from './serve.ts';
import { ledger } from './ledger.ts';
import { exception } from './exception.ts';
import { auditCommand } from './serve-audit.ts';
import type { Io } from './io.ts';

type Command = (args: string[], io: Io) => Promise<number>;

const versionLine = () => `entitlegate ${VERSION}\n`;

async function completion(args: string[], io: Io): Promise<number> {
  const [shell, ...rest] = parse(args, {}, true).positionals;
  if (!SHELLS.includes(shell as Shell) || rest.length) throw usageError(`usage: entitlegate completion ${SHELLS.join('|')}`);
  io.stdout(completionScript(shell as Shell));
  return 0;
}

export const commands: Record<string, Command> = {
  check,
  validate,
  report,
  policy,
  serve: (args, io) => serve(args, io),
  completion,
  version: async (args, io) => {
    if (parse(args, {}, true).positionals.length) throw usageError('usage: entitlegate version');
    io.stdout(versionLine());
    return 0;
  },
  ledger,
  exception,
  audit: auditCommand,
};

/** `--help` or `-h` among a command's own flags (not after `--`). */
function wantsHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

export async function run(argv: string[], io: Io): Promise<number> {
  const [name, ...args] = argv;
  if (!name) {
    io.stderr(renderOverview());
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? args[0] : undefined;
    const help = topic ? commandHelp(topic) : undefined;
    if (topic && !help) {
      io.stderr(`entitlegate: unknown command "${topic}"\n\n${renderOverview()}`);
      return 2;
    }
    io.stdout(help ? renderCommandHelp(help) : renderOverview());
    return 0;
  }
  if (name === '--version' || name === '-V') {
    io.stdout(versionLine());
    return 0;
  }
  const command = commands[name];
  if (!command) {
    io.stderr(`entitlegate: unknown command "${name}"\n\n${renderOverview()}`);
    return 2;
  }
  const help = commandHelp(name);
  if (help && wantsHelp(args)) {
    io.stdout(renderCommandHelp(help));
    return 0;
  }
  try {
    return await command(args, io);
  } catch (err) {
    if (err instanceof EntitlegateError) {
      io.stderr(`entitlegate: ${err.describe()}\n`);
      return 2;
    }
    io.stderr(`entitlegate: internal error: ${(err as Error).message ?? String(err)}\n(set ENTITLEGATE_DEBUG=1 for details)\n`);
    if (process.env.ENTITLEGATE_DEBUG) io.stderr(`${(err as Error).stack}\n`);
    return 2;
  }
}
