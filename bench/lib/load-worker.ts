// The load generator's process (see load.ts): reads LoadOptions as JSON on
// stdin, prints a LoadResult as JSON on stdout.
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import type { LoadOptions, LoadResult } from './load.ts';
import { median, percentile } from './stats.ts';

async function readStdin(): Promise<string> {
  let s = '';
  for await (const chunk of process.stdin) s += String(chunk);
  return s;
}

async function main(): Promise<void> {
  const o = JSON.parse(await readStdin()) as LoadOptions;
  const url = new URL(o.url);
  const pool = new Pool(url.origin, {
    connections: o.concurrency,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    ...(o.ca ? { connect: { ca: readFileSync(o.ca), servername: 'localhost' } } : o.insecure ? { connect: { rejectUnauthorized: false } } : {}),
  });
  const path = url.pathname + url.search;
  const method = (o.method ?? (o.body === undefined ? 'GET' : 'POST')) as 'GET' | 'POST';
  const expect = o.expectStatus ?? 200;
  let errors = 0;
  let unexpected = 0;
  let firstError: string | undefined;
  let sample: string | undefined;
  let recording = false;
  const lat: number[] = [];
  let count = 0;
  let stopAt = 0;

  /** One request; its latency counts from `due` (its start, or when an open loop scheduled it). */
  async function one(due: number): Promise<void> {
    try {
      const res = await pool.request({ path, method, headers: o.headers ?? {}, ...(o.body !== undefined ? { body: o.body } : {}) });
      const text = await res.body.text();
      if (res.statusCode !== expect) {
        errors++;
        firstError ??= `HTTP ${res.statusCode}: ${text.slice(0, 200)}`;
      } else {
        sample ??= text;
        if (o.expectBody !== undefined && !text.includes(o.expectBody)) unexpected++;
      }
    } catch (e) {
      errors++;
      firstError ??= (e as Error).message;
    }
    if (recording) {
      lat.push(performance.now() - due);
      count++;
    }
  }

  async function worker(): Promise<void> {
    while (performance.now() < stopAt) await one(performance.now());
  }

  /** Open loop: requests fall due at a fixed rate whether or not earlier ones have answered. */
  async function paced(start: number, rate: number): Promise<void> {
    const interval = 1000 / rate;
    const inflight = new Set<Promise<void>>();
    for (let i = 0; ; ) {
      const now = performance.now();
      if (now >= stopAt) break;
      for (; start + i * interval <= now; i++) {
        const p = one(start + i * interval);
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
      }
      // Sleep until the next request is due rather than spin: a spinning
      // client takes a core from the server it measures on a small machine.
      const wait = start + i * interval - performance.now();
      await new Promise((r) => (wait > 1 ? setTimeout(r, Math.floor(wait)) : setImmediate(r)));
    }
    await Promise.all(inflight);
  }

  async function phase(ms: number): Promise<number> {
    count = 0;
    const start = performance.now();
    stopAt = start + ms;
    if (o.rate) await paced(start, o.rate);
    else await Promise.all(Array.from({ length: o.concurrency }, worker));
    return (count * 1000) / (performance.now() - start);
  }

  recording = false;
  await phase(o.warmupMs);
  errors = 0;
  unexpected = 0;
  firstError = undefined;
  recording = true;
  const rates: number[] = [];
  for (let r = 0; r < o.runs; r++) rates.push(await phase(o.runMs));
  await pool.close();
  lat.sort((a, b) => a - b);
  const result: LoadResult = {
    opsPerSec: median(rates),
    p50Ms: percentile(lat, 50),
    p99Ms: percentile(lat, 99),
    runs: rates,
    requests: lat.length,
    errors,
    unexpected,
    ...(firstError ? { firstError } : {}),
    ...(sample !== undefined ? { sample: sample.slice(0, 2000) } : {}),
  };
  process.stdout.write(JSON.stringify(result));
}

main().catch((e: unknown) => {
  process.stderr.write(String((e as Error).stack ?? e));
  process.exit(1);
});
