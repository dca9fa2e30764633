// The dashboard in a real browser (Debian's Chromium through playwright-core)
// against a ledger seeded with 1,000 products and 25 months of history on the
// embedded store: each role signs in, sees its own views and is refused the
// others, and axe-core finds no serious accessibility violation. The
// screenshots in docs/screenshots/ are taken here. The log holds 20,000
// seeded decisions (400 denied) and a denial made here; the last test tampers
// with the store and sees the audit view say so.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../auth.ts';
import { startLedgerServer } from '../serve.ts';
import type { Role, Store } from '../store/types.ts';
import { type Browser, axeViolations, haveChromium, launchChromium, signIn } from '../testing/browser.ts';
import { seedLedger } from '../testing/seed.ts';
import { tempDir } from '../../test/temp.ts';

const NOW = new Date('2026-11-28T10:00:00Z');
// Taken on every run; written over the committed ones in docs/screenshots/
// only with ENTITLEGATE_UPDATE_SCREENSHOTS=1 (ids in the pages are random, so
// every run would otherwise leave the working tree changed).
const SCREENSHOTS = process.env.ENTITLEGATE_UPDATE_SCREENSHOTS
  ? resolve(import.meta.dirname, '../../docs/screenshots')
  : tempDir('eg-screenshots-');

// CI installs Chromium (.ci/run); elsewhere the suite says why it did not run.
if (!haveChromium() && process.env.CI) throw new Error('Chromium is not installed: apt-get install -y chromium');

describe.skipIf(!haveChromium())('the dashboard in Chromium (1,000 products × 25 months)', () => {
  let dir: string;
  let app: FastifyInstance;
  let store: Store;
  let url: string;
  let browser: Browser;
  let storeFile: string;
  const tokens = {} as Record<'viewer' | 'finance' | 'procurement' | 'auditor' | 'approver' | 'admin' | 'gate', string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'eg-dashboard-'));
    const seeded = await seedLedger(dir, { products: 1000, months: 25, now: NOW, log: { records: 20_000, deniedEvery: 50 } });
    storeFile = seeded.store;
    const started = await startLedgerServer({
      config: seeded.config,
      store: seeded.store,
      port: 0,
      host: '127.0.0.1',
      clock: () => NOW,
      logLevel: 'silent',
      intervalMs: 0,
    });
    app = started.app;
    store = started.ledger.store;
    url = started.address;
    for (const role of Object.keys({ viewer: 1, finance: 1, procurement: 1, auditor: 1, approver: 1, admin: 1, gate: 1 }) as Role[])
      tokens[role as keyof typeof tokens] = (await createToken(started.ledger.store, `${role}-person`, [role], NOW, 'test')).token;
    // A few reservations for the platform and audit views.
    for (const [i, product] of ['product-0002', 'product-0003', 'product-0004'].entries()) {
      const res = await fetch(`${url}/v1/decisions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          claims: [
            { product, quantity: 1, scope: { environment: 'prod' }, resource: { kind: 'Deployment', name: `app-${i}`, namespace: 'prod' } },
          ],
          reserve: true,
          mode: 'warn',
        }),
      });
      expect(res.status).toBe(200);
    }
    // A denial the platform view must show with its resource: more than product-0007 has, asked by a webhook.
    const denied = await fetch(`${url}/v1/decisions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json', 'user-agent': 'entitlegate/1.0.0 (webhook)' },
      body: JSON.stringify({
        claims: [
          {
            product: 'product-0007',
            quantity: 5000,
            scope: { environment: 'prod', cluster: 'prod-eu-4' },
            resource: { kind: 'Deployment', name: 'huge-app', namespace: 'shop' },
          },
        ],
      }),
    });
    expect(((await denied.json()) as { allowed: boolean }).allowed).toBe(false);
    browser = await launchChromium();
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function page(): Promise<{ page: Page; errors: string[] }> {
    const p = await browser.context.newPage();
    const errors: string[] = [];
    p.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    p.on('pageerror', (e) => errors.push(e.message));
    return { page: p, errors };
  }

  async function noSeriousViolation(p: Page, view: string): Promise<void> {
    const serious = (await axeViolations(p)).filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(serious, `${view}: ${JSON.stringify(serious, null, 1)}`).toEqual([]);
  }

  const navNames = (p: Page) => p.locator('#views a').allTextContents();

  it('asks for a token, refuses an unknown one, and keeps the token in the tab only (no cookie)', async () => {
    const { page: p, errors } = await page();
    const res = await p.goto(`${url}/ui`);
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
    await expect(p.getByRole('heading', { name: 'Sign in' }).isVisible()).resolves.toBe(true);
    await noSeriousViolation(p, 'sign-in');
    await p.screenshot({ path: join(SCREENSHOTS, 'sign-in.png') });
    await p.getByLabel('Ledger token').fill('egl_not-a-token');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await expect(p.locator('#signin-error').textContent()).resolves.toBeDefined();
    await p.waitForFunction(() => document.getElementById('signin-error')?.textContent !== '');
    expect(await p.locator('#signin-error').textContent()).toMatch(/does not know this token/);
    expect(await p.evaluate(() => sessionStorage.length)).toBe(0);
    expect(await browser.context.cookies()).toEqual([]);
    expect(errors.filter((e) => !e.includes('401'))).toEqual([]);
    await p.close();
  });

  const views: { role: keyof typeof tokens; view: string; heading: RegExp; shows: RegExp[] }[] = [
    {
      role: 'viewer',
      view: 'platform',
      heading: /Platform: headroom/,
      shows: [
        /Products by utilisation \(1000\)/,
        /Usage against capacity: product-\d{4}/,
        /Open reservations/,
        /Stale sources/,
        /sam:servicenow/,
        /Recent denials \(50, newest first\)/,
        /Headroom of product-\d{4} by scope/,
      ],
    },
    {
      role: 'finance',
      view: 'finance',
      heading: /Finance/,
      shows: [/unused capacity \(USD\)/, /True-up exposure/, /Spend by owner/, /PO-1\d{3}/, /Usage against capacity/],
    },
    {
      role: 'procurement',
      view: 'procurement',
      heading: /Procurement/,
      shows: [
        /Renewals within 90 days/,
        /Renewals in 91 to 180 days/,
        /runs out \(trend\)/,
        /suggested quantity/,
        /Usage against capacity/,
      ],
    },
    {
      role: 'auditor',
      view: 'audit',
      heading: /Audit/,
      shows: [
        /Chain status/,
        /The chain verifies: every record through [\d,]+ checked at 2026-11-28T10:00:00.000Z \(every record\)/,
        /last signed checkpoint/,
        /Decision log \(50 shown, newest first\)/,
        /Exceptions and their approvals/,
        /Reservations \(3, newest first\)/,
        /Deployment\/prod\/app-0/,
        /token:admin-person/,
      ],
    },
  ];

  for (const v of views) {
    it(`${v.role}: lands on the ${v.view} view, sees only that view, is refused the others; no serious axe violation`, async () => {
      const { page: p, errors } = await page();
      await signIn(p, url, tokens[v.role]);
      expect(await navNames(p)).toEqual([v.view[0]!.toUpperCase() + v.view.slice(1)]);
      expect(await p.locator('#view h2').first().textContent()).toMatch(v.heading);
      const text = await p.locator('#view').textContent();
      for (const s of v.shows) expect(text).toMatch(s);
      // Wait for the chart, where the view has one, before the screenshot.
      if (v.view !== 'audit') await p.locator('.chart canvas').first().waitFor();
      await noSeriousViolation(p, v.view);
      await p.screenshot({ path: join(SCREENSHOTS, `${v.view}.png`), fullPage: true });
      expect(errors).toEqual([]);
      // Another role's view: the page refuses it, and so does the API behind it.
      const other = v.view === 'platform' ? 'finance' : 'platform';
      await p.goto(`${url}/ui#/${other}`);
      await p.locator('#refused').waitFor();
      expect(await p.locator('#refused').textContent()).toMatch(new RegExp(`may not see the ${other} view`));
      const status = await p.evaluate(
        async (path) => (await fetch(path, { headers: { authorization: `Bearer ${sessionStorage.getItem('entitlegate.token')}` } })).status,
        `/v1/dashboard/${other}`,
      );
      expect(status).toBe(403);
      await p.close();
    });
  }

  it('the platform view filters products and charts the one chosen', async () => {
    const { page: p } = await page();
    await signIn(p, url, tokens.viewer);
    await p.getByLabel('Find a product').fill('product-0999');
    expect(await p.locator('#products tbody tr').count()).toBe(1);
    await p.getByRole('button', { name: 'product-0999' }).click();
    await p.getByRole('heading', { name: 'Usage against capacity: product-0999' }).waitFor();
    expect(await p.locator('#chart-summary').textContent()).toMatch(/product-0999: peak \d+ \w+ on 2026-11-28; capacity \d+/);
    await p.close();
  });

  it('the platform view shows the newest denials with their resources, and headroom by scope with its capacity', async () => {
    const { page: p, errors } = await page();
    await signIn(p, url, tokens.viewer);
    const row = p.locator('#denials tbody tr', { hasText: 'Deployment/shop/huge-app' });
    expect(await row.count()).toBe(1);
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(1)).toEqual([
      'product-0007',
      'cluster=prod-eu-4, environment=prod',
      'Deployment/shop/huge-app',
      expect.stringMatching(/^5,000 of \d+ \(\d+ used\)$/),
      'webhook',
      'token:admin-person',
    ]);
    // The newest first: the denial made here, then the seeded ones.
    expect(await p.locator('#denials tbody tr').first().textContent()).toContain('huge-app');
    expect(await p.locator('#denials tbody tr').nth(1).textContent()).toMatch(/Deployment\/prod\/product-\d{4}-app-\d+/);

    // Headroom by scope: the seeded product's one entitlement covers its cluster; capacity as the API says.
    await p.getByLabel('Find a product').fill('product-0999');
    await p.getByRole('button', { name: 'product-0999' }).click();
    await p.getByRole('table', { name: 'Headroom of product-0999 by scope' }).waitFor();
    const view = await p.evaluate(async () =>
      (
        await fetch('/v1/dashboard/platform', { headers: { authorization: `Bearer ${sessionStorage.getItem('entitlegate.token')}` } })
      ).json(),
    );
    const product = (
      view as {
        products: { product: string; capacity: number; scopes: { used: number; reserved: number; capacity: number; headroom: number }[] }[];
      }
    ).products.find((x) => x.product === 'product-0999')!;
    const s = product.scopes[0]!;
    expect(s.capacity).toBe(product.capacity);
    expect(await p.locator('#scope-headroom thead th').allTextContents()).toEqual(['scope', 'used', 'reserved', 'capacity', 'headroom']);
    const fmt = new Intl.NumberFormat('en', { maximumFractionDigits: 2 });
    expect(await p.locator('#scope-headroom tbody tr').first().locator('td').allTextContents()).toEqual([
      expect.stringContaining('environment=prod'),
      fmt.format(s.used),
      fmt.format(s.reserved),
      fmt.format(s.capacity),
      fmt.format(s.headroom),
    ]);
    await noSeriousViolation(p, 'platform with a product chosen');
    expect(errors).toEqual([]);
    await p.close();
  });

  it('approver: approves a pending exception through the page; the requester cannot approve its own; the ledger counts it', async () => {
    const call = async (token: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const capacity = async () => {
      const d = await call(tokens.gate, 'POST', '/v1/decisions', {
        claims: [{ product: 'product-0005', quantity: 1, scope: { environment: 'prod' } }],
        mode: 'warn',
      });
      expect(d.status, JSON.stringify(d.body)).toBe(200);
      return (d.body.products as { capacity: number }[])[0]!.capacity;
    };
    const before = await capacity();
    const until = new Date(NOW.getTime() + 10 * 86_400_000).toISOString().slice(0, 10);
    const asked = await call(tokens.gate, 'POST', '/v1/exceptions', {
      product: 'product-0005',
      quantity: 3,
      until,
      reason: 'migration window',
      ticket: 'CHG-1',
    });
    expect(asked.status, JSON.stringify(asked.body)).toBe(201);
    const id = asked.body.id as string;

    const { page: p, errors } = await page();
    await signIn(p, url, tokens.approver);
    expect(await navNames(p)).toEqual(['Approvals']);
    const row = p.locator('tr', { hasText: id });
    expect(await row.textContent()).toMatch(/product-0005.*migration window.*gate-person/);
    await noSeriousViolation(p, 'approvals');
    await row.getByRole('button', { name: 'Approve' }).click();
    await p.waitForFunction(() => (document.getElementById('approval-result')?.textContent ?? '') !== '');
    expect(await p.locator('#approval-result').textContent()).toBe(`${id}: approved`);
    expect(await p.locator('tr', { hasText: id }).count()).toBe(0);
    expect(errors).toEqual([]);
    await p.close();

    // The approval is the ledger's, not the page's: the exception is active and
    // adds its capacity to the next decision of any gate.
    const after = await call(tokens.gate, 'GET', `/v1/exceptions/${id}`);
    expect(after.body.state).toBe('active');
    const approvals = after.body.approvals as { by: string }[];
    expect(approvals.map((a) => a.by)).toEqual(['token:approver-person']);
    expect(await capacity()).toBe(before + 3);

    // The admin, who may approve, is shown no button for a request of its own.
    const own = await call(tokens.admin, 'POST', '/v1/exceptions', {
      product: 'product-0006',
      quantity: 1,
      until,
      reason: 'r',
      ticket: 'CHG-2',
    });
    expect(own.status).toBe(201);
    const { page: q } = await page();
    await signIn(q, url, tokens.admin);
    await q.goto(`${url}/ui#/approvals`);
    await q.locator('tr', { hasText: own.body.id as string }).waitFor();
    const mine = q.locator('tr', { hasText: own.body.id as string });
    expect(await mine.textContent()).toMatch(/you asked for it: another approver decides/);
    expect(await mine.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    await q.close();
  });

  it('auditor: filters the decision log by product and by actor, opens a record, sees an exception with its approval, exports the log', async () => {
    const call = async (token: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      expect(res.status, path).toBeLessThan(300);
      return (await res.json()) as Record<string, unknown>;
    };
    const until = new Date(NOW.getTime() + 5 * 86_400_000).toISOString().slice(0, 10);
    const asked = await call(tokens.gate, 'POST', '/v1/exceptions', {
      product: 'product-0011',
      quantity: 2,
      until,
      reason: 'audit view test',
      ticket: 'CHG-77',
    });
    await call(tokens.approver, 'POST', `/v1/exceptions/${asked.id}/approve`, {});

    const { page: p, errors } = await page();
    await signIn(p, url, tokens.auditor);
    const rows = p.locator('#log tbody tr');
    expect(await rows.count()).toBe(50);
    // Newest first: the approval made above heads the log.
    expect(await rows.first().locator('td').allTextContents()).toEqual([
      expect.any(String),
      expect.any(String),
      'token:approver-person',
      'exception.approve',
      asked.id,
      `${asked.id} approve by token:approver-person: now active`,
      expect.stringMatching(/^record /),
    ]);

    // The audit view's screenshot, with the exception and its approval (the landing test's has none yet).
    await p.screenshot({ path: join(SCREENSHOTS, 'audit.png'), fullPage: true });

    // By product: only records naming product-0002 (its seeded decisions and the reservation made above), newest first.
    await p.getByLabel('Product').fill('product-0002');
    await p.getByRole('button', { name: 'Filter' }).click();
    await p.waitForFunction(() => document.querySelector('#log caption')?.textContent?.startsWith('Decision log (21 shown'));
    const summaries = await p.locator('#log tbody tr td:nth-child(6)').allTextContents();
    expect(summaries).toHaveLength(21);
    for (const line of summaries) expect(line).toMatch(/^(allowed|denied): product-0002(;|$| \()/);
    expect(summaries[0]).toMatch(/^allowed: product-0002; reserved [\w-]+$/);
    expect(await p.locator('#log-older').isHidden()).toBe(true);

    // By actor, the product cleared: the seeded gate's records only, 50 a page, then older ones.
    await p.getByLabel('Product').fill('');
    await p.getByLabel('Actor').fill('token:ci-webhook');
    await p.getByRole('button', { name: 'Filter' }).click();
    await p.waitForFunction(() =>
      [...document.querySelectorAll('#log tbody tr td:nth-child(3)')].every((td) => td.textContent === 'token:ci-webhook'),
    );
    expect(await rows.count()).toBe(50);
    const firstSeq = await rows.first().locator('td').first().textContent();
    await p.getByRole('button', { name: 'Older records' }).click();
    await p.waitForFunction(() => document.querySelectorAll('#log tbody tr').length === 100);
    const actors = new Set(await p.locator('#log tbody tr td:nth-child(3)').allTextContents());
    expect([...actors]).toEqual(['token:ci-webhook']);
    const seqs = (await p.locator('#log tbody tr td:nth-child(1)').allTextContents()).map((t) => Number(t.replaceAll(',', '')));
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    expect(new Set(seqs).size).toBe(100);
    expect(String(seqs[0]!)).toBe(firstSeq!.replaceAll(',', ''));

    // A record's details: the record as the log keeps it, hash and all.
    await rows.first().locator('summary').click();
    const json = JSON.parse((await rows.first().locator('pre').textContent())!) as Record<string, unknown>;
    expect(json).toMatchObject({
      seq: seqs[0],
      actor: 'token:ci-webhook',
      action: 'decision',
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(await rows.first().locator('pre').isVisible()).toBe(true);

    // The exception with its approval.
    const x = p.locator('#exceptions-table tbody tr', { hasText: asked.id as string });
    const cells = await x.locator('td').allTextContents();
    expect(cells.slice(0, 8)).toEqual([
      asked.id,
      'product-0011',
      '2',
      '(any)',
      until,
      'CHG-77',
      expect.stringMatching(/^token:gate-person2026-11-28T10:00:00.000Z$/),
      'active',
    ]);
    expect(cells[8]).toMatch(/^token:approver-person at 2026-11-28T10:00:00.000Z/);
    await noSeriousViolation(p, 'audit, filtered with a record open');

    // The export: the whole log as JSON Lines, fetched with the token.
    const [download] = await Promise.all([p.waitForEvent('download'), p.getByRole('button', { name: 'Export JSON Lines' }).click()]);
    expect(download.suggestedFilename()).toBe('decision-log-2026-11-28.jsonl');
    const text = readFileSync((await download.path())!, 'utf8');
    const lines = text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: number; action: string; subject: string });
    const head = (await call(tokens.auditor, 'GET', '/v1/audit/head')) as { seq: number };
    expect(lines).toHaveLength(head.seq);
    expect(lines[0]!.seq).toBe(1);
    expect(lines.at(-1)).toMatchObject({ seq: head.seq, action: 'exception.approve', subject: asked.id });
    await p.locator('#export-status', { hasText: 'Exported' }).waitFor();
    expect(errors).toEqual([]);
    await p.close();

    // An auditor limited to a product is told why it gets no export.
    const limited = (await createToken(store, 'auditor-0011', ['auditor'], NOW, 'test', { products: ['product-0011'] })).token;
    const { page: q } = await page();
    await signIn(q, url, limited);
    expect(await q.locator('#log caption').textContent()).toMatch(/only records naming what this token may see/);
    const limitedRows = await q.locator('#log tbody tr td:nth-child(4)').allTextContents();
    expect(limitedRows.slice(0, 2)).toEqual(['exception.approve', 'exception.request']);
    await q.getByRole('button', { name: 'Export JSON Lines' }).click();
    await q.locator('#export-status', { hasText: 'Not exported' }).waitFor();
    expect(await q.locator('#export-status').textContent()).toMatch(
      /^Not exported: token:auditor-0011 is limited to the products product-0011: the export is the whole chain/,
    );
    await q.close();
  });

  it('admin sees every view; a gate token has none; signing out forgets the token', async () => {
    const { page: p } = await page();
    await signIn(p, url, tokens.admin);
    expect(await navNames(p)).toEqual(['Platform', 'Finance', 'Procurement', 'Audit', 'Approvals']);
    await p.getByRole('button', { name: 'Sign out' }).click();
    expect(await p.evaluate(() => sessionStorage.getItem('entitlegate.token'))).toBeNull();
    await p.getByLabel('Ledger token').fill(tokens.gate);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.locator('#view [role=alert]').waitFor();
    expect(await p.locator('#view').textContent()).toMatch(/has no dashboard view/);
    expect(await navNames(p)).toEqual([]);
    await p.close();
  });

  // Last: it breaks the store's chain for good.
  it('the audit view shows a tampered store: a change since the last check at once, one to an older record when every record is verified again', async () => {
    const { page: p } = await page();
    await signIn(p, url, tokens.auditor);
    await p.locator('#chain-verdict').waitFor();
    expect(await p.locator('#chain-verdict').textContent()).toMatch(/^The chain verifies/);
    const db = new DatabaseSync(storeFile, { timeout: 5000 });
    try {
      db.exec('DROP TRIGGER IF EXISTS eg_log_no_update');
      db.exec(`UPDATE eg_log SET details = '{"allowed":true}' WHERE seq = 5`);
    } finally {
      db.close();
    }
    // Record 5 was verified before: the next page load checks only what is new.
    await p.reload();
    await p.locator('#chain-verdict').waitFor();
    expect(await p.locator('#chain-verdict').textContent()).toMatch(
      /^The chain verifies: every record through [\d,]+ checked at .* \(\d+ new since the last check\)/,
    );
    await p.getByRole('button', { name: 'Verify every record again' }).click();
    await p.locator('#chain-verdict.error').waitFor();
    expect(await p.locator('#chain-verdict').textContent()).toMatch(
      /^The chain does not verify: record 5: record 5 \(decision .*\) was changed/,
    );
    expect(await p.locator('#chain-verdict').getAttribute('role')).toBe('alert');
    await noSeriousViolation(p, 'audit, broken chain');
    await p.screenshot({ path: join(SCREENSHOTS, 'audit-broken-chain.png'), fullPage: true });
    // It stays broken on the next load.
    await p.reload();
    await p.locator('#chain-verdict.error').waitFor();
    await p.close();
  });
});
