// The HTTP load generator: bench/loadgen (Go), in its own process, so the
// client's CPU is not counted against the process being measured and is the
// same for every server. `concurrency` keep-alive connections with one request
// in flight each; closed loop, or an open loop at `rate` (see main.go for the
// method and why it is not a Node client or an existing tool). It is built
// once per source version into the cache outside the clone, with the Go
// toolchain the OPA install needs anyway.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toolCacheDir } from '../../engine/policy/compile.ts';
import { runJsonChild } from './child.ts';

export interface LoadOptions {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  concurrency: number;
  warmupMs: number;
  runMs: number;
  runs: number;
  /** Status every response must have; others count as errors. */
  expectStatus?: number;
  /** Accept any TLS certificate (self-signed bench certificates). */
  insecure?: boolean;
  /** Trust this CA (PEM file) for a server named localhost, instead of `insecure`. */
  ca?: string;
  /**
   * Open loop at this many requests a second instead of `concurrency` closed
   * loops: each connection has its own schedule of rate/concurrency requests
   * a second, and a request's latency counts from when it was due, so a stall
   * is counted in full (no coordinated omission).
   */
  rate?: number;
  /** Text every response body must contain; others count as `unexpected`. */
  expectBody?: string;
}

export interface LoadResult {
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  runs: number[];
  requests: number;
  errors: number;
  /** Responses with the expected status whose body lacked `expectBody`. */
  unexpected: number;
  /** The first error seen, for the note. */
  firstError?: string;
  /** A response body, to check the server answered what it should. */
  sample?: string;
}

const SOURCE = fileURLToPath(new URL('../loadgen/', import.meta.url));

/** The generator's binary, built on first use for this version of its source. */
export function loadgenBinary(): string {
  const hash = createHash('sha256');
  for (const f of ['go.mod', 'main.go']) hash.update(readFileSync(join(SOURCE, f)));
  const dir = join(toolCacheDir(), 'loadgen', hash.digest('hex').slice(0, 16));
  const bin = join(dir, 'loadgen');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const tmp = `${bin}.${process.pid}`;
  try {
    execFileSync('go', ['build', '-o', tmp, '.'], {
      cwd: SOURCE,
      env: { ...process.env, CGO_ENABLED: '0' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (err) {
    const e = err as { code?: string; stderr?: Buffer };
    throw new Error(
      e.code === 'ENOENT'
        ? 'the load generator (bench/loadgen) is built with Go, and `go` is not on PATH'
        : `building bench/loadgen failed: ${String(e.stderr ?? err)}`,
    );
  }
  renameSync(tmp, bin);
  return bin;
}

/** Runs the load in the generator's process and returns its figures. */
export function runLoad(opts: LoadOptions): Promise<LoadResult> {
  return runJsonChild<LoadResult>('load generator', [], opts, loadgenBinary());
}
