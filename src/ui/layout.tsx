// The HTML frame of the checkout and the dashboard, and their security headers. Pages load only the
// gateway's own stylesheet and script: the CSP allows nothing inline and no other host.
import type { Context } from 'hono';
import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';
import { type AssetName, assetUrl } from './assets';

/** Scripts from this origin only (no inline, no eval); no framing; forms post only here. */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** Sets the page headers (app.ts adds nosniff, no-referrer and X-Frame-Options to every response). */
export function setPageHeaders(c: Context): void {
  c.header('Content-Security-Policy', PAGE_CSP);
  c.header('Cache-Control', 'no-store');
  c.header('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=()');
  c.header('Cross-Origin-Opener-Policy', 'same-origin');
}

export function Document(props: {
  lang: string;
  title: string;
  scripts?: readonly AssetName[];
  bodyClass?: string;
  children?: Child;
}) {
  return (
    <>
      {raw('<!DOCTYPE html>')}
      <html lang={props.lang}>
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="referrer" content="no-referrer" />
          <meta name="color-scheme" content="light" />
          <title>{props.title}</title>
          <link rel="icon" href={assetUrl('favicon.svg')} type="image/svg+xml" />
          <link rel="stylesheet" href={assetUrl('ui.css')} />
          {(props.scripts ?? []).map((s) => (
            <script src={assetUrl(s)} defer />
          ))}
        </head>
        <body class={props.bodyClass}>{props.children}</body>
      </html>
    </>
  );
}
