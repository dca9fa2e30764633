// A value as a message quotes it: JSON, cut to a short preview. Messages
// quote what an input wrote ("replicas is [[1]]"), and an input is written by
// whoever wants the gate to choke: quoted whole, a value nested 1,000 deep or
// megabytes long became a message of that size in every report, log line and
// PR comment. The walk stops at the budget, so the cost is bounded too.

/** Characters a preview keeps, the `…` that marks a cut included. */
export const PREVIEW_MAX = 80;

/**
 * `value` as JSON, at most `max` characters; a longer one is cut and ends
 * with `…`. Values JSON cannot write (undefined, a function) are shown as
 * String() shows them.
 */
export function preview(value: unknown, max = PREVIEW_MAX): string {
  let out = '';
  // Stops the walk once the preview is full: neither a deep nest nor a huge
  // array is walked (or stringified) past what is shown.
  const full = () => out.length > max;
  const write = (v: unknown): void => {
    if (full()) return;
    if (Array.isArray(v)) {
      out += '[';
      for (let i = 0; i < v.length && !full(); i++) {
        if (i > 0) out += ',';
        write(v[i] === undefined ? null : v[i]);
      }
      out += ']';
    } else if (typeof v === 'object' && v !== null) {
      out += '{';
      let first = true;
      for (const k in v) {
        if (full()) break;
        const item = (v as Record<string, unknown>)[k];
        if (item === undefined || typeof item === 'function') continue;
        if (!first) out += ',';
        first = false;
        out += `${JSON.stringify(k)}:`;
        write(item);
      }
      out += '}';
    } else if (typeof v === 'string') {
      out += JSON.stringify(v.length > max ? v.slice(0, max) : v);
    } else {
      out += JSON.stringify(v) ?? String(v);
    }
  };
  write(value);
  return previewText(out, max);
}

/** Text as written (no quotes), at most `max` characters; a longer one is cut and ends with `…`. */
export function previewText(text: string, max = PREVIEW_MAX): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
