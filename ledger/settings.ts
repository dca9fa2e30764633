// The config's `ledger:` section: which ledger the gates decide with
// (docs/ledger.md). Composed into the config file's schema by config/schema.ts.
import * as z from 'zod/mini';
import { nonEmpty } from '../engine/config/schema.ts';

/** The ledger the gates decide with; `--ledger URL` on the command line wins. */
export const ledgerSettings = z.strictObject({
  url: z.string().check(z.regex(/^https?:\/\/\S+$/, "expected the ledger's http:// or https:// URL")),
  /** File holding the bearer token, relative to this file; without it, $ENTITLEGATE_TOKEN. */
  tokenFile: z.optional(nonEmpty()),
});

export type LedgerSettings = z.output<typeof ledgerSettings>;
