// The console's page frame: server-rendered, no scripts, no inline style (the CSP allows neither). Every
// form that changes something carries the session's CSRF token (the sign-out button too).
import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';
import { formatKzt } from '../../lib/money';
import { assetUrl } from '../assets';
import { groupNumber } from '../i18n/format';

/** Tiyn as the console writes tenge: "6,000,000.00". */
export const kztAmount = (tiyn: bigint): string => groupNumber('en', formatKzt(tiyn));

export interface SessionView {
  readonly name: string;
  readonly csrf: string;
}

export function CsrfField({ token }: { token: string }) {
  return <input type="hidden" name="csrf" value={token} />;
}

export function Page(props: { title: string; session?: SessionView | undefined; children?: Child }) {
  return (
    <>
      {raw('<!DOCTYPE html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="referrer" content="no-referrer" />
          <title>{`${props.title} · alatau-pay compliance`}</title>
          <link rel="icon" href={assetUrl('favicon.svg')} type="image/svg+xml" />
          <link rel="stylesheet" href="/regulator/console.css" />
        </head>
        <body>
          <header class="top">
            <nav>
              <strong class="brand">alatau-pay compliance</strong>
              {props.session ? (
                <>
                  <a href="/regulator/cases">Queue</a>
                  <a href="/regulator/cases?overdue=true">Overdue</a>
                  <a href="/regulator/audit">Audit log</a>
                </>
              ) : null}
            </nav>
            {props.session ? (
              <form method="post" action="/regulator/logout">
                <span class="who">{props.session.name}</span>
                <CsrfField token={props.session.csrf} />
                <button type="submit" class="secondary">
                  Sign out
                </button>
              </form>
            ) : null}
          </header>
          <main>{props.children}</main>
        </body>
      </html>
    </>
  );
}

export function RiskBadge({ risk }: { risk: string }) {
  return <span class={`badge risk-${risk}`}>{risk}</span>;
}

/** A date as people in Almaty read it, with the ISO time in the tooltip. */
export function When({ at }: { at: Date }) {
  const text = new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Asia/Almaty',
    dateStyle: 'medium',
    timeStyle: 'short',
  }).format(at);
  return <time datetime={at.toISOString()}>{text}</time>;
}
