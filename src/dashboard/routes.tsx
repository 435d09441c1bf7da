// The merchant dashboard at /dashboard: server-rendered (hono/jsx), no scripts. Password sign-in with a
// lockout, an HttpOnly SameSite=Strict session cookie, a CSRF token on every POST (the sign-in form's
// from a short-lived pre-session cookie). Every action calls the same domain functions as the API.
import type { OpenAPIHono } from '@hono/zod-openapi';
import { getAddress } from 'ethers';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { appendAudit } from '../audit/log';
import { checkedForm as checkedFormIn, mountSignIn, sessionIn } from '../auth/routes';
import { isNetworkId, NETWORKS, type NetworkId, networksForMode, parseOption } from '../chains/networks';
import type { Config } from '../config';
import type { AppEnv } from '../http/auth';
import { problemResponse } from '../http/problem';
import { createInvoice } from '../invoices/create';
import type { SpeedPolicy } from '../invoices/repository';
import { createInvoiceSchema } from '../invoices/schema';
import { cancelInvoice, type EventType } from '../invoices/state';
import { AppError, type FieldError, ValidationError } from '../lib/errors';
import { expiryRangeMessage } from '../lib/expiry';
import { MoneyFormatError, percentToBasisPoints } from '../lib/money';
import { createApiKey, revokeApiKey } from '../merchants/apikeys';
import {
  checkMerchantKeys,
  getMerchant,
  setMerchantKey,
  updateMerchantSettings,
} from '../merchants/repository';
import type { Services } from '../services';
import {
  InvoicePage,
  InvoicesPage,
  NewInvoicePage,
  type NewInvoiceValues,
  OverviewPage,
} from '../ui/dashboard/invoices';
import { KeysPage } from '../ui/dashboard/keys';
import { DashPage, type FormErrors } from '../ui/dashboard/layout';
import { LoginPage } from '../ui/dashboard/login';
import { SettingsPage } from '../ui/dashboard/settings';
import { EndpointPage, WebhooksPage } from '../ui/dashboard/webhooks';
import { setPageHeaders } from '../ui/layout';
import {
  createEndpoint,
  deleteEndpoint,
  type EndpointDeps,
  getEndpoint,
  listDeliveries,
  listEndpoints,
  redeliver,
  rotateSecret,
} from '../webhooks/repository';
import { CreateWebhookSchema } from '../webhooks/schema';
import { invoicesCsv, paymentsCsv } from './csv';
import { type Form, field, fields, issuesToFields, normalizeTenge } from './forms';
import {
  almatyDay,
  dailyVolume,
  INVOICE_STATUSES,
  invoiceDetail,
  invoiceTotals,
  isDay,
  listApiKeys,
  listInvoicesPage,
} from './queries';
import { type DashboardSession, dashboardSessions } from './sessions';
import { dashboardAccounts } from './users';

export const DASH_SESSION_COOKIE = 'dash_session';
export const DASH_LOGIN_COOKIE = 'dash_login';
const VOLUME_DAYS = 30;

type C = Context<AppEnv>;

const sessionOf = (c: C) => sessionIn<DashboardSession>(c, '/dashboard');
const actorOf = (c: C) => `user:${sessionOf(c).userId}`;

const NOTICES: Record<string, string> = {
  created: 'The invoice is created. Send the payer its checkout link.',
  cancelled: 'The invoice is cancelled.',
  deleted: 'The endpoint is deleted: it receives nothing more.',
  redelivered: 'The delivery is queued to be sent again now.',
  revoked: 'The key is revoked: requests with it are refused from now on.',
  saved: 'The payment settings are saved. They apply to invoices created from now on.',
  key: 'The account key is saved, and its option is offered on new invoices.',
  payout: 'The payout address is saved.',
};

const RefusedPage = (props: { message: string; status?: 403 | 404 }) => (
  <DashPage title={props.status === 404 ? 'Not found' : 'Refused'}>
    <p class="error" role="alert" id="refused">
      {props.message}
    </p>
    <p>
      <a href="/dashboard">Back to the dashboard</a>
    </p>
  </DashPage>
);

function refused(c: C, message: string, status: 403 | 404 = 403) {
  c.status(status);
  return c.html(<RefusedPage message={message} status={status} />);
}

/** The form of a state-changing request, or the 403 page when its origin or CSRF token is wrong. */
const checkedForm = (c: C): Promise<Form | Response> =>
  checkedFormIn(c, '/dashboard', (message) => <RefusedPage message={message} />);

const formError = (err: unknown): FormErrors | undefined => {
  if (err instanceof ValidationError) return { message: err.message, fields: err.errors };
  if (err instanceof AppError && err.status < 500) return { message: err.message };
  return undefined;
};

const endpointDeps = (services: Services): EndpointDeps => ({
  sql: services.sql,
  secretBox: services.secretBox,
  urlCheck: { allowPrivate: services.config.WEBHOOK_ALLOW_PRIVATE },
});

/** Payment options of this gateway's mode: every asset on every network it runs. */
export function modeOptions(config: Config): string[] {
  return networksForMode(config.NETWORK_MODE).flatMap((n) => n.assets.map((a) => `${a}@${n.id}`));
}

const utxoNetworks = (config: Config): NetworkId[] =>
  networksForMode(config.NETWORK_MODE)
    .filter((n) => n.family === 'utxo')
    .map((n) => n.id);

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

export function registerDashboard(app: OpenAPIHono<AppEnv>, config: Config) {
  const invoiceSchema = createInvoiceSchema({
    metadataLimitBytes: config.METADATA_LIMIT_BYTES,
    maxExpiryMinutes: config.INVOICE_EXPIRY_MAX_MINUTES,
  });

  app.use('/dashboard/*', async (c, next) => {
    await next();
    // CSV downloads keep their own type; every answer gets the page policy and no caching.
    if (!c.res.headers.get('content-type')?.startsWith('text/csv')) setPageHeaders(c);
    else c.header('Cache-Control', 'no-store');
  });
  app.use(
    '/dashboard/*',
    bodyLimit({
      maxSize: 64 * 1024,
      onError: (c) => problemResponse(c, 413, 'payload_too_large', 'the form is too large'),
    }),
  );

  const signIn = mountSignIn(app, config, {
    prefix: '/dashboard',
    cookies: { session: DASH_SESSION_COOKIE, login: DASH_LOGIN_COOKIE },
    home: '/dashboard',
    accounts: dashboardAccounts,
    subjectOf: (p) => p.userId,
    sessions: dashboardSessions,
    lockout: { attempts: config.DASHBOARD_LOCKOUT_ATTEMPTS, minutes: config.DASHBOARD_LOCKOUT_MINUTES },
    scryptLogN: config.DASHBOARD_SCRYPT_LOG_N,
    loginPage: (props) => <LoginPage {...props} />,
    refusedPage: (message) => <RefusedPage message={message} />,
  });
  // '/dashboard/*' matches '/dashboard' too.
  app.use('/dashboard/*', signIn.sessionRequired);

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

  // Invoices --------------------------------------------------------------------------------------

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
    const done = c.req.query('done');
    return c.html(
      <InvoicePage
        session={s}
        detail={detail}
        publicUrl={config.PUBLIC_URL}
        notice={done ? NOTICES[done] : undefined}
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

  // CSV exports ----------------------------------------------------------------------------------

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

  // Webhooks -------------------------------------------------------------------------------------

  const webhooksPage = async (
    c: C,
    extra: Omit<Parameters<typeof WebhooksPage>[0], 'session' | 'endpoints'> = {},
    status: 200 | 201 | 404 | 409 | 422 = 200,
  ) => {
    const s = sessionOf(c);
    const endpoints = await listEndpoints(c.get('services').sql, s.merchantId);
    const done = c.req.query('done');
    c.status(status);
    return c.html(
      <WebhooksPage session={s} endpoints={endpoints} notice={done ? NOTICES[done] : undefined} {...extra} />,
    );
  };

  app.get('/dashboard/webhooks', (c) => webhooksPage(c));

  app.post('/dashboard/webhooks', async (c) => {
    const form = await checkedForm(c);
    if (form instanceof Response) return form;
    const values = { url: field(form, 'url').trim(), events: fields(form, 'events') };
    const parsed = CreateWebhookSchema.safeParse(values.events.length ? values : { url: values.url });
    if (!parsed.success) {
      return webhooksPage(
        c,
        { values, error: { message: 'Check the endpoint.', fields: issuesToFields(parsed.error.issues) } },
        422,
      );
    }
    try {
      const { endpoint, secret } = await createEndpoint(
        endpointDeps(c.get('services')),
        sessionOf(c).merchantId,
        {
          url: parsed.data.url,
          ...(parsed.data.events ? { events: parsed.data.events as EventType[] } : {}),
        },
      );
      return webhooksPage(c, { created: { endpointId: endpoint.id, secret, rotated: false } }, 201);
    } catch (err) {
      const e = formError(err);
      if (!e) throw err;
      return webhooksPage(c, { values, error: e }, 422);
    }
  });

  app.post('/dashboard/webhooks/:id/rotate', async (c) => {
    const form = await checkedForm(c);
    if (form instanceof Response) return form;
    try {
      const { endpoint, secret } = await rotateSecret(
        endpointDeps(c.get('services')),
        sessionOf(c).merchantId,
        c.req.param('id'),
      );
      return webhooksPage(c, { created: { endpointId: endpoint.id, secret, rotated: true } });
    } catch (err) {
      const e = formError(err);
      if (!e) throw err;
      return webhooksPage(c, { error: e }, 404);
    }
  });

  app.post('/dashboard/webhooks/:id/delete', async (c) => {
    const form = await checkedForm(c);
    if (form instanceof Response) return form;
    try {
      await deleteEndpoint(c.get('services').sql, sessionOf(c).merchantId, c.req.param('id'));
      return c.redirect('/dashboard/webhooks?done=deleted', 303);
    } catch (err) {
      const e = formError(err);
      if (!e) throw err;
      return webhooksPage(c, { error: e }, 404);
    }
  });

  const endpointPage = async (c: C, id: string, error?: FormErrors) => {
    const { sql } = c.get('services');
    const s = sessionOf(c);
    const endpoint = await getEndpoint(sql, s.merchantId, id);
    if (!endpoint) return refused(c, 'No such webhook endpoint.', 404);
    const after = c.req.query('after');
    const page = await listDeliveries(sql, s.merchantId, id, {
      limit: 50,
      ...(after && /^dlv_[0-9a-z]{26}$/.test(after) ? { cursor: after } : {}),
    });
    const done = c.req.query('done');
    if (error) c.status(409);
    return c.html(
      <EndpointPage
        session={s}
        endpoint={endpoint}
        deliveries={page.data}
        next={page.nextCursor}
        notice={done ? NOTICES[done] : undefined}
        error={error}
      />,
    );
  };

  app.get('/dashboard/webhooks/:id', (c) => endpointPage(c, c.req.param('id')));

  app.post('/dashboard/webhooks/:id/deliveries/:dlv/redeliver', async (c) => {
    const form = await checkedForm(c);
    if (form instanceof Response) return form;
    const id = c.req.param('id');
    const dlv = c.req.param('dlv');
    try {
      await redeliver(c.get('services').sql, sessionOf(c).merchantId, id, dlv);
      return c.redirect(`/dashboard/webhooks/${id}?done=redelivered#${dlv}`, 303);
    } catch (err) {
      const e = formError(err);
      if (!e) throw err;
      return endpointPage(c, id, e);
    }
  });

  // API keys -------------------------------------------------------------------------------------

  const keysPage = async (c: C, extra: Omit<Parameters<typeof KeysPage>[0], 'session' | 'keys'> = {}) => {
    const s = sessionOf(c);
    const keys = await listApiKeys(c.get('services').sql, s.merchantId);
    const done = c.req.query('done');
    return c.html(<KeysPage session={s} keys={keys} notice={done ? NOTICES[done] : undefined} {...extra} />);
  };

  app.get('/dashboard/keys', (c) => keysPage(c));

  app.post('/dashboard/keys', async (c) => {
    const form = await checkedForm(c);
    if (form instanceof Response) return form;
    const services = c.get('services');
    const s = sessionOf(c);
    const label = field(form, 'label', 100).trim() || null;
    const created = await services.sql.begin(async (tx) => {
      const k = await createApiKey(tx, s.merchantId, services.keyMode, label ?? undefined);
      await appendAudit(tx, {
        actor: actorOf(c),
        action: 'api_key.created',
        subject: k.id,
        data: { merchantId: s.merchantId, label, prefix: k.prefix },
      });
      return k;
    });
    c.status(201);
    return keysPage(c, { created: { id: created.id, apiKey: created.apiKey } });
  });

  app.post('/dashboard/keys/:id/revoke', async (c) => {
    const form = await checkedForm(c);
    if (form instanceof Response) return form;
    const s = sessionOf(c);
    const id = c.req.param('id');
    try {
      await c.get('services').sql.begin(async (tx) => {
        await revokeApiKey(tx, id, s.merchantId);
        await appendAudit(tx, {
          actor: actorOf(c),
          action: 'api_key.revoked',
          subject: id,
          data: { merchantId: s.merchantId },
        });
      });
      return c.redirect('/dashboard/keys?done=revoked', 303);
    } catch (err) {
      const e = formError(err);
      if (!e) throw err;
      c.status(404);
      return keysPage(c, { error: e });
    }
  });

  // Settings -------------------------------------------------------------------------------------

  const settingsPage = async (
    c: C,
    extra: Omit<
      Parameters<typeof SettingsPage>[0],
      'session' | 'merchant' | 'allOptions' | 'utxoNetworks'
    > = {},
  ) => {
    const s = sessionOf(c);
    const merchant = await getMerchant(c.get('services').sql, s.merchantId);
    if (!merchant) return refused(c, 'The merchant no longer exists.', 404);
    const done = c.req.query('done');
    if (extra.error) c.status(422);
    return c.html(
      <SettingsPage
        session={s}
        merchant={merchant}
        allOptions={[...new Set([...modeOptions(config), ...merchant.enabledOptions])]}
        utxoNetworks={utxoNetworks(config)}
        notice={done ? NOTICES[done] : undefined}
        {...extra}
      />,
    );
  };

  app.get('/dashboard/settings', (c) => settingsPage(c));

  app.post('/dashboard/settings', async (c) => {
    const form = await checkedForm(c);
    if (form instanceof Response) return form;
    const errors: FieldError[] = [];
    const speed = field(form, 'speedPolicy', 20);
    if (!['high', 'medium', 'low-medium', 'low'].includes(speed)) {
      errors.push({ path: 'speedPolicy', message: 'choose one of the listed policies' });
    }
    let toleranceBp = 0;
    try {
      toleranceBp = percentToBasisPoints(field(form, 'tolerance', 10).trim().replace(',', '.') || '0');
    } catch (err) {
      if (!(err instanceof MoneyFormatError)) throw err;
      errors.push({ path: 'tolerance', message: 'a percentage from 0 to 100 with at most 2 decimals' });
    }
    const whole = (
      name: string,
      min: number,
      max: number,
      message = `a whole number from ${min} to ${max}`,
    ) => {
      const v = field(form, name, 10).trim();
      const n = /^[0-9]{1,6}$/.test(v) ? Number(v) : Number.NaN;
      if (!(n >= min && n <= max)) errors.push({ path: name, message });
      return n;
    };
    const maxExpiry = config.INVOICE_EXPIRY_MAX_MINUTES;
    const expiry = whole('expiry', 1, maxExpiry, expiryRangeMessage(maxExpiry));
    const monitoring = whole('monitoring', 0, 43_200);
    const options = fields(form, 'options');
    for (const o of options)
      if (!parseOption(o)) errors.push({ path: 'options', message: `unknown option ${o}` });
    if (errors.length)
      return settingsPage(c, { error: { message: 'The settings were not saved.', fields: errors } });
    await updateMerchantSettings(
      c.get('services').sql,
      sessionOf(c).merchantId,
      {
        speedPolicy: speed as SpeedPolicy,
        paymentToleranceBp: toleranceBp,
        invoiceExpiryMinutes: expiry,
        monitoringWindowMinutes: monitoring,
        enabledOptions: options,
      },
      actorOf(c),
      { maxExpiryMinutes: maxExpiry },
    );
    return c.redirect('/dashboard/settings?done=saved', 303);
  });

  app.post('/dashboard/settings/keys', async (c) => {
    const form = await checkedForm(c);
    if (form instanceof Response) return form;
    const network = field(form, 'network', 40);
    const key = field(form, 'key', 4000).trim();
    if (!isNetworkId(network) || !utxoNetworks(config).includes(network)) {
      return settingsPage(c, { error: { message: 'Choose one of the listed networks.' } });
    }
    try {
      if (field(form, 'confirm', 5) !== 'yes') {
        const [preview] = checkMerchantKeys({ [network]: key });
        return settingsPage(c, { preview: preview! });
      }
      const services = c.get('services');
      const s = sessionOf(c);
      await setMerchantKey(services.sql, s.merchantId, network, key, actorOf(c));
      const m = await getMerchant(services.sql, s.merchantId);
      const option = `${NETWORKS[network].nativeAsset}@${network}`;
      if (m && !m.enabledOptions.includes(option)) {
        await updateMerchantSettings(
          services.sql,
          s.merchantId,
          { enabledOptions: [...m.enabledOptions, option] },
          actorOf(c),
        );
      }
      return c.redirect('/dashboard/settings?done=key', 303);
    } catch (err) {
      const e = formError(err);
      if (!e) throw err;
      return settingsPage(c, { error: e });
    }
  });

  app.post('/dashboard/settings/payout', async (c) => {
    const form = await checkedForm(c);
    if (form instanceof Response) return form;
    const text = field(form, 'address', 100).trim();
    let address: string | null = null;
    if (text) {
      const problem = !/^0x[0-9a-fA-F]{40}$/.test(text)
        ? 'expected 0x and 40 hex digits'
        : (() => {
            try {
              address = getAddress(text);
              return undefined;
            } catch {
              return (
                'the upper and lower case letters do not match the EIP-55 checksum: ' +
                'check every character'
              );
            }
          })();
      if (problem) {
        return settingsPage(c, {
          error: {
            message: 'The payout address was not saved.',
            fields: [{ path: 'address', message: problem }],
          },
        });
      }
    }
    await updateMerchantSettings(
      c.get('services').sql,
      sessionOf(c).merchantId,
      { evmPayoutAddress: address },
      actorOf(c),
    );
    return c.redirect('/dashboard/settings?done=payout', 303);
  });
}
