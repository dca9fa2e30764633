// Files → text, one way for every file entitlegate reads: inputs, the config,
// usage snapshots. Format-neutral, so the engine's loaders and inputs/ share
// it (the engine may not import inputs/).
//
// Only a regular file is read: a FIFO, socket or device may never end (a
// FIFO given as --config hung `check` forever), except the streams a shell
// hands over by name. Bytes become text the way kubectl reads a manifest: a
// byte-order mark says UTF-8 or UTF-16 (and is dropped), anything else is
// UTF-8. An editor on Windows saves YAML as UTF-16 with a BOM, or UTF-8 with a
// BOM and CRLF line ends; read any other way, such a file was "not an input"
// at best, a config "expected object", and a JSON one was refused for its
// first invisible character.
import { readFileSync, readlinkSync, type Stats, statSync } from 'node:fs';
import { EntitlegateError, type ErrorCode } from './errors.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const utf16le = new TextDecoder('utf-16le', { fatal: true, ignoreBOM: false });
const utf16be = new TextDecoder('utf-16be', { fatal: true, ignoreBOM: false });

function undecodable(file: string, message: string, code: ErrorCode): EntitlegateError {
  return new EntitlegateError(code, `${file} ${message}`, [{ file, message }]);
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);
}

/**
 * The text of a file's bytes. Line ends become `\n` (YAML and JSON read CR
 * and CRLF as line breaks anyway; one form keeps every line-based step and
 * every line number the same). Throws `code` (an input's, by default) naming
 * the encoding when the bytes are not text entitlegate can read.
 */
export function decodeText(bytes: Uint8Array | string, file: string, code: ErrorCode = 'EG_ERR_INPUT_INVALID'): string {
  // Already text (a test's or a caller's stdin): only the BOM and line ends.
  if (typeof bytes === 'string') return lineEnds(bytes.startsWith('\uFEFF') ? bytes.slice(1) : bytes);
  let text: string;
  // UTF-32 first: its little-endian BOM starts with UTF-16's.
  if (startsWith(bytes, [0xff, 0xfe, 0, 0]) || startsWith(bytes, [0, 0, 0xfe, 0xff])) {
    throw undecodable(file, 'is UTF-32 text, which entitlegate does not read; save it as UTF-8', code);
  }
  // A zip archive: `terraform plan -out` writes one.
  if (startsWith(bytes, [0x50, 0x4b, 3, 4])) {
    throw undecodable(
      file,
      'is a zip archive, not text: for a saved Terraform plan give entitlegate the JSON of `terraform show -json PLANFILE`',
      code,
    );
  }
  const decoder = startsWith(bytes, [0xff, 0xfe]) ? utf16le : startsWith(bytes, [0xfe, 0xff]) ? utf16be : utf8;
  try {
    // The decoders drop the BOM themselves (ignoreBOM: false).
    text = decoder.decode(bytes);
  } catch {
    throw undecodable(file, `is not valid ${decoder.encoding.toUpperCase()} text; save it as UTF-8`, code);
  }
  // UTF-16 without a BOM decodes as UTF-8 with a NUL after every ASCII letter;
  // neither YAML nor JSON allows a raw NUL, so say what the file most likely is.
  const nul = text.indexOf('\0');
  if (nul !== -1) {
    const hint =
      decoder === utf8 && nul <= 1 ? '; it looks like UTF-16 without a byte-order mark: save it as UTF-8 (or UTF-16 with a BOM)' : '';
    throw undecodable(file, `holds a NUL character (at character ${nul + 1}), which is not text${hint}`, code);
  }
  return lineEnds(text);
}

const lineEnds = (text: string) => (text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text);

/**
 * Streams a shell hands over by name: `check <(terraform show -json plan)`
 * passes /dev/fd/63, a pipe. Named explicitly, these are read; no other pipe
 * or device ever is.
 */
export const STREAM_PATH = /^\/(dev\/stdin|dev\/fd\/\d+|proc\/self\/fd\/\d+)$/;

/** What `stat` or a folder entry says a path is; the part of Stats and Dirent the checks read. */
export type FileKind = Pick<Stats, 'isFile' | 'isDirectory' | 'isFIFO' | 'isSocket' | 'isCharacterDevice' | 'isBlockDevice'>;

function whatItIs(e: FileKind): string {
  if (e.isFIFO()) return 'a FIFO (named pipe)';
  if (e.isSocket()) return 'a socket';
  if (e.isCharacterDevice()) return 'a character device';
  if (e.isBlockDevice()) return 'a block device';
  if (e.isDirectory()) return 'a folder';
  return 'not a regular file';
}

/** Why a path that is not a regular file is not read. */
export const notRegular = (e: FileKind) =>
  `is ${whatItIs(e)}, not a regular file; entitlegate reads regular files, folders and - (standard input), since reading a pipe or device may never end`;

/** Why a path cannot be stat'ed or read, in words that name the fix. */
export function unreadable(path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT': {
      let target: string | undefined;
      try {
        target = readlinkSync(path);
      } catch {
        // Not a link: the path itself is missing.
      }
      return target === undefined ? 'no such file or folder' : `is a dangling link: it points to ${target}, which does not exist`;
    }
    case 'ENOTDIR':
      return 'no such file or folder (a part of the path is a file, not a folder)';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read: permission denied';
    case 'ELOOP':
      return 'is a loop of symbolic links';
    default:
      return `cannot be read: ${(err as Error).message}`;
  }
}

/**
 * The bytes of one file named on the command line or in the config (the
 * config, a usage snapshot, a compiled policy): a regular file or a shell's
 * stream. Throws `code` with `file: why` for anything else.
 */
export function readFileBytes(file: string, code: ErrorCode, what = ''): Uint8Array {
  const refuse = (why: string) => {
    const message = what ? `${what} ${why}` : why;
    return new EntitlegateError(code, `${file}: ${message}`, [{ file, message }]);
  };
  try {
    const st = statSync(file);
    if (!st.isFile() && !STREAM_PATH.test(file)) throw refuse(notRegular(st));
    return readFileSync(file);
  } catch (err) {
    if (err instanceof EntitlegateError) throw err;
    throw refuse(unreadable(file, err));
  }
}

/** The text of such a file, decoded as inputs are. */
export function readTextFile(file: string, code: ErrorCode): string {
  return decodeText(readFileBytes(file, code), file, code);
}
