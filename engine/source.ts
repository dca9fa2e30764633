// Reads YAML/JSON text with source positions, and validates it against a zod
// schema, mapping every problem to `file:line:col`.
import { LineCounter, parseDocument, isMap, isSeq, isPair, isScalar, type Document, type Node } from 'yaml';
import type * as z from 'zod/mini';
import { EntitlegateError, type ErrorCode, type Problem } from './errors.ts';
import { readTextFile } from './text-file.ts';

export interface SourceDoc {
  file: string;
  text: string;
  doc: Document.Parsed;
  lines: LineCounter;
}

/** A config or usage file's text: read and decoded as inputs are (engine/text-file.ts). */
export function readText(file: string, code: ErrorCode): string {
  return readTextFile(file, code);
}

/** Parses one YAML (or JSON) document; syntax errors become problems. */
export function parseSource(file: string, text: string, code: ErrorCode, what: string): SourceDoc {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, schema: 'core' });
  const problems: Problem[] = doc.errors.map((e) => {
    const pos = lines.linePos(e.pos[0]);
    return { file, line: pos.line, col: pos.col, message: e.message.split('\n')[0] ?? e.message };
  });
  if (problems.length) throw new EntitlegateError(code, `${file}: ${what} is not valid YAML`, problems);
  return { file, text, doc, lines };
}

export type Path = readonly (string | number)[];

/** The position of the node at `path`, or of its nearest existing ancestor. */
export function positionOf(src: SourceDoc, path: Path, key = false): { line: number; col: number } {
  let node: unknown = src.doc.contents;
  let best: Node | null = isNode(node) ? node : null;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      if (key && seg === path[path.length - 1] && isNode(pair.key)) {
        best = pair.key;
        break;
      }
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
    } else break;
    if (isNode(node)) best = node;
    else if (isPair(node)) break;
  }
  const offset = best?.range?.[0] ?? 0;
  const pos = src.lines.linePos(offset);
  return { line: pos.line, col: pos.col };
}

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && 'range' in v;
}

export function problemAt(src: SourceDoc, path: Path, message: string, key = false): Problem {
  const at = positionOf(src, path, key);
  return { file: src.file, line: at.line, col: at.col, message };
}

/** Validates against the schema; every issue becomes a positioned problem. */
export function validate<S extends z.ZodMiniType>(src: SourceDoc, schema: S): { value?: z.output<S>; problems: Problem[] } {
  const result = schema.safeParse(src.doc.toJS({ maxAliasCount: 100 }));
  if (result.success) return { value: result.data, problems: [] };
  const problems = result.error.issues.map((issue) => {
    const where = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    if (issue.code === 'unrecognized_keys') {
      const k = issue.keys[0] ?? '';
      return problemAt(src, [...where, k], `unknown key "${issue.keys.join('", "')}"${where.length ? ` in ${dotted(where)}` : ''}`, true);
    }
    return problemAt(src, where, `${dotted(where) || 'document'}: ${issue.message}`);
  });
  return { problems };
}

export function dotted(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${p}` : p)).join('');
}

export function sortProblems(problems: Problem[]): Problem[] {
  return [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
}
