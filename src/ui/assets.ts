// Static assets of the pages, served by the gateway itself (no CDN, no third-party host): the stylesheet
// the checkout script (bundled from src/ui/checkout/client/ by scripts/build-ui.ts) and the icon. URLs
// carry a content hash, so a browser may keep them for a year.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import type { Hono } from 'hono';
import { problemResponse } from '../http/problem';
import { CHECKOUT_JS } from './generated/checkout-js';
import { UI_CSS } from './styles';

interface Asset {
  readonly body: string;
  readonly type: string;
  readonly version: string;
}

const asset = (body: string, type: string): Asset => ({
  body,
  type,
  version: bytesToHex(sha256(utf8ToBytes(body))).slice(0, 12),
});

// A mountain under a sun: Alatau. Drawn by hand, 32×32.
const FAVICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">' +
  '<rect width="32" height="32" rx="7" fill="#0b5cad"/>' +
  '<circle cx="22" cy="10" r="4" fill="#f0a000"/><path d="M3 26 12 12l5 7 3-4 9 11z" fill="#fff"/></svg>';

const ASSETS: Readonly<Record<string, Asset>> = {
  'ui.css': asset(UI_CSS, 'text/css; charset=utf-8'),
  'favicon.svg': asset(FAVICON_SVG, 'image/svg+xml'),
  'checkout.js': asset(CHECKOUT_JS, 'text/javascript; charset=utf-8'),
};

export type AssetName = 'ui.css' | 'checkout.js' | 'favicon.svg';

/** `/assets/ui.css?v=<hash>`: a new URL whenever the content changes. */
export function assetUrl(name: AssetName): string {
  return `/assets/${name}?v=${ASSETS[name]!.version}`;
}

// biome-ignore lint/suspicious/noExplicitAny: any Hono app (the OpenAPI one included)
export function registerAssets(app: Hono<any>) {
  app.get('/assets/:name', (c) => {
    const name = c.req.param('name');
    // Own keys only: "constructor" or "__proto__" must be a 404, not Object's members.
    const a = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (!a) return problemResponse(c, 404, 'not_found', 'no such asset');
    const etag = `"${a.version}"`;
    const immutable = c.req.query('v') === a.version;
    c.header('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'public, max-age=300');
    c.header('ETag', etag);
    if (c.req.header('if-none-match') === etag) return c.body(null, 304);
    c.header('Content-Type', a.type);
    return c.body(a.body);
  });
}
