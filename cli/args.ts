// Command-line parsing with node:util's parseArgs; every mistake is a usage
// error (exit 2) that says what is wrong.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EntitlegateError } from '../engine/errors.ts';
import { SCOPE_DIMENSIONS, type Mode, type Scope } from '../engine/types.ts';
import { parseNow } from '../engine/time.ts';
import { FORMATS, type Format } from '../render/index.ts';

export const scopeOptions = Object.fromEntries(SCOPE_DIMENSIONS.map((d) => [d, { type: 'string' as const }]));

/**
 * A command asked for --help. run() answers help before a command parses
 * anything, so this is only seen when a command is called directly: it
 * carries the flags the command parses, which cli/help.test.ts compares
 * with the help table.
 */
export class HelpRequested extends Error {
  readonly flags: { name: string; short?: string; boolean: boolean; multiple: boolean }[];
  constructor(options: NonNullable<ParseArgsConfig['options']>) {
    super('--help');
    this.flags = Object.entries(options).map(([name, o]) => ({
      name,
      ...(o.short ? { short: o.short } : {}),
      boolean: o.type === 'boolean',
      multiple: !!o.multiple,
    }));
  }
}

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, allowPositionals: boolean) {
  if (args.includes('--help')) throw new HelpRequested(options);
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    throw new EntitlegateError('EG_ERR_USAGE', (err as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
}

export function usageError(message: string): EntitlegateError {
  return new EntitlegateError('EG_ERR_USAGE', message);
}

export function scopeFrom(values: Record<string, unknown>): Scope {
  const scope: Scope = {};
  for (const d of SCOPE_DIMENSIONS) if (typeof values[d] === 'string') scope[d] = values[d] as string;
  return scope;
}

export function modeFrom(value: unknown): Mode | undefined {
  if (value === undefined) return undefined;
  if (value !== 'enforce' && value !== 'warn') throw usageError(`--mode must be enforce or warn, not "${String(value)}"`);
  return value;
}

export function formatFrom(value: unknown, allowed: readonly Format[] = FORMATS): Format {
  const f = (value ?? 'text') as Format;
  if (!allowed.includes(f)) throw usageError(`--format must be one of ${allowed.join(', ')}, not "${String(value)}"`);
  return f;
}

export function nowFrom(value: unknown, clock: () => Date): Date {
  if (value === undefined) return clock();
  const now = parseNow(String(value));
  if (!now)
    throw usageError(`--now must be an ISO-8601 instant with its offset, such as 2026-11-28T10:00:00Z, or a date, not "${String(value)}"`);
  return now;
}

export function strings(value: unknown): string[] {
  return value === undefined ? [] : Array.isArray(value) ? (value as string[]) : [value as string];
}
