// The ledger's dashboard: one page, a view per role, data from the /v1 API.
// Plain browser code without a build step, served by the ledger with uPlot.
// The token lives in this tab's sessionStorage and goes out only as a bearer
// header to this origin: no cookie, so another site cannot make the browser
// act with it (CSRF), and the page's CSP allows no script but these files.

const TOKEN_KEY = 'entitlegate.token';
const DAY = 86_400_000;

const VIEWS = [
  { id: 'platform', title: 'Platform', role: 'viewer', render: platformView },
  { id: 'finance', title: 'Finance', role: 'finance', render: financeView },
  { id: 'procurement', title: 'Procurement', role: 'procurement', render: procurementView },
  { id: 'audit', title: 'Audit', role: 'auditor', render: auditView },
  { id: 'approvals', title: 'Approvals', role: 'approver', render: approvalsView },
];

const $ = (id) => document.getElementById(id);
let me = null;

// ---------- helpers ----------

function esc(v) {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

const nf = new Intl.NumberFormat('en', { maximumFractionDigits: 2 });
const num = (v) => (v === null || v === undefined ? '—' : nf.format(v));
const pct = (v) => (v === null || v === undefined ? '—' : `${Math.round(v * 100)}%`);
const money = (amount, currency) =>
  amount === null || amount === undefined
    ? '—'
    : currency
      ? new Intl.NumberFormat('en', { style: 'currency', currency, maximumFractionDigits: 0 }).format(amount)
      : nf.format(amount);
const scopeText = (s) =>
  s
    ? Object.entries(s)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ') || '(any)'
    : 'all scopes';
// The ledger's day (its clock), not the browser's: the two may differ.
const today = () => me?.asOf?.slice(0, 10) ?? new Date().toISOString().slice(0, 10);

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, init = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const res = await fetch(path, {
    ...init,
    headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
    credentials: 'omit',
  });
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (res.status === 401) {
    signOut(body?.error?.message ?? 'the ledger no longer accepts this token');
    throw new ApiError(401, 'signed out');
  }
  if (!res.ok) throw new ApiError(res.status, body?.error?.message ?? `HTTP ${res.status}`);
  return body;
}

function table(caption, head, rows, opts = {}) {
  const th = head.map((h) => `<th scope="col"${h.num ? ' class="num"' : ''}>${esc(h.label ?? h)}</th>`).join('');
  const body = rows.length
    ? rows
        .map(
          (r) =>
            `<tr${r.cls ? ` class="${r.cls}"` : ''}>${r.cells.map((c, i) => `<td${head[i]?.num ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`,
        )
        .join('')
    : `<tr><td colspan="${head.length}">${esc(opts.empty ?? 'none')}</td></tr>`;
  const t = `<table${opts.id ? ` id="${opts.id}"` : ''}><caption>${esc(caption)}</caption><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`;
  return opts.scroll ? `<div class="scroll" tabindex="0" role="region" aria-label="${esc(caption)}">${t}</div>` : t;
}

const card = (label, value) => `<div class="card"><div>${esc(label)}</div><div class="n">${value}</div></div>`;

// ---------- the chart: usage against capacity, with the forecast band ----------

async function usageChart(el, product) {
  el.innerHTML = `<p class="note">Loading ${esc(product)}…</p>`;
  const to = today();
  const from = new Date(Date.parse(`${to}T00:00:00Z`) - 760 * DAY).toISOString().slice(0, 10);
  const [history, fc] = await Promise.all([
    api(`/v1/history?product=${encodeURIComponent(product)}&from=${from}&to=${to}`),
    api(`/v1/forecast?product=${encodeURIComponent(product)}&horizon=180`),
  ]);
  const total = history.series.find((s) => s.scope === null);
  const f = fc.series.find((s) => s.scope === null);
  const byDay = new Map();
  const row = (day) => {
    let r = byDay.get(day);
    if (!r) byDay.set(day, (r = { peak: null, average: null, capacity: null, mean: null, lower: null, upper: null }));
    return r;
  };
  for (const p of total?.points ?? []) Object.assign(row(p.day), { peak: p.peak, average: p.average });
  for (const c of history.capacity) row(c.day).capacity = c.quantity;
  for (const b of f?.band ?? [])
    Object.assign(row(b.day), { mean: b.mean, lower: Math.max(0, b.lower), upper: b.upper, capacity: f.capacity });
  const days = [...byDay.keys()].sort();
  const data = [days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000)];
  for (const k of ['peak', 'average', 'capacity', 'mean', 'lower', 'upper']) data.push(days.map((d) => byDay.get(d)[k]));

  const summary = describe(product, history.metric, total, f);
  el.innerHTML = `<h3 id="chart-title">Usage against capacity: ${esc(product)}</h3><p id="chart-summary">${esc(summary)}</p><div class="chart" role="img" aria-labelledby="chart-title chart-summary"></div>`;
  if (!days.length) return;
  const box = el.querySelector('.chart');
  const width = Math.max(480, Math.min(1240, el.clientWidth || 960));
  // uPlot: the global of /ui/uplot.js (loaded before this module).
  new window.uPlot(
    {
      width,
      height: 300,
      scales: { x: { time: true } },
      axes: [{}, { label: history.metric }],
      series: [
        {},
        { label: 'daily peak', stroke: '#0b5cad', width: 2 },
        { label: 'daily average', stroke: '#6a7c91', width: 1 },
        { label: 'capacity', stroke: '#a4161a', width: 2, dash: [6, 4] },
        { label: 'forecast', stroke: '#1d6b35', width: 2, dash: [2, 3] },
        { label: '80% low', stroke: 'rgba(29,107,53,0.35)', width: 1 },
        { label: '80% high', stroke: 'rgba(29,107,53,0.35)', width: 1 },
      ],
      bands: [{ series: [6, 5], fill: 'rgba(29,107,53,0.12)' }],
    },
    data,
    box,
  );
}

function describe(product, metric, total, f) {
  const last = total?.points.at(-1);
  const parts = [];
  parts.push(last ? `${product}: peak ${num(last.peak)} ${metric} on ${last.day}` : `${product}: no usage recorded yet`);
  if (f) {
    parts.push(`capacity ${num(f.capacity)}`);
    const fc = f.forecast;
    if (fc.status === 'ok') {
      parts.push(fc.exhaustion ? `at this trend capacity runs out on ${fc.exhaustion}` : 'capacity does not run out within the horizon');
      if (fc.suggested !== null) parts.push(`suggested for the renewal on ${f.renewal}: ${fc.suggested}`);
    } else parts.push(`too little history for a forecast (${fc.points} of ${fc.needed} days)`);
  }
  return `${parts.join('; ')}.`;
}

// ---------- views ----------

async function platformView(el) {
  const [v, d] = await Promise.all([api('/v1/dashboard/platform'), api('/v1/denials?limit=50')]);
  const products = [...v.products].sort((a, b) => (b.utilization ?? -1) - (a.utilization ?? -1) || a.product.localeCompare(b.product));
  const over = products.filter((p) => (p.utilization ?? 0) > 1).length;
  const near = products.filter((p) => (p.utilization ?? 0) >= 0.8 && (p.utilization ?? 0) <= 1).length;
  el.innerHTML = `
    <h2>Platform: headroom</h2>
    <div class="cards">${card('products', num(products.length))}${card('over capacity', num(over))}${card('at 80% or more', num(near))}${card('open reservations', num(v.reservations.length))}${card('recent denials', num(d.denials.length))}${card('stale sources', num(v.stale.length))}</div>
    <div class="filters"><label for="find">Find a product<input id="find" type="search" /></label></div>
    <div id="products-table"></div>
    <div id="chart"></div>
    <div id="scopes"></div>
    ${denialsTable(d.denials)}
    ${table(
      'Open reservations',
      ['reservation', 'state', 'by', 'made', 'expires', 'holds'],
      v.reservations.map((r) => ({
        cells: [
          esc(r.id),
          esc(r.state),
          esc(r.actor),
          esc(r.createdAt),
          esc(r.expiresAt ?? 'confirmed'),
          esc(r.lines.map((l) => `${l.product} ${l.quantity} (${l.resource ?? scopeText(l.scope)})`).join('; ')),
        ],
      })),
      { scroll: true },
    )}
    ${table(
      'Stale sources',
      ['source', 'last report', 'stale after'],
      v.stale.map((s) => ({ cells: [esc(s.source), esc(s.reportedAt), esc(s.staleAfter)] })),
    )}`;
  const select = (p) => {
    void usageChart($('chart'), p.product).catch(showError);
    $('scopes').innerHTML = table(
      `Headroom of ${p.product} by scope`,
      [
        'scope',
        { label: 'used', num: true },
        { label: 'reserved', num: true },
        { label: 'capacity', num: true },
        { label: 'headroom', num: true },
      ],
      p.scopes.map((s) => ({
        cls: s.headroom <= 0 ? 'over' : '',
        cells: [esc(scopeText(s.scope)), num(s.used), num(s.reserved), num(s.capacity), num(s.headroom)],
      })),
      { id: 'scope-headroom' },
    );
  };
  const draw = (filter) => {
    const shown = filter ? products.filter((p) => p.product.includes(filter)) : products;
    $('products-table').innerHTML = table(
      `Products by utilisation (${shown.length})`,
      [
        'product',
        'metric',
        { label: 'capacity', num: true },
        { label: 'used', num: true },
        { label: 'reserved', num: true },
        { label: 'headroom', num: true },
        { label: 'utilisation', num: true },
      ],
      shown.map((p) => ({
        cls: (p.utilization ?? 0) > 1 ? 'over' : (p.utilization ?? 0) >= 0.8 ? 'near' : '',
        cells: [
          `<button type="button" class="link" data-product="${esc(p.product)}">${esc(p.product)}</button>`,
          esc(p.metric),
          num(p.capacity),
          num(p.used),
          num(p.reserved),
          num(p.headroom),
          pct(p.utilization),
        ],
      })),
      { scroll: true, id: 'products' },
    );
  };
  draw('');
  $('find').addEventListener('input', (e) => draw(e.target.value.trim()));
  $('products-table').addEventListener('click', (e) => {
    const name = e.target.closest('[data-product]')?.dataset.product;
    const p = name && products.find((x) => x.product === name);
    if (p) select(p);
  });
  if (products[0]) select(products[0]);
}

// The decision log's denials: what was refused where, the numbers behind it, and who asked from which surface.
function denialsTable(denials) {
  const rows = denials.flatMap((d) =>
    d.products.map((p) => ({
      cls: 'over',
      cells: [
        esc(d.at),
        esc(p.product),
        esc(p.scope ? scopeText(p.scope) : '—'),
        esc([...p.resources, ...(p.moreResources ? [`and ${p.moreResources} more`] : [])].join(', ') || '—'),
        `${num(p.quantity ?? p.requested)} of ${num(p.capacity)} (${num(p.used)} used)`,
        esc(d.surface ?? d.client ?? '—'),
        esc(d.actor),
      ],
    })),
  );
  return table(
    `Recent denials (${denials.length}, newest first)`,
    ['when', 'product', 'scope', 'resources', 'asked against capacity', 'surface', 'by'],
    rows,
    { scroll: true, id: 'denials', empty: 'no denial in the decision log' },
  );
}

async function financeView(el) {
  const v = await api('/v1/dashboard/finance');
  const totals = v.unusedCost.map((c) => card(`unused capacity (${c.currency ?? 'no currency'})`, money(c.amount, c.currency))).join('');
  const exposure = v.exposure.reduce((a, e) => a + (e.exposure ?? 0), 0);
  el.innerHTML = `
    <h2>Finance: what licences cost and what is not used</h2>
    <div class="cards">${totals || card('unused capacity', '—')}${card('true-up exposure', money(exposure, v.exposure.find((e) => e.currency)?.currency ?? null))}</div>
    ${table(
      'True-up exposure: use beyond every entitlement × unit cost',
      ['product', { label: 'over-use', num: true }, { label: 'unit cost', num: true }, { label: 'exposure', num: true }],
      v.exposure.map((e) => ({
        cls: 'over',
        cells: [esc(e.product), num(e.overUse), money(e.unitCost, e.currency), money(e.exposure, e.currency)],
      })),
      { scroll: true },
    )}
    ${table(
      'Unused capacity by entitlement',
      [
        'entitlement',
        'product',
        'owner',
        'contract',
        { label: 'capacity', num: true },
        { label: 'used', num: true },
        { label: 'unused', num: true },
        { label: 'unused cost', num: true },
      ],
      v.entitlements.map((e) => ({
        cells: [
          esc(e.id),
          esc(e.product),
          esc(e.owner),
          esc(e.contract),
          num(e.capacity),
          num(e.used),
          num(e.headroom),
          money(e.unusedCost, e.currency),
        ],
      })),
      { scroll: true },
    )}
    ${table(
      'Spend by owner (entitlements valid now)',
      ['owner', { label: 'spend', num: true }],
      v.byOwner.map((s) => ({ cells: [esc(s.key), money(s.amount, s.currency)] })),
      { scroll: true },
    )}
    ${table(
      'Spend by contract',
      ['contract', { label: 'spend', num: true }],
      v.byContract.map((s) => ({ cells: [esc(s.key), money(s.amount, s.currency)] })),
      { scroll: true },
    )}
    <div class="filters"><label for="trend-product">Utilisation trend of<select id="trend-product"></select></label></div>
    <div id="chart"></div>`;
  // The largest exposure first: the trend a finance team would look at before the others.
  const exposed = [...v.exposure].sort((a, b) => (b.exposure ?? 0) - (a.exposure ?? 0)).map((e) => e.product);
  const names = [...new Set([...exposed, ...v.entitlements.map((e) => e.product)])];
  $('trend-product').innerHTML = names.map((n) => `<option>${esc(n)}</option>`).join('');
  const show = () => void usageChart($('chart'), $('trend-product').value).catch(showError);
  $('trend-product').addEventListener('change', show);
  if (names.length) show();
}

async function procurementView(el) {
  const [v, fc] = await Promise.all([api('/v1/dashboard/procurement'), api('/v1/forecast')]);
  const soon = v.renewals.filter((r) => r.daysLeft <= 90);
  const later = v.renewals.filter((r) => r.daysLeft > 90);
  const renewalRows = (list) =>
    list.map((r) => ({
      cells: [esc(r.validUntil), num(r.daysLeft), esc(r.id), esc(r.product), num(r.quantity), esc(r.owner), esc(r.contract)],
    }));
  const head = ['ends', { label: 'days left', num: true }, 'entitlement', 'product', { label: 'quantity', num: true }, 'owner', 'contract'];
  const rows = fc.products
    .map((p) => ({ p, at: p.forecast.status === 'ok' ? (p.forecast.exhaustion ?? '9999') : '99999' }))
    .sort((a, b) => a.at.localeCompare(b.at) || a.p.product.localeCompare(b.p.product));
  el.innerHTML = `
    <h2>Procurement: renewals and what to buy</h2>
    <div class="cards">${card('renewals within 90 days', num(soon.length))}${card('within 180 days', num(v.renewals.length))}${card('run out within a year', num(rows.filter((r) => r.at < '9999').length))}</div>
    ${table('Renewals within 90 days', head, renewalRows(soon), { scroll: true })}
    ${table('Renewals in 91 to 180 days', head, renewalRows(later), { scroll: true })}
    ${table(
      `Forecast: trend over the last ${fc.windowDays} days of daily peaks, 80% interval, buffer ${Math.round(fc.buffer * 100)}%`,
      [
        'product',
        { label: 'capacity', num: true },
        'runs out (trend)',
        'runs out (80% high)',
        'renewal',
        { label: 'suggested quantity', num: true },
      ],
      rows.map(({ p }) => {
        const f = p.forecast;
        return f.status === 'ok'
          ? {
              cls: f.exhaustion ? 'near' : '',
              cells: [
                esc(p.product),
                num(p.capacity),
                esc(f.exhaustion ?? 'not within the horizon'),
                esc(f.exhaustionUpper ?? 'not within the horizon'),
                esc(p.renewal ?? '—'),
                num(f.suggested),
              ],
            }
          : {
              cells: [
                esc(p.product),
                num(p.capacity),
                `too little history (${f.points} of ${f.needed} days)`,
                '',
                esc(p.renewal ?? '—'),
                '—',
              ],
            };
      }),
      { scroll: true },
    )}
    <div id="chart"></div>`;
  const first = rows.find((r) => r.at < '9999') ?? rows[0];
  if (first) void usageChart($('chart'), first.p.product).catch(showError);
}

// The chain status: from the ledger, verified from where its last pass stopped (or every record, on request).
function chainStatus(c) {
  const v = c.verification;
  const short = (h) => `${esc(h.slice(0, 16))}…`;
  const cp = c.checkpoint;
  const verdict = v.ok
    ? `<p id="chain-verdict" class="ok" role="status">The chain verifies: every record through ${num(v.through)} checked at ${esc(v.at)}${v.full ? ' (every record)' : ` (${num(v.walked)} new since the last check)`}.</p>`
    : `<p id="chain-verdict" class="error" role="alert">The chain does not verify: record ${num(v.problem.seq)}: ${esc(v.problem.message)} (checked at ${esc(v.at)}).</p>`;
  return `
    ${verdict}
    <dl class="facts" id="chain-facts">
      <dt>head</dt><dd>record ${num(c.head.seq)}, hash <code>${short(c.head.hash)}</code>${c.head.prunedThrough ? `; pruned through ${num(c.head.prunedThrough)}` : ''}</dd>
      <dt>last signed checkpoint</dt><dd>${
        cp
          ? `record ${num(cp.seq)}, signed ${esc(cp.at)} by <code>${esc(cp.keyId)}</code>: ${
              cp.signatureValid
                ? cp.checkedWith === 'ledger'
                  ? 'signature valid against the ledger’s key'
                  : 'signature valid against the key recorded with it (this ledger signs none: pin a key with audit verify --key)'
                : `signature not valid (${esc(cp.problem)})`
            }`
          : 'none yet'
      }</dd>
      <dt>records since</dt><dd>${num(c.recordsSinceCheckpoint)}</dd>
    </dl>
    <button type="button" id="verify-all" class="secondary">Verify every record again</button>`;
}

// The actions the ledger writes to its log, for the action filter (the API matches one exactly).
const LOG_ACTIONS = [
  'decision',
  'reservation.confirm',
  'reservation.release',
  'reservation.expire',
  'usage.report',
  'exception.request',
  'exception.approve',
  'exception.deny',
  'exception.revoke',
  'token.create',
  'token.revoke',
  'config.load',
  'audit.prune',
];

// One line saying what a record is about; the details hold the rest.
function logSummary(r) {
  const d = r.details ?? {};
  const products = (list) => [...new Set((list ?? []).map((p) => p.product))].join(', ');
  switch (r.action.split('.')[0]) {
    case 'decision': {
      const what = `${d.allowed ? 'allowed' : 'denied'}: ${products(d.products) || '(no product)'}`;
      return `${what}${d.reservation ? `; reserved ${d.reservation.id}` : ''}${d.mode && d.mode !== 'enforce' ? ` (${d.mode})` : ''}`;
    }
    case 'reservation':
      return `reservation ${r.subject} ${r.action.split('.')[1]}${d.from ? ` (was ${d.from})` : ''}`;
    case 'usage':
      return `source ${r.subject}: ${num((d.usage ?? []).length)} records${d.settled ? `, settled ${num(d.settled.length ?? d.settled)}` : ''}`;
    case 'exception':
      return r.action === 'exception.request'
        ? `${r.subject}: ${d.product} +${num(d.quantity)} until ${d.until}, requested by ${r.actor} (${d.ticket})`
        : `${r.subject} ${r.action.split('.')[1]} by ${r.actor}${d.state ? `: now ${d.state}` : ''}`;
    case 'token':
      return `token ${r.subject} ${r.action.split('.')[1]}${d.roles ? ` (${d.roles.join(', ')})` : ''}`;
    case 'config':
      return `config ${r.subject.slice(0, 12)}…: ${num(d.products)} products, ${num(d.entitlements)} entitlements`;
    case 'audit':
      return `records through ${num(d.through)} pruned`;
    default:
      return '';
  }
}

function logRow(r) {
  return {
    cells: [
      num(r.seq),
      esc(r.at),
      esc(r.actor),
      esc(r.action),
      esc(r.subject),
      esc(logSummary(r)),
      `<details><summary>record ${esc(r.seq)}</summary><pre tabindex="0" aria-label="record ${esc(r.seq)} as JSON">${esc(JSON.stringify(r, null, 2))}</pre></details>`,
    ],
  };
}

function exceptionsTable(list) {
  return table(
    `Exceptions (${list.length}, newest first)`,
    ['exception', 'product', { label: 'quantity', num: true }, 'scope', 'until', 'ticket', 'requested by', 'state', 'approvals'],
    list.map((x) => ({
      cells: [
        esc(x.id),
        esc(x.product),
        num(x.quantity),
        esc(scopeText(x.scope)),
        esc(x.until),
        esc(x.ticket),
        `${esc(x.requestedBy)}<br /><span class="note">${esc(x.requestedAt)}</span>`,
        esc(x.state) + (x.endedBy ? `<br /><span class="note">by ${esc(x.endedBy)} ${esc(x.endedAt ?? '')}</span>` : ''),
        x.approvals.length
          ? `<ul class="approvals">${x.approvals.map((a) => `<li>${esc(a.by)} at ${esc(a.at)}${a.reason ? `: ${esc(a.reason)}` : ''}</li>`).join('')}</ul>`
          : `none (needs ${num(x.approvalsNeeded)})`,
      ],
    })),
    { scroll: true, id: 'exceptions-table' },
  );
}

// The ledger's day after `day`: the form's "to" is a day included, the API's an instant excluded.
const dayAfter = (day) => new Date(Date.parse(`${day}T00:00:00Z`) + DAY).toISOString().slice(0, 10);

async function auditView(el) {
  el.innerHTML = `
    <h2>Audit: the decision log, exceptions and the chain</h2>
    <section aria-labelledby="chain-title"><h3 id="chain-title">Chain status</h3><div id="chain"><p class="note">Verifying…</p></div></section>
    <section aria-labelledby="log-title">
      <h3 id="log-title">Decision log</h3>
      <form id="audit-filter" class="filters">
        <label for="f-product">Product<input id="f-product" name="product" /></label>
        <label for="f-resource">Resource (exact id)<input id="f-resource" name="resource" /></label>
        <label for="f-actor">Actor<input id="f-actor" name="actor" /></label>
        <label for="f-action">Action<select id="f-action" name="action"><option value="">any</option>${LOG_ACTIONS.map((a) => `<option>${a}</option>`).join('')}</select></label>
        <label for="f-from">From<input id="f-from" name="from" type="date" /></label>
        <label for="f-to">To (included)<input id="f-to" name="to" type="date" /></label>
        <button type="submit">Filter</button>
        <button type="button" id="export" class="secondary">Export JSON Lines</button>
      </form>
      <p id="export-status" role="status"></p>
      <div id="log-table"></div>
      <button type="button" id="log-older" class="secondary" hidden>Older records</button>
    </section>
    <section aria-labelledby="exceptions-title"><h3 id="exceptions-title">Exceptions and their approvals</h3><div id="exceptions"></div></section>
    <section aria-labelledby="reservations-title"><h3 id="reservations-title">Reservations</h3><div id="audit-table"></div></section>`;
  const filters = () => {
    const f = {};
    for (const [k, val] of new FormData($('audit-filter'))) if (val) f[k] = String(val).trim();
    return f;
  };
  let records = [];
  let next = null;
  let filtered = false;
  const showLog = () => {
    $('log-table').innerHTML = table(
      `Decision log (${num(records.length)} shown, newest first${filtered ? '; only records naming what this token may see' : ''})`,
      ['seq', 'time', 'actor', 'action', 'subject', 'summary', 'details'],
      records.map(logRow),
      { scroll: true, id: 'log', empty: 'no record matches' },
    );
    $('log-older').hidden = next === null;
  };
  const loadLog = async (older) => {
    const f = filters();
    const q = new URLSearchParams({ limit: '50' });
    for (const k of ['product', 'resource', 'actor', 'action', 'from']) if (f[k]) q.set(k, f[k]);
    if (f.to) q.set('to', dayAfter(f.to));
    if (older && next !== null) q.set('before', String(next));
    const page = await api(`/v1/audit/search?${q}`);
    records = older ? [...records, ...page.records] : page.records;
    next = page.next;
    filtered = page.filtered === true;
    showLog();
  };
  const loadReservations = async () => {
    const f = filters();
    const q = new URLSearchParams();
    for (const k of ['product', 'resource', 'actor', 'from', 'to']) if (f[k]) q.set(k, f[k]);
    const v = await api(`/v1/dashboard/audit?${q}`);
    $('audit-table').innerHTML = table(
      `Reservations (${v.reservations.length}, newest first)`,
      ['made', 'reservation', 'state', 'by', 'expires', 'lines'],
      v.reservations.map((r) => ({
        cells: [
          esc(r.createdAt),
          esc(r.id),
          esc(r.state),
          esc(r.actor),
          esc(r.expiresAt ?? '—'),
          esc(r.lines.map((l) => `${l.product} ${l.quantity} ${l.resource ?? scopeText(l.scope)}`).join('; ')),
        ],
      })),
      { scroll: true },
    );
  };
  const loadExceptions = async () => {
    const v = await api('/v1/exceptions?limit=200');
    $('exceptions').innerHTML = exceptionsTable(v.exceptions ?? []);
  };
  const chain = async (full) => {
    $('chain').innerHTML = chainStatus(await api(`/v1/audit/chain${full ? '?full=true' : ''}`));
    $('verify-all').addEventListener('click', () => {
      $('chain').innerHTML = '<p class="note">Verifying every record…</p>';
      void chain(true).catch(showError);
    });
  };
  $('audit-filter').addEventListener('submit', (e) => {
    e.preventDefault();
    void Promise.all([loadLog(false), loadReservations()]).catch(showError);
  });
  $('log-older').addEventListener('click', () => void loadLog(true).catch(showError));
  // The whole chain from the From day on, as the ledger streams it: fetched with the token (never in a URL),
  // saved from the response. An auditor limited to products or a scope is told why not.
  $('export').addEventListener('click', async () => {
    const status = $('export-status');
    const from = filters().from;
    status.textContent = 'Exporting…';
    try {
      const res = await fetch(`/v1/audit/export${from ? `?since=${encodeURIComponent(from)}` : ''}`, {
        headers: { authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}` },
        credentials: 'omit',
      });
      if (!res.ok) {
        const body = await res.json().catch(() => null);
        status.textContent = `Not exported: ${body?.error?.message ?? `HTTP ${res.status}`}`;
        return;
      }
      const blob = await res.blob();
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = `decision-log-${from ? `from-${from}-` : ''}${today()}.jsonl`;
      a.click();
      URL.revokeObjectURL(a.href);
      status.textContent = `Exported ${num(blob.size)} bytes of JSON Lines${from ? ` from ${from} on` : ''}.`;
    } catch (err) {
      status.textContent = `Not exported: ${err.message}`;
    }
  });
  await Promise.all([chain(false), loadLog(false), loadExceptions(), loadReservations()]);
}

// Built to the exceptions API of issue 18 (GET /v1/exceptions?state=pending,
// POST /v1/exceptions/{id}/approve|deny); the ledger enforces separation of duties,
// the page only does not offer it.
async function approvalsView(el) {
  let list;
  try {
    list = await api('/v1/exceptions?state=pending');
  } catch (err) {
    if (err.status === 404) {
      el.innerHTML = '<h2>Approvals</h2><p>This ledger has no exceptions workflow yet.</p>';
      return;
    }
    throw err;
  }
  const pending = list.exceptions ?? [];
  el.innerHTML = `
    <h2>Approvals: pending exception requests</h2>
    ${table(
      `Pending requests (${pending.length})`,
      ['request', 'product', { label: 'quantity', num: true }, 'scope', 'until', 'reason', 'requested by', 'decide'],
      pending.map((x) => {
        const mine = x.requestedBy === me.name || x.requestedBy === `token:${me.name}`;
        return {
          cells: [
            esc(x.id),
            esc(x.product),
            num(x.quantity),
            esc(scopeText(x.scope)),
            esc(x.until),
            esc(x.reason),
            esc(x.requestedBy),
            mine
              ? 'you asked for it: another approver decides'
              : `<button type="button" data-act="approve" data-id="${esc(x.id)}">Approve</button> <button type="button" class="secondary" data-act="deny" data-id="${esc(x.id)}">Deny</button>`,
          ],
        };
      }),
    )}
    <p id="approval-result" role="status"></p>`;
  el.addEventListener('click', async (e) => {
    const b = e.target.closest('[data-act]');
    if (!b) return;
    b.disabled = true;
    try {
      await api(`/v1/exceptions/${encodeURIComponent(b.dataset.id)}/${b.dataset.act}`, { method: 'POST', body: '{}' });
      $('approval-result').textContent = `${b.dataset.id}: ${b.dataset.act === 'approve' ? 'approved' : 'denied'}`;
      b.closest('tr').remove();
    } catch (err) {
      $('approval-result').textContent = `${b.dataset.id}: ${err.message}`;
      b.disabled = false;
    }
  });
}

// ---------- sign-in and routing ----------

function allowed(view) {
  return me.roles.includes('admin') || me.roles.includes(view.role);
}

function showError(err) {
  if (err instanceof ApiError && err.status === 401) return;
  $('view').insertAdjacentHTML('afterbegin', `<p class="error" role="alert">${esc(err.message)}</p>`);
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  me = null;
  $('views').hidden = true;
  $('signout').hidden = true;
  $('who').textContent = '';
  $('view').innerHTML = '';
  $('signin').hidden = false;
  $('signin-error').textContent = message ?? '';
  $('token').value = '';
  $('token').focus();
}

async function route() {
  if (!me) return;
  const views = VIEWS.filter(allowed);
  const id = location.hash.replace(/^#\/?/, '') || views[0]?.id;
  for (const a of $('views').querySelectorAll('a')) a.removeAttribute('aria-current');
  const active = $('views').querySelector(`a[data-view="${id}"]`);
  if (active) active.setAttribute('aria-current', 'page');
  const view = VIEWS.find((v) => v.id === id);
  const el = $('view');
  if (!view) {
    el.innerHTML = views.length
      ? `<h2>No such view</h2><p>Choose a view above.</p>`
      : `<h2>Nothing to show</h2><p role="alert">Token "${esc(me.name)}" (roles: ${esc(me.roles.join(', '))}) has no dashboard view; the views need viewer, finance, procurement, auditor or approver.</p>`;
    return;
  }
  if (!allowed(view)) {
    el.innerHTML = `<h2>${esc(view.title)}: not allowed</h2><p role="alert" id="refused">Token "${esc(me.name)}" (roles: ${esc(me.roles.join(', '))}) may not see the ${esc(view.title.toLowerCase())} view: it needs the role ${esc(view.role)}.</p>`;
    return;
  }
  el.innerHTML = '<p class="note">Loading…</p>';
  el.dataset.view = view.id;
  el.removeAttribute('data-ready');
  try {
    await view.render(el);
    el.dataset.ready = view.id;
  } catch (err) {
    el.innerHTML = '';
    showError(err);
  }
}

async function signIn() {
  try {
    me = await api('/v1/whoami');
  } catch {
    return;
  }
  $('signin').hidden = true;
  $('signout').hidden = false;
  $('who').textContent = `${me.name} · ${me.roles.join(', ')}`;
  const views = VIEWS.filter(allowed);
  $('views').innerHTML = views.map((v) => `<a href="#/${v.id}" data-view="${v.id}">${esc(v.title)}</a>`).join('');
  $('views').hidden = views.length === 0;
  await route();
}

$('signin-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const token = $('token').value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  $('signin-error').textContent = '';
  void signIn();
});
$('signout').addEventListener('click', () => signOut('Signed out.'));
window.addEventListener('hashchange', () => void route());

if (sessionStorage.getItem(TOKEN_KEY)) void signIn();
else signOut();
