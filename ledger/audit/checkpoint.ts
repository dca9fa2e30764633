// Signed checkpoints of the chain head: Ed25519 (node:crypto) over the RFC 8785
// JSON of {type, seq, hash, at, keyId}. A checkpoint vouches for every record up
// to its seq: rewriting them (even with fresh hashes) no longer matches it, and
// a log pruned at a checkpoint still verifies from there.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { EntitlegateError } from '../../engine/errors.ts';
import { canonicalJson } from './canonical.ts';

export interface Checkpoint {
  seq: number;
  /** The hash of record `seq`. */
  hash: string;
  at: string;
  keyId: string;
  /** The signer's public key (SPKI PEM), so a store can be checked without the ledger; pin it with --key. */
  publicKey: string;
  /** Base64. */
  signature: string;
}

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicPem: string;
  keyId: string;
}

export function keyIdOf(publicKey: KeyObject): string {
  return `ed25519:${createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 32)}`;
}

function payload(c: Pick<Checkpoint, 'seq' | 'hash' | 'at' | 'keyId'>): Buffer {
  return Buffer.from(canonicalJson({ type: 'entitlegate.checkpoint/v1', seq: c.seq, hash: c.hash, at: c.at, keyId: c.keyId }));
}

export function signCheckpoint(key: SigningKey, seq: number, hash: string, at: number): Checkpoint {
  const c = { seq, hash, at: new Date(at).toISOString(), keyId: key.keyId };
  return { ...c, publicKey: key.publicPem, signature: sign(null, payload(c), key.privateKey).toString('base64') };
}

/** Why the checkpoint does not verify against `trusted` (or its own key when none is pinned), or null. */
export function checkpointProblem(c: Checkpoint, trusted: KeyObject | null): string | null {
  let key: KeyObject;
  try {
    key = trusted ?? createPublicKey(c.publicKey);
  } catch {
    return 'its public key is not a PEM public key';
  }
  if (key.asymmetricKeyType !== 'ed25519') return 'its key is not an Ed25519 key';
  if (keyIdOf(key) !== c.keyId) return `it names key ${c.keyId}, not the trusted key ${keyIdOf(key)}`;
  let ok = false;
  try {
    ok = verify(null, payload(c), key, Buffer.from(c.signature, 'base64'));
  } catch {
    ok = false;
  }
  return ok ? null : 'its signature does not verify';
}

export function signingKeyFromPem(pem: string, file: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new EntitlegateError('EG_ERR_USAGE', `--signing-key ${file}: not an unencrypted PEM private key`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519')
    throw new EntitlegateError(
      'EG_ERR_USAGE',
      `--signing-key ${file}: an ${privateKey.asymmetricKeyType} key; checkpoints are signed with Ed25519 (entitlegate ledger key create FILE)`,
    );
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), keyId: keyIdOf(publicKey) };
}

export function loadSigningKey(file: string): SigningKey {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new EntitlegateError(
      'EG_ERR_FILE_NOT_FOUND',
      `--signing-key ${file}: cannot read it: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  return signingKeyFromPem(pem, file);
}

/** A public key to pin (`audit verify --key FILE`): the PEM public key, or the signing key itself. */
export function loadPublicKey(file: string): KeyObject {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new EntitlegateError(
      'EG_ERR_FILE_NOT_FOUND',
      `--key ${file}: cannot read it: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType === 'ed25519') return key;
  } catch {
    // not a key: said below
  }
  throw new EntitlegateError('EG_ERR_USAGE', `--key ${file}: not an Ed25519 public key in PEM`);
}

export function newSigningKeyPem(): { privatePem: string; publicPem: string; keyId: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: keyIdOf(publicKey),
  };
}
