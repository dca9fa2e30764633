// An HTTP load generator in its own process, so the client's CPU is not
// counted against (or taken from) the process being measured in the same way
// for every server. undici with keep-alive: `concurrency` connections, each
// with one request in flight.
import { fileURLToPath } from 'node:url';
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
   * loops: request i is due at start + i/rate, and its latency counts from
   * when it was due (no coordinated omission).
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

const WORKER = fileURLToPath(new URL('./load-worker.ts', import.meta.url));

/** Runs the load in a child Node process and returns its figures. */
export function runLoad(opts: LoadOptions): Promise<LoadResult> {
  return runJsonChild<LoadResult>('load generator', [...(opts.rate ? PACED_FLAGS : []), WORKER], opts);
}

// In an open loop the generator's own pauses count as latency: requests that
// fall due while it collects garbage are sent late. With V8's default young
// generation its scavenges reached 5-8 ms (--trace-gc); a 1 MB one keeps each
// short, at a CPU cost a paced run (well below saturation) can afford. Both
// servers of a comparison are measured with the same flags.
const PACED_FLAGS = ['--max-semi-space-size=1'];
