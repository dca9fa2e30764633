// Bearer tokens for machines: high-entropy random tokens, shown once, kept as
// their SHA-256 (a hash suffices: the token is random, not a password).
// Every /v1 call needs one; each endpoint names the roles it grants.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { EntitlegateError } from '../engine/errors.ts';
import { ROLES, type Role, type Store, type TokenLimits, type TokenRecord } from './store/types.ts';

const PREFIX = 'egl_';
// A token found (or not) is trusted this long before the store is asked again.
const CACHE_MS = 5000;

export function hashToken(token: string): string {
  return `sha256:${createHash('sha256').update(token).digest('hex')}`;
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export async function createToken(
  store: Store,
  name: string,
  roles: readonly Role[],
  now: Date,
  actor: string,
  limits: TokenLimits = {},
): Promise<{ token: string; record: TokenRecord }> {
  const token = PREFIX + randomBytes(32).toString('base64url');
  const record: TokenRecord = { id: randomUUID(), name, roles: [...new Set(roles)], createdAt: now.getTime() };
  if (limits.products?.length) record.products = [...new Set(limits.products)].sort();
  if (limits.scope && Object.keys(limits.scope).length) record.scope = limits.scope;
  if (limits.sources?.length) record.sources = [...new Set(limits.sources)].sort();
  await store.createToken({ ...record, hash: hashToken(token) }, actor);
  return { token, record };
}

export class AuthError extends EntitlegateError {
  readonly status: 401 | 403;
  constructor(status: 401 | 403, message: string) {
    super('EG_ERR_LEDGER_AUTH', message);
    this.status = status;
  }
}

export class Tokens {
  private readonly cache = new Map<string, { record: TokenRecord | null; until: number }>();
  private readonly store: Store;

  constructor(store: Store) {
    this.store = store;
  }

  forget(): void {
    this.cache.clear();
  }

  /** The record of a known, unrevoked token; 401 otherwise. */
  async find(token: string): Promise<TokenRecord> {
    const hash = hashToken(token);
    const now = Date.now();
    let hit = this.cache.get(hash);
    if (!hit || hit.until <= now) {
      hit = { record: await this.store.findToken(hash), until: now + CACHE_MS };
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(hash, hit);
    }
    const record = hit.record;
    if (!record) throw new AuthError(401, 'the ledger does not know this token; create one with entitlegate ledger token create');
    if (record.revokedAt !== undefined)
      throw new AuthError(401, `token "${record.name}" was revoked at ${new Date(record.revokedAt).toISOString()}; ask for a new one`);
    return record;
  }
}
