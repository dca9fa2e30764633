// Reads `check`'s inputs (files, folders, `-`) and hands each to the adapter
// for its kind, detected from the content, not the file name.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EntitlegateError, inputError } from '../engine/errors.ts';
import { describeJsonError } from '../engine/json-position.ts';
import type { Config } from '../config/schema.ts';
import type { Claim, Scope } from '../engine/types.ts';
import { FOLDER_KINDS, INPUT_KINDS } from './kinds.ts';

export interface InputContext {
  config: Config;
  /** Scope given on the command line (or action inputs); it wins over what inputs say. */
  scope: Scope;
}

export interface TextInput {
  file: string;
  text: string;
}

/** One kind of input: how to recognise it and how to turn it into claims. */
export interface InputKind {
  name: string;
  /** `json` is the parsed value when the text is JSON, else undefined. */
  detect(input: TextInput, json: unknown): boolean;
  claims(input: TextInput, json: unknown, ctx: InputContext): Claim[];
}

/** A folder that is one input as a whole (a cdktf.out synth output). */
export interface FolderKind {
  name: string;
  detect(dir: string): boolean;
  claims(dir: string, ctx: InputContext): Claim[];
}

const READABLE = /\.(ya?ml|json)$/i;

function tryJson(text: string): unknown {
  const t = text.trimStart();
  if (!t.startsWith('{') && !t.startsWith('[')) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function claimsFromInput(input: TextInput, ctx: InputContext): Claim[] {
  const json = tryJson(input.text);
  const kind = INPUT_KINDS.find((k) => k.detect(input, json));
  if (!kind) {
    if (json === undefined && /^\s*[[{]/.test(input.text)) {
      // It looks like JSON but does not parse: say where, not just that.
      let problem = { line: 1, col: 1, message: 'invalid JSON' };
      try {
        JSON.parse(input.text);
      } catch (err) {
        problem = describeJsonError(input.text, err);
      }
      throw inputError({ file: input.file, ...problem });
    }
    throw new EntitlegateError(
      'EG_ERR_INPUT_UNKNOWN',
      `${input.file}: not an input entitlegate reads; expected Kubernetes YAML/JSON, an AdmissionReview, Terraform plan JSON (terraform show -json), a cdktf.out folder or claims JSON`,
      [{ file: input.file, line: 1, col: 1, message: 'unrecognised input' }],
    );
  }
  return kind.claims(input, json, ctx);
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else if (READABLE.test(entry.name)) out.push(path);
  }
  return out;
}

/** All claims of all inputs; any bad input fails the whole call (nothing half-read). */
export function claimsFromPaths(paths: readonly string[], ctx: InputContext, readStdin: () => string): Claim[] {
  const claims: Claim[] = [];
  for (const path of paths) {
    if (path === '-') {
      claims.push(...claimsFromInput({ file: '<stdin>', text: readStdin() }, ctx));
      continue;
    }
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      throw new EntitlegateError('EG_ERR_FILE_NOT_FOUND', `${path}: no such file or folder`, [
        { file: path, message: 'no such file or folder' },
      ]);
    }
    if (isDir) {
      const folder = FOLDER_KINDS.find((k) => k.detect(path));
      if (folder) claims.push(...folder.claims(path, ctx));
      else {
        const files = filesUnder(path);
        // An empty or wrong folder must not pass the gate as "nothing to check".
        if (!files.length)
          throw new EntitlegateError(
            'EG_ERR_INPUT_UNKNOWN',
            `${path}: the folder holds no .yaml, .yml or .json file and is not a cdktf.out folder`,
            [{ file: path, message: 'nothing to check in this folder' }],
          );
        for (const file of files) claims.push(...claimsFromInput({ file, text: readFileSync(file, 'utf8') }, ctx));
      }
    } else {
      claims.push(...claimsFromInput({ file: path, text: readFileSync(path, 'utf8') }, ctx));
    }
  }
  return claims;
}
