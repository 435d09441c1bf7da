// The dashboard's page frame and small shared pieces. No scripts: every action is a form that carries
// the session's CSRF token.
import type { Child } from 'hono/jsx';
import { formatKzt } from '../../lib/money';
import { formatTenge } from '../i18n';
import { Document } from '../layout';

export interface SessionView {
  readonly email: string;
  readonly merchantName: string;
  readonly csrf: string;
}

export type Section = 'overview' | 'invoices' | 'new' | 'webhooks' | 'keys' | 'settings';

const NAV: readonly [Section, string, string][] = [
  ['overview', '/dashboard', 'Overview'],
  ['invoices', '/dashboard/invoices', 'Invoices'],
  ['new', '/dashboard/invoices/new', 'New invoice'],
  ['webhooks', '/dashboard/webhooks', 'Webhooks'],
  ['keys', '/dashboard/keys', 'API keys'],
  ['settings', '/dashboard/settings', 'Settings'],
];

export function CsrfField({ token }: { token: string }) {
  return <input type="hidden" name="csrf" value={token} />;
}

export function DashPage(props: {
  title: string;
  session?: SessionView | undefined;
  active?: Section;
  children?: Child;
}) {
  const s = props.session;
  return (
    <Document lang="en" title={`${props.title} · ${s ? s.merchantName : 'alatau-pay'} dashboard`}>
      <a class="skip" href="#content">
        Skip to content
      </a>
      <header class="dash-top">
        <div class="inner">
          <strong>{s ? s.merchantName : 'alatau-pay'}</strong>
          {s ? (
            <nav aria-label="Dashboard">
              {NAV.map(([key, href, label]) => (
                <a href={href} aria-current={props.active === key ? 'page' : undefined}>
                  {label}
                </a>
              ))}
            </nav>
          ) : null}
          {s ? (
            <form method="post" action="/dashboard/logout" class="who">
              <span>{s.email}</span>
              <CsrfField token={s.csrf} />
              <button type="submit">Sign out</button>
            </form>
          ) : null}
        </div>
      </header>
      <main class="dash" id="content">
        {props.children}
      </main>
    </Document>
  );
}

/** Tenge from tiyn, as the dashboard writes it. */
export function kzt(tiyn: bigint): string {
  return formatTenge('en', formatKzt(tiyn));
}

export function Badge({ value }: { value: string }) {
  return <span class={`badge ${value}`}>{value.replace(/_/g, ' ')}</span>;
}

/** A time as people in Almaty read it, the exact instant in the datetime attribute. */
export function When({ at }: { at: Date | null | undefined }) {
  if (!at) return <span class="muted">–</span>;
  const text = new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Asia/Almaty',
    dateStyle: 'medium',
    timeStyle: 'short',
  }).format(at);
  return <time datetime={at.toISOString()}>{text}</time>;
}

export interface FormErrors {
  readonly message: string;
  readonly fields?: readonly { path: string; message: string }[] | undefined;
}

export function ErrorBox({ error, id = 'form-error' }: { error?: FormErrors | undefined; id?: string }) {
  if (!error) return null;
  return (
    <div class="error" role="alert" id={id}>
      {error.message}
      {error.fields?.length ? (
        <ul>
          {error.fields.map((f) => (
            <li>
              <strong>{f.path}</strong>: {f.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

export function Notice({ text }: { text?: string | undefined }) {
  return text ? (
    <p class="notice" role="status" id="notice">
      {text}
    </p>
  ) : null;
}
