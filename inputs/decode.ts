// Bytes of an input → text, the way kubectl reads a manifest: a byte-order
// mark says UTF-8 or UTF-16 (and is dropped), anything else is UTF-8. An
// editor on Windows saves YAML as UTF-16 with a BOM, or UTF-8 with a BOM and
// CRLF line ends; read any other way, such a file was "not an input" at best,
// and a JSON one was refused for its first invisible character.
import { type EntitlegateError, inputError } from '../engine/errors.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const utf16le = new TextDecoder('utf-16le', { fatal: true, ignoreBOM: false });
const utf16be = new TextDecoder('utf-16be', { fatal: true, ignoreBOM: false });

function unreadable(file: string, message: string): EntitlegateError {
  return inputError({ file, message });
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);
}

/**
 * The text of an input's bytes. Line ends become `\n` (YAML and JSON read CR
 * and CRLF as line breaks anyway; one form keeps every line-based step and
 * every line number the same). Throws EG_ERR_INPUT_INVALID naming the
 * encoding when the bytes are not text entitlegate can read.
 */
export function decodeInput(bytes: Uint8Array | string, file: string): string {
  // Already text (a test's or a caller's stdin): only the BOM and line ends.
  if (typeof bytes === 'string') return lineEnds(bytes.startsWith('\uFEFF') ? bytes.slice(1) : bytes);
  let text: string;
  // UTF-32 first: its little-endian BOM starts with UTF-16's.
  if (startsWith(bytes, [0xff, 0xfe, 0, 0]) || startsWith(bytes, [0, 0, 0xfe, 0xff])) {
    throw unreadable(file, 'is UTF-32 text, which entitlegate does not read; save it as UTF-8');
  }
  // A zip archive: `terraform plan -out` writes one.
  if (startsWith(bytes, [0x50, 0x4b, 3, 4])) {
    throw unreadable(
      file,
      'is a zip archive, not text: for a saved Terraform plan give entitlegate the JSON of `terraform show -json PLANFILE`',
    );
  }
  const decoder = startsWith(bytes, [0xff, 0xfe]) ? utf16le : startsWith(bytes, [0xfe, 0xff]) ? utf16be : utf8;
  try {
    // The decoders drop the BOM themselves (ignoreBOM: false).
    text = decoder.decode(bytes);
  } catch {
    throw unreadable(file, `is not valid ${decoder.encoding.toUpperCase()} text; save it as UTF-8`);
  }
  // UTF-16 without a BOM decodes as UTF-8 with a NUL after every ASCII letter;
  // neither YAML nor JSON allows a raw NUL, so say what the file most likely is.
  const nul = text.indexOf('\0');
  if (nul !== -1) {
    const hint =
      decoder === utf8 && nul <= 1 ? '; it looks like UTF-16 without a byte-order mark: save it as UTF-8 (or UTF-16 with a BOM)' : '';
    throw unreadable(file, `holds a NUL character (at character ${nul + 1}), which is not text${hint}`);
  }
  return lineEnds(text);
}

const lineEnds = (text: string) => (text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text);
