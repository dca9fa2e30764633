// The action with a ledger (docs/github-action.md, "With a ledger"): the claims
// are made with the ledger's config and the ledger decides them with the whole
// organisation's usage and reservations; a deploy job reserves. Which ledger:
// the `ledger-url` input, else the config's `ledger:` setting.
import { dirname, resolve } from 'node:path';
import * as core from '@actions/core';
import type { LoadedConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { EntitlegateError } from '../../engine/errors.ts';
import type { Mode } from '../../engine/types.ts';
import { type InputContext, claimsFromPaths } from '../../inputs/read.ts';
import {
  checkReservationSource,
  claimsOfSource,
  LedgerClient,
  type LedgerDecision,
  ledgerUrl,
  tokenFrom,
} from '../../ledger-client/client.ts';

export interface LedgerInputs {
  /** `ledger-url`; empty: the config's `ledger.url`, if any. */
  url?: string;
  /** `ledger-token`; empty: $ENTITLEGATE_TOKEN, else the config's `ledger.tokenFile`. */
  token?: string;
  reserve: boolean;
  /** With `reserve`: a duration such as 30m (the ledger's default otherwise). */
  ttl?: string;
  /** `source`: the usage source whose reports will show the resources (a Terraform workspace's `terraform:NAME`); their ids carry it. */
  source?: string;
}

/** The ledger to decide at, or undefined when neither the inputs nor the config name one. */
export function ledgerOf(inputs: LedgerInputs, config: LoadedConfig, env: NodeJS.ProcessEnv = process.env): LedgerClient | undefined {
  const settings = config.config.ledger;
  const raw = inputs.url || settings?.url;
  if (!raw) {
    if (inputs.reserve || inputs.ttl || inputs.token || inputs.source)
      throw new EntitlegateError(
        'EG_ERR_USAGE',
        'inputs reserve, ttl, source and ledger-token go with a ledger: set input ledger-url (or ledger.url in the config)',
      );
    return undefined;
  }
  if (inputs.ttl && !inputs.reserve) throw new EntitlegateError('EG_ERR_USAGE', 'input ttl goes with reserve: true');
  let token = inputs.token;
  if (!token) {
    const tokenFile = !env.ENTITLEGATE_TOKEN?.trim() && settings?.tokenFile ? resolve(dirname(config.file), settings.tokenFile) : undefined;
    if (!tokenFile && !env.ENTITLEGATE_TOKEN?.trim())
      throw new EntitlegateError(
        'EG_ERR_USAGE',
        'the ledger needs a token: set input ledger-token (from a secret) or the ENTITLEGATE_TOKEN environment variable, or ledger.tokenFile in the config',
      );
    token = tokenFrom(tokenFile, env);
  }
  core.setSecret(token);
  let url: string;
  try {
    url = ledgerUrl(raw);
  } catch {
    throw new EntitlegateError('EG_ERR_USAGE', `input ledger-url must be the ledger's http:// or https:// URL, not "${raw}"`);
  }
  return new LedgerClient({ url, token, surface: 'action' });
}

/** Claims made with the ledger's config from the files, decided (and with `reserve`, held) by the ledger. */
export async function decideAtLedger(
  client: LedgerClient,
  files: string[],
  opts: Pick<InputContext, 'scope' | 'notInputs' | 'warn'> & {
    mode?: Mode;
    reserve: boolean;
    ttl?: string;
    source?: string;
    shown: (file: string) => string;
  },
): Promise<LedgerDecision> {
  const { digest, config } = await client.call<{ digest: string; config: Config }>('GET', '/v1/config');
  const { scope, notInputs, warn } = opts;
  const claims = claimsFromPaths(files, { config, scope, ...(notInputs ? { notInputs } : {}), ...(warn ? { warn } : {}) }, () => '');
  for (const c of claims) if (c.resource?.file) c.resource = { ...c.resource, file: opts.shown(c.resource.file) };
  if (opts.reserve || opts.source !== undefined) checkReservationSource(claims, opts.source, 'input source');
  return client.decide({
    claims: opts.source === undefined ? claims : claimsOfSource(claims, opts.source),
    configDigest: digest,
    ...(opts.mode ? { mode: opts.mode } : {}),
    ...(opts.reserve ? { reserve: true, ...(opts.ttl ? { ttl: opts.ttl } : {}) } : {}),
  });
}
