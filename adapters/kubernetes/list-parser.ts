// Streaming readers of API server responses: watch streams as
// newline-delimited JSON, and list pages item by item, however the chunks
// cut them (mid-JSON, mid-UTF-8 character).

/** Calls `onLine` for each complete line of a stream of text chunks; a line may span any number of chunks. */
export class LineSplitter {
  #rest = '';
  readonly #onLine: (line: string) => void;
  constructor(onLine: (line: string) => void) {
    this.#onLine = onLine;
  }
  push(chunk: string): void {
    let text = this.#rest + chunk;
    let nl: number;
    while ((nl = text.indexOf('\n')) >= 0) {
      const line = text.slice(0, nl).trim();
      text = text.slice(nl + 1);
      if (line) this.#onLine(line);
    }
    this.#rest = text;
  }
  /** The unterminated remainder at the end of the stream, if any. */
  end(): void {
    const line = this.#rest.trim();
    this.#rest = '';
    if (line) this.#onLine(line);
  }
}

/** Whether the backslashes right before `end` (not looking before `from`) are an odd run, i.e. escape the character at `end`. */
function oddBackslashesBefore(s: string, end: number, from: number): boolean {
  let n = 0;
  for (let j = end - 1; j >= from && s.charCodeAt(j) === 92; j--) n++;
  return n % 2 === 1;
}

/**
 * A list response read as it arrives: each element of the top-level `items`
 * array is parsed (JSON.parse of its own text) and handed on as soon as its
 * closing brace is in, so neither the page's text nor its object graph is
 * ever held whole. The rest of the document (kind, metadata with
 * resourceVersion and continue) is kept as text and parsed at the end.
 */
export class ListPageParser {
  readonly #onItem: (item: unknown) => void;
  #buf = '';
  #pos = 0;
  #depth = 0;
  #inString = false;
  #stringStart = -1;
  #lastString = '';
  #inItems = false;
  #itemStart = -1;
  /** The document outside the items array, up to and including its `[`. */
  #head = '';
  /** Where the text after the items array starts in #buf (-1 while inside it). */
  #tailFrom = 0;

  constructor(onItem: (item: unknown) => void) {
    this.#onItem = onItem;
  }

  push(chunk: string): void {
    const s = (this.#buf += chunk);
    const n = s.length;
    // State in locals for the loop (it sees every byte of the list).
    let depth = this.#depth;
    let inString = this.#inString;
    let stringStart = this.#stringStart;
    let itemStart = this.#itemStart;
    let i = this.#pos;
    for (; i < n; i++) {
      if (inString) {
        // Jump to the closing quote natively. The whole string so far is in
        // #buf, so an escaped quote (odd run of backslashes) is told apart
        // even when the chunk ended between the backslash and the quote.
        let q = s.indexOf('"', i);
        while (q > 0 && s.charCodeAt(q - 1) === 92 && oddBackslashesBefore(s, q, stringStart + 1)) q = s.indexOf('"', q + 1);
        if (q < 0) {
          i = n;
          break;
        }
        i = q;
        inString = false;
        if (depth === 1 && !this.#inItems) this.#lastString = s.slice(stringStart + 1, i);
        continue;
      }
      const c = s.charCodeAt(i);
      if (c === 34 /* " */) {
        inString = true;
        stringStart = i;
      } else if (c === 123 /* { */ || c === 91 /* [ */) {
        depth++;
        if (this.#inItems) {
          if (depth === 3) itemStart = i;
        } else if (depth === 2 && c === 91 && this.#lastString === 'items') {
          this.#inItems = true;
          this.#head = s.slice(0, i + 1);
          this.#tailFrom = -1;
        }
      } else if (c === 125 /* } */ || c === 93 /* ] */) {
        depth--;
        if (depth === 2 && itemStart >= 0 && this.#inItems) {
          const item = JSON.parse(s.slice(itemStart, i + 1)) as unknown;
          itemStart = -1;
          this.#onItem(item);
        } else if (depth === 1 && this.#inItems) {
          this.#inItems = false;
          this.#tailFrom = i;
        }
      }
    }
    // Keep only what is still needed: the item being read, or (outside the
    // items array, a few hundred bytes) everything.
    if (this.#inItems) {
      const from = itemStart >= 0 ? itemStart : inString ? stringStart : n;
      this.#buf = s.slice(from);
      i -= from;
      if (itemStart >= 0) itemStart -= from;
      stringStart -= from;
    }
    this.#pos = i;
    this.#depth = depth;
    this.#inString = inString;
    this.#stringStart = stringStart;
    this.#itemStart = itemStart;
  }

  /** The document without its items (metadata.resourceVersion, metadata.continue). */
  end(): Record<string, unknown> {
    if (this.#depth !== 0 || this.#inString) throw new Error('list response ended mid-document');
    const text = this.#tailFrom < 0 ? this.#buf : this.#head ? this.#head + this.#buf.slice(this.#tailFrom) : this.#buf;
    this.#buf = '';
    const doc = JSON.parse(text) as unknown;
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('list response is not a JSON object');
    return doc as Record<string, unknown>;
  }
}
