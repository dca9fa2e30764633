// The dashboard at 1,000 products × 25 months of daily history (embedded store):
//  - the history API's latency for a product's whole 25 months, one request at
//    a time, beside /healthz on the same server as the floor (target p99 < 50 ms);
//  - the platform view's first render in Chromium, from navigation to the
//    products table and the chart drawn, beside the sign-in page's render
//    (target < 1 s).
// The ledger runs in this process; Chromium in its own.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createToken } from '../../ledger/auth.ts';
import { startLedgerServer } from '../../ledger/serve.ts';
import { haveChromium, launchChromium } from '../../ledger/testing/browser.ts';
import { seedLedger } from '../../ledger/testing/seed.ts';
import { median, percentile } from '../lib/stats.ts';
import type { BenchRow, BenchSection } from '../types.ts';

const NOW = new Date('2026-11-28T10:00:00Z');
const HISTORY_FLOOR = 'GET /healthz (floor)';
const BLANK_PAGE = 'sign-in page render (floor)';

async function latencies(n: number, request: (i: number) => Promise<Response>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const res = await request(i);
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`dashboard bench: HTTP ${res.status}`);
    out.push(performance.now() - t);
  }
  return out.sort((a, b) => a - b);
}

export async function dashboardRows(
  opts: { products: number; months: number; requests: number; renders: number },
  log: (l: string) => void,
): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'eg-bench-dashboard-'));
  const rows: BenchRow[] = [];
  try {
    log(`dashboard: seeding ${opts.products} products × ${opts.months} months`);
    const seeded = await seedLedger(dir, { products: opts.products, months: opts.months, now: NOW });
    const input = `${opts.products.toLocaleString('en-US')} products × ${opts.months} months (${seeded.rows.toLocaleString('en-US')} daily rows)`;
    rows.push({ section: 'dashboard', subject: 'seed (bulk import, embedded store)', input, wallMs: seeded.ms });
    const { app, ledger, address } = await startLedgerServer({
      config: seeded.config,
      store: seeded.store,
      port: 0,
      host: '127.0.0.1',
      clock: () => NOW,
      logLevel: 'silent',
      intervalMs: 0,
    });
    try {
      const token = (await createToken(ledger.store, 'bench', ['viewer'], NOW, 'bench')).token;
      const headers = { authorization: `Bearer ${token}` };
      const from = new Date(NOW.getTime() - 760 * 86_400_000).toISOString().slice(0, 10);
      const to = NOW.toISOString().slice(0, 10);
      log(`dashboard: history API, ${opts.requests} requests`);
      await latencies(20, () => fetch(`${address}/healthz`));
      const floor = await latencies(opts.requests, () => fetch(`${address}/healthz`));
      const history = await latencies(opts.requests, (i) =>
        fetch(`${address}/v1/history?product=${seeded.products[(i * 37) % seeded.products.length]}&from=${from}&to=${to}`, { headers }),
      );
      const floorP99 = percentile(floor, 99);
      const p99 = percentile(history, 99);
      rows.push(
        {
          section: 'dashboard',
          subject: HISTORY_FLOOR,
          input: 'same server, one request at a time',
          p50Ms: percentile(floor, 50),
          p99Ms: floorP99,
        },
        {
          section: 'dashboard',
          subject: 'GET /v1/history (one product, 25 months, daily)',
          input,
          p50Ms: percentile(history, 50),
          p99Ms: p99,
          baseline: HISTORY_FLOOR,
          ratio: p99 / floorP99,
          target: 'p99 < 50 ms',
          met: p99 < 50,
          note: `${opts.requests} requests over ${opts.requests} products' series, total and scope`,
        },
      );

      if (!haveChromium()) {
        rows.push({
          section: 'dashboard',
          subject: 'platform view, first render (Chromium)',
          input,
          note: 'not measured: Chromium is not installed (scripts/install-chromium.sh)',
        });
        return rows;
      }
      log(`dashboard: platform view first render, ${opts.renders} times`);
      const browser = await launchChromium();
      try {
        const render = async (signedIn: boolean) => {
          const page = await browser.context.newPage();
          if (signedIn) await page.addInitScript((t) => sessionStorage.setItem('entitlegate.token', t), token);
          const t = performance.now();
          await page.goto(`${address}/ui#/platform`);
          if (signedIn) await page.waitForSelector('#view[data-ready="platform"] #products tbody tr');
          if (signedIn) await page.waitForSelector('#chart canvas');
          else await page.waitForSelector('#signin:not([hidden])');
          const ms = performance.now() - t;
          await page.close();
          return ms;
        };
        await render(true);
        const blank: number[] = [];
        const platform: number[] = [];
        for (let i = 0; i < opts.renders; i++) {
          blank.push(await render(false));
          platform.push(await render(true));
        }
        const base = median(blank);
        const ms = median(platform);
        rows.push(
          { section: 'dashboard', subject: BLANK_PAGE, input: 'the same page without a token', wallMs: base },
          {
            section: 'dashboard',
            subject: 'platform view, first render (Chromium)',
            input,
            wallMs: ms,
            baseline: BLANK_PAGE,
            ratio: ms / base,
            target: '< 1 s',
            met: ms < 1000,
            note: `median of ${opts.renders}; navigation to the 1,000-row table and the chart drawn (max ${Math.round(Math.max(...platform))} ms)`,
          },
        );
      } finally {
        await browser.close();
      }
    } finally {
      await app.close();
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const dashboardSection: BenchSection = {
  name: 'dashboard',
  run: ({ quick, log }) => dashboardRows({ products: 1000, months: 25, requests: quick ? 200 : 1000, renders: quick ? 3 : 10 }, log),
};
