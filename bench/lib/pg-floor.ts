// The ledger bench's floor, in its own process: the cheapest reservation
// PostgreSQL can do, a bare conditional `UPDATE … RETURNING` on one row (one
// round trip, one commit), through the same client (pg) and pool size the
// ledger replicas use together. Reads {url, concurrency, warmupMs, runMs} on
// stdin; prints {opsPerSec, p50Ms, p99Ms, requests, errors}.
import pg from 'pg';
import { percentile } from './stats.ts';

interface Options {
  url: string;
  concurrency: number;
  warmupMs: number;
  runMs: number;
}

const input = JSON.parse(
  await new Promise<string>((resolve) => {
    let s = '';
    process.stdin.on('data', (d) => (s += d)).on('end', () => resolve(s));
  }),
) as Options;

const pool = new pg.Pool({ connectionString: input.url, max: input.concurrency });
await pool.query('CREATE TABLE IF NOT EXISTS bench_floor (id INT PRIMARY KEY, used BIGINT NOT NULL, cap BIGINT NOT NULL)');
await pool.query('INSERT INTO bench_floor VALUES (1, 0, 1000000000000) ON CONFLICT (id) DO UPDATE SET used = 0');

const latencies: number[] = [];
let errors = 0;
async function loop(until: number, measure: boolean): Promise<void> {
  while (performance.now() < until) {
    const t0 = performance.now();
    try {
      const r = await pool.query('UPDATE bench_floor SET used = used + $1 WHERE id = 1 AND used + $1 <= cap RETURNING used', [1]);
      if (r.rowCount !== 1) errors++;
    } catch {
      errors++;
    }
    if (measure) latencies.push(performance.now() - t0);
  }
}
const warm = performance.now() + input.warmupMs;
await Promise.all(Array.from({ length: input.concurrency }, () => loop(warm, false)));
const start = performance.now();
await Promise.all(Array.from({ length: input.concurrency }, () => loop(start + input.runMs, true)));
const seconds = (performance.now() - start) / 1000;
latencies.sort((a, b) => a - b);
await pool.end();
process.stdout.write(
  JSON.stringify({
    opsPerSec: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    requests: latencies.length,
    errors,
  }),
);
