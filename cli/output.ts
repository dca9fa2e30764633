// `--output FILE`: the report a CI step reads after `check`. It is written to
// a temporary file beside it and renamed over it, so a reader never sees half
// a report; and a run that fails removes a previous report at that path, so a
// step cannot read the last run's "allowed": true as this run's verdict.
import { lstatSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { EntitlegateError } from '../engine/errors.ts';

/** Writes `text` to `path` all at once (rename is atomic within one folder). */
export function writeReport(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  try {
    writeFileSync(tmp, text, { flag: 'wx' });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new EntitlegateError('EG_ERR_USAGE', `--output ${path}: cannot write the report: ${(err as Error).message}`);
  }
}

/** Removes a report left at `path` by an earlier run (a file or a link, never a folder). */
export function removeStaleReport(path: string): void {
  try {
    if (!lstatSync(path).isDirectory()) rmSync(path, { force: true });
  } catch {
    // Nothing there, or nothing we may remove: no report of ours either way.
  }
}
