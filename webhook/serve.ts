// Placeholder until the webhook lands: `serve` says it is not available.
import { EntitlegateError } from '../engine/errors.ts';
import type { Io } from '../cli/io.ts';

export async function serve(_args: string[], _io: Io): Promise<number> {
  throw new EntitlegateError('EG_ERR_USAGE', 'serve is not available in this build');
}
