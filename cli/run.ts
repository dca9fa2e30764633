// Dispatch and the one place errors end: a user's mistake prints its message
// (file:line:col per problem) and exits 2; never a stack trace.
import { EntitlegateError } from '../engine/errors.ts';
import { check, policy, report, validate } from './commands.ts';
import { serve } from './serve.ts';
import { ledger } from './ledger.ts';
import type { Io } from './io.ts';

const HELP = `entitlegate — block deployments that would exceed a software licence entitlement

  entitlegate check [PATH...] --config FILE [--usage FILE]... [--mode enforce|warn]
      [--environment E] [--cluster C] [--namespace N] [--account A] [--region R]
      [--format text|json|markdown|github|sarif|junit] [--output FILE] [--now ISO-8601]
  entitlegate validate --config FILE [--usage FILE]...
  entitlegate report --config FILE [--usage FILE]... [--format text|json|markdown] [--now ISO-8601]
  entitlegate serve --config FILE [--usage FILE]... [--tls-cert F --tls-key F] [--port N] [--now ISO-8601]
  entitlegate policy build|test DIR [--output FILE]

Exit codes: 0 allowed, 1 blocked, 2 bad input, config or usage (nothing evaluated).
`;

type Command = (args: string[], io: Io) => Promise<number>;

const commands: Record<string, Command> = {
  check,
  validate,
  report,
  policy,
  serve: (args, io) => serve(args, io),
  ledger,
};

export async function run(argv: string[], io: Io): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(HELP);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    io.stderr(`entitlegate: unknown command "${name}"\n\n${HELP}`);
    return 2;
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
