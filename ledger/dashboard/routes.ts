// The dashboard's read API (history, forecast): a fastify plugin registered by
// server.ts, each route behind the server's token guard.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { capacityOn, dayOf, historySeries, parseHistoryQuery } from '../history.ts';
import { forecastTotals, parseForecastQuery, productForecast } from './figures.ts';
import type { Ledger } from '../ledger.ts';
import { type Identity, isLimited, sees, seesPool } from '../identity.ts';
import { ROLES, type Role } from '../store/types.ts';
import { loadUiFiles, UI_HEADERS } from './ui-files.ts';
import { auditView, financeView, platformView, procurementView } from './views.ts';
import { visiblePlatform, visibleReservations, visibleSeries } from './visible.ts';
import { EntitlegateError } from '../../engine/errors.ts';
import { parseDenialsQuery, recentDenials } from './denials.ts';

type Query = Record<string, string | undefined>;

/** server.ts's guard: the handler runs once the token has one of the roles. */
export type Guard = <P>(
  route: string,
  roles: readonly Role[],
  handler: (req: FastifyRequest<{ Params: P; Querystring: Query }>, actor: string, reply: FastifyReply, who: Identity) => Promise<unknown>,
) => (req: FastifyRequest<{ Params: P; Querystring: Query }>, reply: FastifyReply) => Promise<unknown>;

/** Roles that read the dashboard's figures (admin has every role). */
export const READERS: readonly Role[] = ['viewer', 'finance', 'procurement', 'auditor', 'approver'];

export async function dashboardRoutes(app: FastifyInstance, opts: { ledger: Ledger; guarded: Guard }): Promise<void> {
  const { ledger, guarded } = opts;
  const seenProducts = (who: Identity): ReadonlySet<string> =>
    who.products ? new Set([...ledger.products].filter((p) => who.products!.includes(p))) : ledger.products;
  app.get(
    '/v1/history',
    guarded('history-daily', READERS, async (req, _actor, _reply, who) => {
      // A product a limited identity does not see is answered as one the config does not declare.
      const q = parseHistoryQuery(req.query, seenProducts(who), ledger.clock().getTime());
      const rows = await ledger.store.history(q.product, q.from, q.to);
      const series = visibleSeries(who, q.product, historySeries(rows, q));
      // The product's own entitlements, once: each point would otherwise walk every product's.
      const entitlements = ledger.config.config.entitlements.filter((e) => e.product === q.product && seesPool(who, e));
      const product = ledger.config.config.products.find((p) => p.id === q.product)!;
      // Without the total (an identity limited to a scope), the days of its longest series.
      const total =
        series.find((s) => s.scope === null) ??
        series.reduce<(typeof series)[number] | undefined>((a, s) => (a && a.points.length >= s.points.length ? a : s), undefined);
      return {
        product: q.product,
        metric: product.metric,
        from: q.from,
        to: q.to,
        step: `${q.stepDays}d`,
        capacity: (total?.points ?? []).map((p) => ({ day: p.day, quantity: capacityOn(entitlements, q.product, p.day) })),
        series,
      };
    }),
  );
  app.get(
    '/v1/forecast',
    guarded('forecast', READERS, async (req, _actor, _reply, who) => {
      const q = parseForecastQuery(req.query);
      const one = req.query.product;
      if (one !== undefined && !seenProducts(who).has(one))
        throw new EntitlegateError('EG_ERR_INPUT_INVALID', `no product "${one}" in the ledger's config`);
      // One product: every scope with its band, for a chart. All: each product's total, without bands, for a table.
      if (one !== undefined)
        return {
          asOf: dayOf(ledger.clock().getTime()),
          ...q,
          product: one,
          series: visibleSeries(who, one, await productForecast(ledger, one, q, true)),
        };
      // Each product's total over every scope: not for an identity limited to a scope.
      const products = (await forecastTotals(ledger, q)).filter((p) => sees(who, p.product));
      return { asOf: dayOf(ledger.clock().getTime()), ...q, products };
    }),
  );

  app.get(
    '/v1/whoami',
    guarded('whoami', ROLES, async (_req, _actor, _reply, who) => {
      return { name: who.name, roles: who.roles, asOf: ledger.clock().toISOString() };
    }),
  );
  app.get(
    '/v1/dashboard/platform',
    guarded('view-platform', ['viewer'], async (_req, _actor, _reply, who) => visiblePlatform(ledger, who, await platformView(ledger))),
  );
  app.get(
    '/v1/dashboard/finance',
    guarded('view-finance', ['finance'], async (_req, _actor, _reply, who) => financeView(ledger, isLimited(who) ? who : undefined)),
  );
  app.get(
    '/v1/dashboard/procurement',
    guarded('view-procurement', ['procurement'], async (_req, _actor, _reply, who) =>
      procurementView(ledger, isLimited(who) ? who : undefined),
    ),
  );
  app.get(
    '/v1/dashboard/audit',
    guarded('view-audit', ['auditor'], async (req, _actor, _reply, who) => {
      const view = await auditView(ledger, req.query);
      return isLimited(who) ? { ...view, reservations: visibleReservations(who, view.reservations) } : view;
    }),
  );

  // The page itself needs no token: it holds no data, and asks for one.
  const files = loadUiFiles();
  const send = (name: string) => async (_req: FastifyRequest, reply: FastifyReply) => {
    const f = files.get(name)!;
    return reply.headers(UI_HEADERS).type(f.type).send(f.body);
  };
  app.get('/ui', send('index.html'));
  app.get('/ui/', send('index.html'));
  for (const name of ['app.js', 'app.css', 'uplot.js', 'uplot.css']) app.get(`/ui/${name}`, send(name));

  app.get(
    '/v1/denials',
    guarded('denials', DENIAL_READERS, async (req, _actor, _reply, who) => {
      const q = parseDenialsQuery(req.query, ledger.products);
      const { denials } = await recentDenials(ledger.store, who, q);
      return { asOf: ledger.clock().toISOString(), denials };
    }),
  );
}

/** Denials name actors and resources: the platform's and the auditor's to read. */
export const DENIAL_READERS: readonly Role[] = ['viewer', 'auditor'];
