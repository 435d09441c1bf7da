// The dashboard's overview, invoices (list, new, one, cancel) and their CSV exports.
import { NETWORKS, parseOption } from '../chains/networks';
import type { Config } from '../config';
import { newApi } from '../http/api';
import { createInvoice } from '../invoices/create';
import { createInvoiceSchema } from '../invoices/schema';
import { cancelInvoice } from '../invoices/state';
import { getMerchant } from '../merchants/repository';
import {
  InvoicePage,
  InvoicesPage,
  NewInvoicePage,
  type NewInvoiceValues,
  OverviewPage,
} from '../ui/dashboard/invoices';
import type { FormErrors } from '../ui/dashboard/layout';
import { invoicesCsv, paymentsCsv } from './csv';
import { field, fields, issuesToFields, normalizeTenge } from './forms';
import {
  actorOf,
  type C,
  checkedForm,
  type DashboardEnv,
  formError,
  noticeOf,
  refused,
  sessionOf,
} from './pages';
import {
  almatyDay,
  dailyVolume,
  INVOICE_STATUSES,
  invoiceDetail,
  invoiceTotals,
  isDay,
  listInvoicesPage,
} from './queries';

const VOLUME_DAYS = 30;

function listFilters(c: C) {
  const q = c.req.query();
  const status = INVOICE_STATUSES.find((s) => s === q.status);
  const orderId = (q.orderId ?? '').trim().slice(0, 200) || undefined;
  return {
    status,
    orderId,
    from: isDay(q.from) ? q.from : undefined,
    to: isDay(q.to) ? q.to : undefined,
  };
}

export function invoicePages(config: Config) {
  const app = newApi<DashboardEnv>();
  const invoiceSchema = createInvoiceSchema({
    metadataLimitBytes: config.METADATA_LIMIT_BYTES,
    maxExpiryMinutes: config.INVOICE_EXPIRY_MAX_MINUTES,
  });

  app.get('/dashboard', async (c) => {
    const { sql } = c.get('services');
    const s = sessionOf(c);
    const [totals, days, recent] = await Promise.all([
      invoiceTotals(sql, s.merchantId),
      dailyVolume(sql, s.merchantId, VOLUME_DAYS),
      listInvoicesPage(sql, s.merchantId, { limit: 10 }),
    ]);
    return c.html(<OverviewPage session={s} totals={totals} days={days} recent={recent.data} />);
  });

  app.get('/dashboard/invoices', async (c) => {
    const s = sessionOf(c);
    const f = listFilters(c);
    const after = c.req.query('after');
    const page = await listInvoicesPage(c.get('services').sql, s.merchantId, { ...f, after, limit: 50 });
    return c.html(<InvoicesPage session={s} invoices={page.data} filters={f} next={page.next} />);
  });

  const newInvoicePage = async (c: C, values?: NewInvoiceValues, error?: FormErrors) => {
    const s = sessionOf(c);
    const m = await getMerchant(c.get('services').sql, s.merchantId);
    const available = (m?.enabledOptions ?? []).filter((o) => {
      const id = parseOption(o);
      return id && NETWORKS[id.network].mode === config.NETWORK_MODE;
    });
    if (error) c.status(422);
    return c.html(
      <NewInvoicePage
        session={s}
        available={available}
        defaultExpiry={m?.invoiceExpiryMinutes ?? 15}
        values={values}
        error={error}
      />,
    );
  };

  app.get('/dashboard/invoices/new', (c) => newInvoicePage(c));

  app.post('/dashboard/invoices', async (c) => {
    const form = await checkedForm(c);
    if (form instanceof Response) return form;
    const values: NewInvoiceValues = {
      amount: field(form, 'amount', 30),
      description: field(form, 'description', 1000),
      orderId: field(form, 'orderId', 200),
      redirectUrl: field(form, 'redirectUrl'),
      buyerEmail: field(form, 'buyerEmail', 320),
      expiresInMinutes: field(form, 'expiresInMinutes', 10),
      options: fields(form, 'options'),
    };
    const expiry = values.expiresInMinutes?.trim() ?? '';
    const input: Record<string, unknown> = { amount: normalizeTenge(values.amount ?? ''), currency: 'KZT' };
    if (values.description?.trim()) input.description = values.description.trim();
    if (values.orderId?.trim()) input.orderId = values.orderId.trim();
    if (values.redirectUrl?.trim()) input.redirectUrl = values.redirectUrl.trim();
    if (values.buyerEmail?.trim()) input.buyerEmail = values.buyerEmail.trim();
    if (values.options?.length) input.options = values.options;
    if (expiry) input.expiresInMinutes = /^[0-9]{1,6}$/.test(expiry) ? Number(expiry) : expiry;
    const parsed = invoiceSchema.safeParse(input);
    if (!parsed.success) {
      return newInvoicePage(c, values, {
        message: 'Some fields need a second look.',
        fields: issuesToFields(parsed.error.issues),
      });
    }
    try {
      const inv = await createInvoice(c.get('services'), sessionOf(c).merchantId, parsed.data);
      return c.redirect(`/dashboard/invoices/${inv.id}?done=created`, 303);
    } catch (err) {
      const e = formError(err);
      if (!e) throw err;
      return newInvoicePage(c, values, e);
    }
  });

  const invoicePage = async (c: C, id: string, error?: FormErrors) => {
    const services = c.get('services');
    const s = sessionOf(c);
    const detail = await invoiceDetail(services.sql, s.merchantId, id);
    if (!detail) return refused(c, 'No such invoice.', 404);
    if (error) c.status(409);
    return c.html(
      <InvoicePage
        session={s}
        detail={detail}
        publicUrl={config.PUBLIC_URL}
        notice={noticeOf(c)}
        error={error}
      />,
    );
  };

  app.get('/dashboard/invoices/:id', (c) => invoicePage(c, c.req.param('id')));

  app.post('/dashboard/invoices/:id/cancel', async (c) => {
    const form = await checkedForm(c);
    if (form instanceof Response) return form;
    const services = c.get('services');
    const id = c.req.param('id');
    try {
      await services.sql.begin((tx) =>
        cancelInvoice(tx, services.state, id, sessionOf(c).merchantId, { actor: actorOf(c) }),
      );
      return c.redirect(`/dashboard/invoices/${id}?done=cancelled`, 303);
    } catch (err) {
      const e = formError(err);
      if (!e) throw err;
      return invoicePage(c, id, e);
    }
  });

  // CSV exports, filtered like the list.
  const csv = (name: string, body: ReadableStream<Uint8Array>) =>
    new Response(body, {
      headers: {
        'Content-Type': 'text/csv; charset=utf-8',
        'Content-Disposition': `attachment; filename="${name}-${almatyDay(new Date())}.csv"`,
        'Cache-Control': 'no-store',
      },
    });
  app.get('/dashboard/export/invoices.csv', (c) =>
    csv('invoices', invoicesCsv(c.get('services').sql, sessionOf(c).merchantId, listFilters(c))),
  );
  app.get('/dashboard/export/payments.csv', (c) =>
    csv('payments', paymentsCsv(c.get('services').sql, sessionOf(c).merchantId, listFilters(c))),
  );

  return app;
}
