// Kubernetes YAML and JSON text into objects, each with the file and line a
// person would open to find it (claims and violations name both).
import { LineCounter, isMap, isSeq, parseAllDocuments, type Node as YamlNode } from 'yaml';
import { inputError } from '../../engine/errors.ts';
import { arr, rec, str, type Obj } from './objects.ts';

/** A Kubernetes object and where it was read from. */
export interface SourcedObject {
  object: Obj;
  file?: string;
  /** 1-based line where the object starts. */
  line?: number;
}

/** Has the two fields every Kubernetes object has. */
export function isKubernetesObject(value: unknown): value is Obj & { apiVersion: string; kind: string } {
  const r = rec(value);
  return !!r && typeof r.apiVersion === 'string' && r.apiVersion !== '' && typeof r.kind === 'string' && r.kind !== '';
}

export { isAdmissionReview } from './admission-review.ts';

/**
 * Text that reads as Kubernetes YAML: a top-level `apiVersion:` or `kind:`
 * line (plain, or quoted as a JSON-minded tool writes it), or a document of
 * JSON flow style (`{"apiVersion": …}`) after a `---` marker, which kubectl
 * reads as well. For callers that tell input kinds apart before parsing.
 */
export function looksLikeKubernetesText(text: string): boolean {
  return /^(["']?)(apiVersion|kind)\1[ \t]*:/m.test(text) || /^---[ \t]*\r?\n\s*\{\s*"(apiVersion|kind)"\s*:/m.test(text);
}

/** `kind: List`, or a typed list such as `DeploymentList`, with an `items` array. */
function isList(value: Obj): boolean {
  const kind = str(value.kind) ?? '';
  return (kind === 'List' || kind.endsWith('List')) && Array.isArray(value.items);
}

/**
 * Every object in a YAML stream (`---` separated, comments and empty documents
 * such as `helm template` emits are skipped) or a JSON document. Lists are
 * flattened into their items. Throws EG_ERR_INPUT_INVALID with file:line:col
 * on malformed text or a document that is not a Kubernetes object.
 */
export function parseKubernetes(text: string, file = '-'): SourcedObject[] {
  // One JSON document is checked as JSON; a stream with `---` markers is YAML
  // whose documents may be written in JSON flow style, as kubectl reads it.
  if (/^\s*[[{]/.test(text) && !/^---/m.test(text)) checkJson(text, file);
  const lineCounter = new LineCounter();
  // Merge keys (`<<: *defaults`) are YAML 1.1, which kubectl's parser speaks;
  // without them a template's containers would silently go missing.
  const docs = parseAllDocuments(text, { lineCounter, merge: true });
  if (!Array.isArray(docs)) return []; // an empty stream
  const out: SourcedObject[] = [];
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error) {
      const pos = error.linePos?.[0];
      throw inputError({ file, line: pos?.line, col: pos?.col, message: `invalid YAML: ${firstLine(error.message)}` });
    }
    const node = doc.contents;
    if (node === null) continue;
    const line = lineCounter.linePos(node.range?.[0] ?? 0).line;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      throw inputError({ file, line, message: `invalid YAML: ${firstLine((e as Error).message)}` });
    }
    if (value === null || value === undefined) continue;
    collect(value, node, file, line, lineCounter, out);
  }
  return out;
}

function collect(value: unknown, node: YamlNode | null, file: string, line: number, lc: LineCounter, out: SourcedObject[]): void {
  const object = rec(value);
  if (!object || !isKubernetesObject(object)) {
    throw inputError({ file, line, message: 'not a Kubernetes object: apiVersion and kind are required' });
  }
  if (!isList(object)) {
    out.push({ object, file, line });
    return;
  }
  // Items of a typed list (what the API returns) carry no apiVersion/kind of their own.
  const itemKind = object.kind === 'List' ? undefined : (object.kind as string).slice(0, -'List'.length);
  const itemsNode = isMap(node) ? node.get('items', true) : undefined;
  arr(object.items).forEach((item, i) => {
    const itemNode = isSeq(itemsNode) ? (itemsNode.items[i] as YamlNode | undefined) : undefined;
    const itemLine = itemNode?.range ? lc.linePos(itemNode.range[0]).line : line;
    const r = rec(item);
    const filled = r && itemKind && !isKubernetesObject(r) ? { apiVersion: object.apiVersion, kind: itemKind, ...r } : item;
    collect(filled, itemNode ?? null, file, itemLine, lc, out);
  });
}

/** YAML accepts things JSON does not (`{"a": }`), so JSON is checked as JSON first. */
function checkJson(text: string, file: string): void {
  try {
    JSON.parse(text);
  } catch (e) {
    const message = (e as Error).message;
    const at = /position (\d+)/.exec(message);
    let line: number | undefined;
    let col: number | undefined;
    if (at) {
      const before = text.slice(0, Number(at[1]));
      line = before.split('\n').length;
      col = before.length - before.lastIndexOf('\n');
    }
    // V8 quotes the input in some messages; a person needs the position, not a copy of their file.
    const clean = message.replace(/,? ".*" is not valid JSON$/s, ' (not valid JSON)').replace(/ in JSON at position \d+.*$/s, '');
    throw inputError({ file, line, col, message: `invalid JSON: ${clean}` });
  }
}

function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}
