// Where JSON.parse gave up, as line and column (any JSON input: plans, claims,
// cdk.tf.json). V8 names a position for most
// errors but not for "Unexpected token …, "…" is not valid JSON" nor for a
// truncated file, so on failure (never on the fast path) a small scanner finds
// the first offending offset itself.

export interface JsonSyntaxProblem {
  line: number;
  col: number;
  message: string;
}

export function describeJsonError(text: string, err: unknown): JsonSyntaxProblem {
  const raw = err instanceof Error ? err.message : String(err);
  const offset = firstErrorOffset(text);
  const { line, col } = lineCol(text, offset);
  let message: string;
  if (offset >= text.length || /Unexpected end of JSON input/.test(raw)) {
    message = text.trim() === '' ? 'the file is empty, expected JSON' : 'the JSON ends early (truncated file?)';
  } else {
    const cleaned = raw
      .replace(/, ".*" is not valid JSON$/s, '')
      .replace(/ in JSON at position \d+( \(line \d+ column \d+\))?$/, '')
      .trim();
    message = `invalid JSON: ${cleaned}`;
  }
  return { line, col, message };
}

export function lineCol(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, col: end - lineStart + 1 };
}

/** Offset of the first character that makes `text` invalid JSON; text.length when it ends early. */
export function firstErrorOffset(text: string): number {
  let i = 0;
  const n = text.length;
  const ws = (): void => {
    while (i < n && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  };
  class Stop extends Error {}
  const fail = (): never => {
    throw new Stop();
  };
  const str = (): void => {
    if (text[i] !== '"') fail();
    i++;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail();
      if (c === 0x5c) {
        i++;
        if (i >= n) fail();
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 5;
          continue;
        }
        if (!'"\\/bfnrt'.includes(text[i] ?? '')) fail();
      }
      i++;
    }
    fail();
  };
  const value = (): void => {
    ws();
    if (i >= n) fail();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        str();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail();
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail();
      }
    }
    if (c === '"') {
      str();
      return;
    }
    for (const lit of ['true', 'false', 'null']) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return;
      }
      if (lit.startsWith(text.slice(i, n)) && n - i < lit.length) {
        i = n;
        fail();
      }
    }
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m || m[0] === '' || m[0] === '-') fail();
    i += m?.[0].length ?? 0;
  };
  try {
    value();
    ws();
    return i; // trailing garbage starts here (or n: no error found)
  } catch (e) {
    if (e instanceof Stop) return Math.min(i, n);
    throw e;
  }
}
