// The dashboard's webhook endpoints: list, create, rotate the secret, delete, deliveries, redeliver.
import { newApi } from '../http/api';
import type { EventType } from '../invoices/state';
import type { Services } from '../services';
import type { FormErrors } from '../ui/dashboard/layout';
import { EndpointPage, WebhooksPage } from '../ui/dashboard/webhooks';
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
import { field, fields, issuesToFields } from './forms';
import { type C, checkedForm, type DashboardEnv, formError, noticeOf, refused, sessionOf } from './pages';

const endpointDeps = (services: Services): EndpointDeps => ({
  sql: services.sql,
  secretBox: services.secretBox,
  urlCheck: { allowPrivate: services.config.WEBHOOK_ALLOW_PRIVATE },
});

export function webhookPages() {
  const app = newApi<DashboardEnv>();

  const webhooksPage = async (
    c: C,
    extra: Omit<Parameters<typeof WebhooksPage>[0], 'session' | 'endpoints'> = {},
    status: 200 | 201 | 404 | 409 | 422 = 200,
  ) => {
    const s = sessionOf(c);
    const endpoints = await listEndpoints(c.get('services').sql, s.merchantId);
    c.status(status);
    return c.html(<WebhooksPage session={s} endpoints={endpoints} notice={noticeOf(c)} {...extra} />);
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
    if (error) c.status(409);
    return c.html(
      <EndpointPage
        session={s}
        endpoint={endpoint}
        deliveries={page.data}
        next={page.nextCursor}
        notice={noticeOf(c)}
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

  return app;
}
