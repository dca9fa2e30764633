// Container image references as the container runtime resolves them, so a
// licensed image is recognised however it is spelled (distribution's
// ParseNormalizedNamed, which containerd and the kubelet use, plus the
// registry host rules of HTTP).
//
//   nginx                                  → docker.io/library/nginx:latest
//   index.docker.io/nginx, docker.io:443/library/nginx, registry-1.docker.io/library/nginx
//                                          → docker.io/library/nginx:latest
//   Quay.IO:443/org/app:1                  → quay.io/org/app:1
//   repo:1.0@sha256:…                      → the digest is what is pulled; the tag is a label
//
// Equivalent, folded together:
// - No registry host (the first path component has no `.` or `:`, is not
//   `localhost` and is lower case): Docker Hub, `docker.io`.
// - `index.docker.io` (the legacy name) and `registry-1.docker.io` (the host
//   containerd actually contacts for docker.io) are docker.io.
// - On docker.io a single-component path is an official image: `library/`.
// - Host names are case-insensitive (DNS); the path is not (the runtime
//   refuses an upper-case repository as InvalidImageName, so it never runs).
// - `:443` is the HTTPS port every registry is reached on by default, so
//   `host:443` is `host`. Any other port is another registry. (For
//   `docker.io:443` the runtime skips its docker.io → registry-1.docker.io
//   mapping and the library/ prefix, so such a pull may fail; if it succeeds
//   it is the Hub image. Folding it counts at worst a pod that never starts.)
// - No tag and no digest is `:latest`.
// - With a digest, the runtime pulls the digest and ignores the tag, so a tag
//   written beside a digest proves nothing: such a reference (and a digest-only
//   one) is matched by its repository.

const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

export interface ImageRef {
  /** Registry host, lower case, without a default :443 ("docker.io", "localhost:5000"). */
  host: string;
  /** Repository path within the registry ("library/nginx"). */
  path: string;
  /** The tag as written; "latest" when neither tag nor digest is written. */
  tag: string | undefined;
  /** "sha256:…" when written. */
  digest: string | undefined;
}

/** Is this first path component a registry host (distribution's splitDockerDomain rule)? */
function isHost(first: string): boolean {
  return first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase();
}

function normalHost(host: string): string {
  const h = host.toLowerCase().replace(/:443$/, '');
  return DOCKER_HUB_ALIASES.has(h) ? DOCKER_HUB : h;
}

/** Splits and normalises a reference (or a pattern written like one); glob characters pass through untouched. */
export function parseImageRef(reference: string): ImageRef {
  let rest = reference.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const slash = rest.indexOf('/');
  let host = DOCKER_HUB;
  let path = rest;
  if (slash >= 0 && isHost(rest.slice(0, slash))) {
    host = normalHost(rest.slice(0, slash));
    path = rest.slice(slash + 1);
  }
  if (host === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { host, path, tag, digest };
}

/** What one image is tested as: its normalised spellings, and its repository when a digest decides what runs. */
export interface ImageCandidates {
  /** As written, and normalised: `repo:tag`, `repo@digest`, `repo:tag@digest`. */
  full: string[];
  /** The normalised repository, only for a reference with a digest (its tag, if any, is not what is pulled). */
  repository: string | undefined;
}

export function imageCandidates(reference: string): ImageCandidates {
  const r = parseImageRef(reference);
  const repo = `${r.host}/${r.path}`;
  const full = new Set([reference.trim()]);
  if (r.tag !== undefined) full.add(`${repo}:${r.tag}`);
  if (r.digest !== undefined) full.add(`${repo}@${r.digest}`);
  if (r.tag !== undefined && r.digest !== undefined) full.add(`${repo}:${r.tag}@${r.digest}`);
  return { full: [...full], repository: r.digest !== undefined ? repo : undefined };
}

/** What one configured image glob is compiled into. */
export interface PatternForms {
  /** Tested against ImageCandidates.full. */
  full: string[];
  /** Tested against ImageCandidates.repository: the repository the pattern names. */
  repositories: string[];
}

const hasTagOrDigest = (pattern: string) => /[:@][^/]*$/.test(pattern);

/** The repository part of a pattern as written: without its `:tag` and `@digest`. */
function writtenRepository(pattern: string): string {
  const at = pattern.indexOf('@');
  const rest = at >= 0 ? pattern.slice(0, at) : pattern;
  const colon = rest.lastIndexOf(':');
  return colon > rest.lastIndexOf('/') ? rest.slice(0, colon) : rest;
}

/**
 * The forms an image glob stands for: as written (host lower-cased) and
 * normalised, so `nginx*`, `library/nginx*`, `index.docker.io/nginx*` and
 * `docker.io/library/nginx*` each match every spelling of nginx. A pattern
 * naming a repository without tag or digest matches every tag and digest of
 * it. A pattern with a tag matches that tag, and a reference of the same
 * repository by digest (whose tag is unknown or not what runs), so a digest
 * cannot be used to dodge a tag pattern.
 */
export function patternForms(pattern: string): PatternForms {
  const written = pattern.trim();
  const slash = written.indexOf('/');
  const asWritten = slash >= 0 && isHost(written.slice(0, slash)) ? normalHost(written.slice(0, slash)) + written.slice(slash) : written;
  const r = parseImageRef(written);
  const repo = `${r.host}/${r.path}`;
  const full = new Set([asWritten]);
  if (!hasTagOrDigest(written)) {
    full.add(repo);
    // Every tag and digest of it ("*" never crosses a "/", and neither does a tag or digest).
    full.add(`${repo}[:@]*`);
  } else if (r.digest !== undefined) {
    full.add(`${repo}@${r.digest}`);
    full.add(`${repo}:*@${r.digest}`);
  } else {
    full.add(`${repo}:${r.tag}`);
    full.add(`${repo}:${r.tag}@*`);
  }
  return { full: [...full], repositories: [...new Set([repo, writtenRepository(asWritten)])] };
}
