// The dashboard's API keys: list, create (shown once), revoke; each change in the audit log.
import { appendAudit } from '../audit/log';
import { newApi } from '../http/api';
import { createApiKey, revokeApiKey } from '../merchants/apikeys';
import { KeysPage } from '../ui/dashboard/keys';
import { field } from './forms';
import { actorOf, type C, checkedForm, type DashboardEnv, formError, noticeOf, sessionOf } from './pages';
import { listApiKeys } from './queries';

export function keyPages() {
  const app = newApi<DashboardEnv>();

  const keysPage = async (c: C, extra: Omit<Parameters<typeof KeysPage>[0], 'session' | 'keys'> = {}) => {
    const s = sessionOf(c);
    const keys = await listApiKeys(c.get('services').sql, s.merchantId);
    return c.html(<KeysPage session={s} keys={keys} notice={noticeOf(c)} {...extra} />);
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

  return app;
}
