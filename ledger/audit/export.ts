// The decision log as JSON Lines (`audit export`, GET /v1/audit/export): pages
// of export lines that the store writes (Store.logLines), each read only once
// the reader has taken the one before, so memory is one page however long the
// log and however slow the reader. A page is a few hundred records at most, so
// its text stays below V8's large-object size for records of usual size.
import type { Store } from '../store/types.ts';

export const EXPORT_PAGE = 50;

/** The records from `fromSeq` on, a page of lines at a time; pulled, never read ahead. */
export async function* exportPages(store: Store, fromSeq: number, pageSize = EXPORT_PAGE): AsyncGenerator<{ text: string; count: number }> {
  let next = fromSeq;
  for (;;) {
    const page = await store.logLines(next, pageSize);
    if (page.count > 0) yield { text: page.text, count: page.count };
    if (page.count < pageSize) return;
    next = page.lastSeq + 1;
  }
}
