// Paths given to `check` → the files, folders and stdin to read, and the
// problems of the paths that cannot be read. Nothing here parses: every
// problem is found before any input is read, so one error lists them all.
//
// Linked sub-folders are followed (a manifests tree assembled with links is
// what `kubectl apply -R` deploys); each real folder is entered once, which
// also ends a link loop, and each real file is read once, however many links
// lead to it. A FIFO, socket or device is refused: reading one blocks
// forever or never ends.
import { type Dirent, readdirSync, readFileSync, realpathSync, type Stats, statSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { type ErrorCode, inputError, type Problem } from '../engine/errors.ts';
import { type FileKind, notRegular, STREAM_PATH, unreadable } from '../engine/text-file.ts';

export type Source =
  | { kind: 'stdin'; shown: string }
  | { kind: 'folder'; shown: string; path: string }
  | { kind: 'file'; shown: string; path: string; read(): Uint8Array };

export interface PathProblem {
  code: ErrorCode;
  problem: Problem;
}

const READABLE = /\.(ya?ml|json)$/i;
/**
 * Only git's own folder is skipped: no commit can put a file there. Hidden
 * files, dot-folders and node_modules are read, because `kubectl apply -R -f`
 * applies them: skipped here, `.db.yaml` was a licensed workload deployed
 * uncounted.
 */
export const SKIPPED = (name: string) => name === '.git';

function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    throw inputError({ file: path, message: unreadable(path, err) }, 'EG_ERR_FILE_NOT_FOUND');
  }
}

class Walk {
  readonly sources: Source[] = [];
  readonly problems: PathProblem[] = [];
  readonly #files = new Set<string>();
  /** Real path of each folder entered → whether it held anything to read (false while it is being walked). */
  readonly #folders = new Map<string, boolean>();
  #stdin = false;
  readonly isFolderInput: (dir: string) => boolean;
  /** Real paths of files a folder walk passes by: the run's config and usage snapshots. */
  readonly #skip: ReadonlySet<string>;

  constructor(isFolderInput: (dir: string) => boolean, skip: readonly string[]) {
    this.isFolderInput = isFolderInput;
    this.#skip = new Set(skip.map(realTarget));
  }

  problem(file: string, message: string, code: ErrorCode = 'EG_ERR_FILE_NOT_FOUND'): void {
    this.problems.push({ code, problem: { file, message } });
  }

  /** One path as given on the command line. */
  path(path: string): void {
    if (path === '-') {
      if (this.#stdin) this.problem('-', 'standard input is named twice; it can be read once');
      else this.sources.push({ kind: 'stdin', shown: '<stdin>' });
      this.#stdin = true;
      return;
    }
    let st: Stats;
    try {
      st = statSync(path);
    } catch (err) {
      this.problem(path, unreadable(path, err));
      return;
    }
    if (st.isDirectory()) {
      // Named again, or inside a folder named before: read (or reported) once.
      if (this.#folders.has(realpathSync(path))) return;
      if (this.isFolderInput(path)) {
        this.#folders.set(realpathSync(path), true);
        this.sources.push({ kind: 'folder', shown: path, path });
        return;
      }
      const problems = this.problems.length;
      const found = this.#enter(path);
      // An empty or wrong folder must not pass the gate as "nothing to check".
      if (!found && this.problems.length === problems)
        this.problem(
          path,
          'the folder holds no .yaml, .yml or .json file and is not a cdktf.out folder: nothing to check in it',
          'EG_ERR_INPUT_UNKNOWN',
        );
    } else if (st.isFile() || STREAM_PATH.test(path)) this.file(path, st);
    else this.problem(path, notRegular(st));
  }

  file(path: string, st: FileKind): void {
    if (st.isFile()) {
      const real = realpathSync(path);
      if (this.#files.has(real)) return;
      this.#files.add(real);
    }
    this.sources.push({ kind: 'file', shown: path, path, read: () => readBytes(path) });
  }

  /**
   * A folder walked once, however many paths lead to it (a second link, or a
   * link back to an ancestor, which ends a loop); whether it held anything to read.
   */
  #enter(path: string): boolean {
    const real = realpathSync(path);
    const seen = this.#folders.get(real);
    if (seen !== undefined) return seen;
    this.#folders.set(real, false);
    const found = this.folder(path);
    this.#folders.set(real, found);
    return found;
  }

  /** Files of a folder and its sub-folders, in name order; whether any readable file was there. */
  folder(dir: string): boolean {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      this.problem(dir, unreadable(dir, err));
      return false;
    }
    let found = false;
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (SKIPPED(entry.name)) continue;
      const path = join(dir, entry.name);
      let kind: FileKind = entry;
      if (entry.isSymbolicLink()) {
        try {
          kind = statSync(path);
        } catch (err) {
          // A broken link that names no manifest hides nothing.
          if (READABLE.test(entry.name)) this.problem(path, unreadable(path, err));
          continue;
        }
      }
      if (kind.isDirectory()) {
        found = this.#enter(path) || found;
      } else if (READABLE.test(entry.name)) {
        if (kind.isFile() && this.#skip.has(realpathSync(path))) continue;
        found = true;
        if (kind.isFile()) this.file(path, kind);
        else this.problem(path, notRegular(kind));
      }
    }
    return found;
  }
}

/** The sources behind `paths`, in order, and every problem of the paths that cannot be read. */
export function collectPaths(
  paths: readonly string[],
  isFolderInput: (dir: string) => boolean,
  skip: readonly string[] = [],
): { sources: Source[]; problems: PathProblem[] } {
  const walk = new Walk(isFolderInput, skip);
  for (const path of paths) walk.path(path);
  return { sources: walk.sources, problems: walk.problems };
}

/** The real path of a file that may not exist yet (its folder's real path and its name). */
function realTarget(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    try {
      return join(realpathSync(dirname(path)), basename(path));
    } catch {
      return resolve(path);
    }
  }
}

/**
 * Why writing a report to `output` would overwrite or later feed an input:
 * it is one of the files `paths` reads, or a manifest-named file inside a
 * folder they read (the next run would read the report as an input), or one
 * of `others` (the config, a usage snapshot). Undefined when it is safe.
 */
export function outputClash(
  output: string,
  paths: readonly string[],
  others: readonly { path: string; what: string }[],
  isFolderInput: (dir: string) => boolean,
): string | undefined {
  const target = realTarget(output);
  for (const o of others) if (realTarget(o.path) === target) return `it is ${o.what}`;
  const { sources } = collectPaths(
    paths.filter((p) => p !== '-'),
    isFolderInput,
  );
  for (const s of sources) if (s.kind === 'file' && realTarget(s.path) === target) return `it is the input ${s.shown}`;
  if (!READABLE.test(basename(target))) return undefined;
  for (const p of paths) {
    if (p === '-') continue;
    let real: string;
    try {
      if (!statSync(p).isDirectory() || isFolderInput(p)) continue;
      real = realpathSync(p);
    } catch {
      continue;
    }
    if (target.startsWith(real + sep)) return `it is inside the folder ${p}, which is read as input: the next run would read the report`;
  }
  return undefined;
}
