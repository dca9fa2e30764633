// Reads `check`'s inputs (files, folders, `-`) and hands each to the adapter
// for its kind, detected from the content, not the file name.
import { EntitlegateError, inputError } from '../engine/errors.ts';
import { describeJsonError } from '../engine/json-position.ts';
import type { Config } from '../config/schema.ts';
import type { Claim, Scope } from '../engine/types.ts';
import type { InputWarning } from '../adapters/kubernetes/index.ts';
import { decodeText } from '../engine/text-file.ts';
import { FOLDER_KINDS, INPUT_KINDS } from './kinds.ts';
import { collectPaths, outputClash, type Source } from './walk.ts';

export interface InputContext {
  config: Config;
  /** Scope given on the command line (or action inputs); it wins over what inputs say. */
  scope: Scope;
  /**
   * Files a folder walk passes by: the config and usage snapshots, which may
   * sit beside the manifests (`check deploy/ --config deploy/entitlegate.yaml`)
   * and are no input.
   */
  notInputs?: readonly string[];
  /**
   * Told what a person should know about an input that is read, not refused
   * (the same object twice: the last one is counted). Each surface shows it
   * where a person looks (the CLI's stderr, an Action annotation); machine
   * output stays as it is.
   */
  warn?: (warning: InputWarning) => void;
}

export type { InputWarning };

export interface TextInput {
  file: string;
  text: string;
}

/** One kind of input: how to recognise it and how to turn it into claims. */
export interface InputKind {
  name: string;
  /** `json` is the parsed value when the text is JSON, else undefined. */
  detect(input: TextInput, json: unknown): boolean;
  claims(input: TextInput, json: unknown, ctx: InputContext): Claim[] | Deferred;
}

/**
 * Claims that also depend on the other inputs of the same kind in the run:
 * `kubectl apply -f DIR` applies every file as one set, so an autoscaler in
 * `hpa.yaml` sizes the Deployment in `deploy.yaml`. `share` is what this
 * input lends the others; `claims` gets every share of its kind, its own
 * included, once all inputs are read.
 */
export interface Deferred {
  share: unknown;
  claims(shares: readonly unknown[]): Claim[];
}

/** A folder that is one input as a whole (a cdktf.out synth output). */
export interface FolderKind {
  name: string;
  detect(dir: string): boolean;
  claims(dir: string, ctx: InputContext): Claim[];
}

const NOT_AN_INPUT =
  'not an input entitlegate reads; expected Kubernetes YAML/JSON, an AdmissionReview, Terraform plan JSON (terraform show -json), a cdktf.out folder or claims JSON';

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
  const read = readInput(input, ctx);
  return read.deferred ? read.deferred.claims([read.deferred.share]) : read.claims;
}

/** The claims of one input, the kind it was read as, and its name. */
interface ReadInput {
  kind: string;
  file: string;
  claims: Claim[];
  /** Set until every input is read; then `claims` is filled from it. */
  deferred?: Deferred;
}

function readInput(input: TextInput, ctx: InputContext): ReadInput {
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
    throw inputError({ file: input.file, line: 1, col: 1, message: NOT_AN_INPUT }, 'EG_ERR_INPUT_UNKNOWN');
  }
  const claims = kind.claims(input, json, ctx);
  return Array.isArray(claims)
    ? { kind: kind.name, file: input.file, claims }
    : { kind: kind.name, file: input.file, claims: [], deferred: claims };
}

/**
 * Kinds that describe a change rather than carry it: claims JSON and an
 * AdmissionReview say what they like, a delete included. Read beside the
 * manifests or plans a deploy applies, such a file could free capacity no
 * deploy frees (a tenant's `manifests/freed.json` with quantity -8 let a
 * Deployment of 8 through); so there, a description may add but not free.
 */
const DESCRIPTIONS = new Set(['claims', 'admission-review']);

function freedByDescriptions(read: readonly ReadInput[]): EntitlegateError | undefined {
  if (read.every((r) => DESCRIPTIONS.has(r.kind))) return undefined;
  const problems = read
    .filter((r) => DESCRIPTIONS.has(r.kind))
    .flatMap((r) =>
      r.claims
        .filter((c) => c.quantity !== null && c.quantity < 0)
        .map((c) => ({
          file: r.file,
          ...(c.resource?.file === r.file && c.resource.line ? { line: c.resource.line } : {}),
          message: `frees ${-c.quantity!} ${c.product} (${c.resource?.kind ?? 'claim'} ${c.resource?.name ?? ''}): a claims file or AdmissionReview may free capacity only when checked on its own, not beside the manifests or plans a deploy applies`,
        })),
    );
  if (!problems.length) return undefined;
  return new EntitlegateError(
    'EG_ERR_INPUT_INVALID',
    `${problems.length === 1 ? 'a description of a change frees' : `${problems.length} descriptions of changes free`} capacity beside real manifests or plans; check what-ifs and recorded admissions on their own`,
    problems,
  );
}

/** A folder read as one input (cdktf.out), not walked for files. */
const isFolderInput = (dir: string) => FOLDER_KINDS.some((k) => k.detect(dir));

/**
 * All claims of all inputs. Every input is read before anything is decided:
 * a bad one fails the whole call (nothing half-read), and the error lists
 * every bad file and unreadable path at once, each once, instead of the first.
 */
export function claimsFromPaths(paths: readonly string[], ctx: InputContext, readStdin: () => string | Uint8Array): Claim[] {
  const walked = collectPaths(paths, isFolderInput, ctx.notInputs);
  const failures = walked.problems.map(({ code, problem }) => ({
    file: problem.file,
    err: inputError(problem, code),
  }));
  const read: ReadInput[] = [];
  for (const source of walked.sources) {
    try {
      read.push(readSource(source, ctx, readStdin));
    } catch (err) {
      if (!(err instanceof EntitlegateError)) throw err;
      failures.push({ file: source.shown, err });
    }
  }
  for (const r of read) {
    if (!r.deferred) continue;
    const shares = read.filter((o) => o.kind === r.kind && o.deferred).map((o) => o.deferred!.share);
    try {
      r.claims = r.deferred.claims(shares);
    } catch (err) {
      if (!(err instanceof EntitlegateError)) throw err;
      failures.push({ file: r.file, err });
    }
  }
  if (!failures.length) {
    const freed = freedByDescriptions(read);
    if (freed) throw freed;
    return read.flatMap((r) => r.claims);
  }
  // One bad input keeps its own headline (a claims file's problem count, a plan's hint).
  if (failures.length === 1) throw failures[0]!.err;
  const problems = failures.flatMap(({ file, err }) =>
    err.problems.length ? err.problems.map((p) => (p.file ? p : { ...p, file })) : [{ file, message: err.message }],
  );
  const code = failures.every(({ err }) => err.code === failures[0]!.err.code) ? failures[0]!.err.code : 'EG_ERR_INPUT_INVALID';
  throw new EntitlegateError(code, `${failures.length} inputs cannot be checked, so nothing was evaluated:`, problems);
}

/** Why a report written to `output` would clash with an input or `others` (see outputClash); undefined when safe. */
export function reportClash(
  output: string,
  paths: readonly string[],
  others: readonly { path: string; what: string }[],
): string | undefined {
  return outputClash(output, paths, others, isFolderInput);
}

function readSource(source: Source, ctx: InputContext, readStdin: () => string | Uint8Array): ReadInput {
  switch (source.kind) {
    case 'stdin':
      return readInput({ file: source.shown, text: decodeText(readStdin(), source.shown) }, ctx);
    case 'folder': {
      const folder = FOLDER_KINDS.find((k) => k.detect(source.path));
      return { kind: folder?.name ?? 'folder', file: source.shown, claims: folder ? folder.claims(source.path, ctx) : [] };
    }
    case 'file':
      return readInput({ file: source.shown, text: decodeText(source.read(), source.shown) }, ctx);
  }
}
