// Static assets of the pages, served by the gateway itself (no CDN, no third-party host): the stylesheet
// the checkout script (bundled from src/ui/checkout/client/ by scripts/build-ui.ts) and the icon. URLs
// carry a content hash, so a browser may keep them for a year.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { newApi } from '../http/api';
import { problemResponse } from '../http/problem';
import { FAVICON_SVG, faviconIco } from './favicon';
import { CHECKOUT_JS } from './generated/checkout-js';
import { UI_CSS } from './styles';

interface Asset {
  readonly body: string | Uint8Array<ArrayBuffer>;
  readonly type: string;
  readonly version: string;
}

const asset = (body: string | Uint8Array<ArrayBuffer>, type: string): Asset => ({
  body,
  type,
  version: bytesToHex(sha256(typeof body === 'string' ? utf8ToBytes(body) : body)).slice(0, 12),
});

const FAVICON_ICO = asset(faviconIco() as Uint8Array<ArrayBuffer>, 'image/x-icon');

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

/** /favicon.ico and the pages' versioned /assets/{name}. */
export function assetRoutes() {
  const app = newApi();
  // Where every browser looks first, whatever the page links: a 404 here is an error in its console.
  app.get('/favicon.ico', (c) => {
    c.header('Cache-Control', 'public, max-age=86400');
    c.header('Content-Type', FAVICON_ICO.type);
    return c.body(FAVICON_ICO.body as Uint8Array<ArrayBuffer>);
  });
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
    return c.body(a.body as string);
  });
  return app;
}
