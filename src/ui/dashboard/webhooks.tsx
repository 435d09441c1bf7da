// Webhook endpoints in the dashboard: register (the signing secret is shown once), rotate the secret,
// delete, and each endpoint's deliveries with their attempts and a redeliver button.
import { EVENT_TYPES } from '../../invoices/state';
import type { WebhookDelivery, WebhookEndpoint } from '../../webhooks/repository';
import {
  Badge,
  CsrfField,
  DashPage,
  ErrorBox,
  type FormErrors,
  Notice,
  type SessionView,
  When,
} from './layout';

export function SecretOnce({ title, secret, id }: { title: string; secret: string; id: string }) {
  return (
    <div class="secret" role="status">
      <p>
        <strong>{title}</strong> It is shown this once: copy it now and keep it safe.
      </p>
      <p>
        <code id={id}>{secret}</code>
      </p>
    </div>
  );
}

export function WebhooksPage(props: {
  session: SessionView;
  endpoints: readonly WebhookEndpoint[];
  created?: { endpointId: string; secret: string; rotated: boolean } | undefined;
  notice?: string | undefined;
  error?: FormErrors | undefined;
  values?: { url?: string; events?: readonly string[] };
}) {
  const chosen = new Set(props.values?.events ?? []);
  return (
    <DashPage title="Webhooks" session={props.session} active="webhooks">
      <h1>Webhooks</h1>
      <Notice text={props.notice} />
      {props.created ? (
        <SecretOnce
          id="webhook-secret"
          title={
            props.created.rotated
              ? `New signing secret of ${props.created.endpointId}. ` +
                'The previous one keeps signing for 24 hours.'
              : `Signing secret of ${props.created.endpointId}.`
          }
          secret={props.created.secret}
        />
      ) : null}
      <ErrorBox error={props.error} />
      {props.endpoints.length === 0 ? (
        <p class="muted">No endpoint yet.</p>
      ) : (
        <div class="table-wrap">
          <table id="endpoints">
            <thead>
              <tr>
                <th>Endpoint</th>
                <th>Events</th>
                <th>Status</th>
                <th>Created</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              {props.endpoints.map((e) => (
                <tr data-endpoint={e.id}>
                  <td>
                    <a href={`/dashboard/webhooks/${e.id}`} class="mono">
                      {e.url}
                    </a>
                    <div class="muted small mono">{e.id}</div>
                  </td>
                  <td class="small">{e.events.length ? e.events.join(', ') : 'all events'}</td>
                  <td>
                    {e.disabledAt ? <Badge value="disabled" /> : <Badge value="enabled" />}
                    {e.disabledReason ? <div class="small muted">{e.disabledReason}</div> : null}
                  </td>
                  <td>
                    <When at={e.createdAt} />
                  </td>
                  <td>
                    <div class="row-actions">
                      <form method="post" action={`/dashboard/webhooks/${e.id}/rotate`}>
                        <CsrfField token={props.session.csrf} />
                        <button type="submit" class="secondary">
                          Rotate secret
                        </button>
                      </form>
                      <form method="post" action={`/dashboard/webhooks/${e.id}/delete`}>
                        <CsrfField token={props.session.csrf} />
                        <button type="submit" class="danger">
                          Delete
                        </button>
                      </form>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>Add an endpoint</h2>
      <form method="post" action="/dashboard/webhooks" class="stack" id="new-webhook">
        <CsrfField token={props.session.csrf} />
        <label>
          URL <span class="help">a public http(s) address that answers 2xx</span>
          <input name="url" type="url" required maxlength={2000} value={props.values?.url ?? ''} />
        </label>
        <fieldset>
          <legend>Events (none ticked: every event)</legend>
          <div class="checks">
            {EVENT_TYPES.map((t) => (
              <label>
                <input type="checkbox" name="events" value={t} checked={chosen.has(t)} /> {t}
              </label>
            ))}
          </div>
        </fieldset>
        <button type="submit">Add endpoint</button>
      </form>
    </DashPage>
  );
}

export function EndpointPage(props: {
  session: SessionView;
  endpoint: WebhookEndpoint;
  deliveries: readonly WebhookDelivery[];
  next: string | null;
  notice?: string | undefined;
  error?: FormErrors | undefined;
}) {
  const e = props.endpoint;
  return (
    <DashPage title={`Webhook ${e.id}`} session={props.session} active="webhooks">
      <h1>
        Webhook <span class="mono">{e.url}</span>
      </h1>
      <Notice text={props.notice} />
      <ErrorBox error={props.error} />
      <dl class="kv">
        <dt>Id</dt>
        <dd class="mono">{e.id}</dd>
        <dt>Events</dt>
        <dd>{e.events.length ? e.events.join(', ') : 'all events'}</dd>
        <dt>Status</dt>
        <dd>{e.disabledAt ? `disabled: ${e.disabledReason ?? ''}` : 'enabled'}</dd>
      </dl>
      <h2>Deliveries</h2>
      {props.deliveries.length === 0 ? (
        <p class="muted">Nothing delivered yet.</p>
      ) : (
        <div class="table-wrap">
          <table id="deliveries">
            <thead>
              <tr>
                <th>Event</th>
                <th>Invoice</th>
                <th>Status</th>
                <th>Attempts</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {props.deliveries.map((d) => (
                <tr id={d.id} data-delivery={d.id} data-status={d.status}>
                  <td>
                    {d.type}
                    <div class="muted small">
                      <When at={d.createdAt} />
                    </div>
                  </td>
                  <td>
                    {d.invoiceId ? (
                      <a href={`/dashboard/invoices/${d.invoiceId}`} class="mono">
                        {d.invoiceId}
                      </a>
                    ) : (
                      '–'
                    )}
                  </td>
                  <td>
                    <Badge value={d.status} />
                    {d.nextAttemptAt ? (
                      <div class="small muted">
                        next <When at={d.nextAttemptAt} />
                      </div>
                    ) : null}
                  </td>
                  <td class="small">
                    {d.attempts.length === 0
                      ? 'none yet'
                      : d.attempts.map((a) => (
                          <div>
                            #{a.attempt} <When at={a.startedAt} />:{' '}
                            {a.httpStatus ? `HTTP ${a.httpStatus}` : (a.error ?? 'in flight')}
                            {a.durationMs !== null ? ` in ${a.durationMs} ms` : ''}
                          </div>
                        ))}
                  </td>
                  <td>
                    <form method="post" action={`/dashboard/webhooks/${e.id}/deliveries/${d.id}/redeliver`}>
                      <CsrfField token={props.session.csrf} />
                      <button type="submit" class="secondary" disabled={Boolean(e.disabledAt)}>
                        Redeliver
                      </button>
                    </form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div class="pager">
        {props.next ? (
          <a class="button secondary" href={`/dashboard/webhooks/${e.id}?after=${props.next}`}>
            Older deliveries
          </a>
        ) : null}
      </div>
      <p>
        <a href="/dashboard/webhooks">All endpoints</a>
      </p>
    </DashPage>
  );
}
