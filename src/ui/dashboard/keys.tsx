// API keys in the dashboard: a new key is shown once; keys can be revoked (never shown again).
import type { ApiKeyRow } from '../../dashboard/queries';
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
import { SecretOnce } from './webhooks';

export function KeysPage(props: {
  session: SessionView;
  keys: readonly ApiKeyRow[];
  created?: { id: string; apiKey: string } | undefined;
  notice?: string | undefined;
  error?: FormErrors | undefined;
}) {
  return (
    <DashPage title="API keys" session={props.session} active="keys">
      <h1>API keys</h1>
      <Notice text={props.notice} />
      {props.created ? (
        <SecretOnce id="new-api-key" title={`API key ${props.created.id}.`} secret={props.created.apiKey} />
      ) : null}
      <ErrorBox error={props.error} />
      <div class="table-wrap">
        <table id="keys">
          <thead>
            <tr>
              <th>Key</th>
              <th>Label</th>
              <th>Created</th>
              <th>Last used</th>
              <th>Status</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {props.keys.map((k) => (
              <tr data-key={k.id}>
                <td>
                  <span class="mono">{k.prefix}…</span>
                  <div class="muted small mono">{k.id}</div>
                </td>
                <td>{k.label ?? '–'}</td>
                <td>
                  <When at={k.createdAt} />
                </td>
                <td>
                  <When at={k.lastUsedAt} />
                </td>
                <td>{k.revokedAt ? <Badge value="revoked" /> : <Badge value="active" />}</td>
                <td>
                  {k.revokedAt ? null : (
                    <form method="post" action={`/dashboard/keys/${k.id}/revoke`}>
                      <CsrfField token={props.session.csrf} />
                      <button type="submit" class="danger">
                        Revoke
                      </button>
                    </form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>Create a key</h2>
      <form method="post" action="/dashboard/keys" class="inline" id="new-key">
        <CsrfField token={props.session.csrf} />
        <label>
          Label <span class="help">what uses it, e.g. "web shop"</span>
          <input name="label" maxlength={100} />
        </label>
        <button type="submit">Create key</button>
      </form>
    </DashPage>
  );
}
