// One Hono app, built by createApp, that runs unchanged on Node and on Cloudflare Workers.
// Entries only wire things; domains do the work; every error leaves through one funnel.
//
// createApp sets the middleware every route shares and mounts the sub-apps. Each sub-app is an
// OpenAPIHono from http/api.ts newApi<Env>() with its own typed context, declares its routes with
// their full paths (a path in the source is the URL) and is mounted at '/' in the order below, which
// is the order its middleware runs in. A new area is one sub-app file and one mount line. Sub-apps
// set no onError or notFound: their errors and unknown paths reach this app's funnel.
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { intentRoutes } from './checkout/intents';
import { checkoutRoutes } from './checkout/routes';
import type { Config } from './config';
import { dashboardApp } from './dashboard/app';
import { newApi } from './http/api';
import { apiDocument, docRoutes } from './http/docs';
import type { BaseEnv } from './http/env';
import { refuseNul } from './http/nul';
import {
  allowedMethods,
  matchPath,
  pathMatchers,
  type RouteEntry,
  rejectUnknownQuery,
  routeEntries,
} from './http/openapi';
import { probeRoutes } from './http/probes';
import { onError, problemResponse } from './http/problem';
import { invoiceRoutes } from './invoices/routes';
import { newId } from './lib/ids';
import { rateRoutes } from './rates/routes';
import { regulatorApi } from './regulator/api';
import { regulatorConsole } from './regulator/console';
import type { Services } from './services';
import { assetRoutes } from './ui/assets';
import { checkoutPage } from './ui/checkout/routes';
import { registerEventPayloads, webhookRoutes } from './webhooks/routes';
import { sandboxReceiver } from './webhooks/sandbox-receiver';

export type ServicesProvider = Services | ((c: Context) => Services);

export function createApp(config: Config, provider: ServicesProvider) {
  const app = newApi<BaseEnv>();
  const resolve = typeof provider === 'function' ? provider : () => provider;

  app.use('*', async (c, next) => {
    const given = c.req.header('x-request-id');
    const requestId = given && /^[\w.-]{1,64}$/.test(given) ? given : newId('req');
    c.set('requestId', requestId);
    c.set('services', resolve(c));
    await next();
    const set: [string, string][] = [
      ['X-Request-Id', requestId],
      ['X-Content-Type-Options', 'nosniff'],
      ['Referrer-Policy', 'no-referrer'],
      ['X-Frame-Options', 'DENY'],
    ];
    if (!c.res.headers.has('Content-Security-Policy')) {
      set.push(['Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'"]);
    }
    // Straight onto the response: c.header() after next() re-wraps it in a new Response per call,
    // which on Node also turns a string body into a stream.
    try {
      for (const [k, v] of set) c.res.headers.set(k, v);
    } catch {
      for (const [k, v] of set) c.header(k, v); // immutable headers (a fetched Response)
    }
  });

  const tooLarge = (c: Context) =>
    problemResponse(c, 413, 'payload_too_large', `the body must be at most ${config.BODY_LIMIT_BYTES} bytes`);
  const limitStream = bodyLimit({ maxSize: config.BODY_LIMIT_BYTES, onError: tooLarge });
  app.use('/v1/*', async (c, next) => {
    // A Content-Length body is checked by its header (the HTTP parser reads exactly that many bytes)
    // without touching c.req.raw.body, which on Node builds a web stream and loses the fast body read.
    const length = c.req.header('content-length');
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      if (Number.parseInt(length, 10) > config.BODY_LIMIT_BYTES) return tooLarge(c);
      return next();
    }
    return limitStream(c, next);
  });
  // JSON only: anything else is refused before a validator can misread it as an empty object.
  app.use('/v1/*', async (c, next) => {
    if (c.req.method === 'POST' || c.req.method === 'PUT' || c.req.method === 'PATCH') {
      const ct = c.req.header('content-type') ?? '';
      const length = c.req.header('content-length');
      // Content-Length 0, or over real HTTP neither a length nor chunking (`curl -X POST`), is no
      // body: cancel or rotate-secret take none (test/http/empty-body.test.ts). Node's adapter gives
      // such a request a body stream all the same; a Request built in code is taken at its word.
      const overHttp = Boolean((c.env as { incoming?: unknown } | undefined)?.incoming);
      const chunked = c.req.header('transfer-encoding') !== undefined;
      const hasBody =
        length !== undefined && !chunked ? length !== '0' : chunked || (!overHttp && c.req.raw.body !== null);
      if (hasBody && !/^application\/json\s*(;|$)/i.test(ct)) {
        return problemResponse(c, 415, 'unsupported_media_type', 'send the body as application/json');
      }
    }
    await next();
  });

  app.use('*', refuseNul());
  const routes = () => routeEntries(app.openAPIRegistry.definitions);
  app.use('/v1/*', rejectUnknownQuery(routes));

  // Bearer auth (merchantAuth, regulatorAuth) and the pages' sessions are set by their sub-apps, on
  // their own paths only.
  app.route('/', probeRoutes());
  app.route(
    '/',
    invoiceRoutes({
      metadataLimitBytes: config.METADATA_LIMIT_BYTES,
      maxExpiryMinutes: config.INVOICE_EXPIRY_MAX_MINUTES,
    }),
  );
  app.route('/', checkoutRoutes());
  app.route('/', intentRoutes());
  registerEventPayloads(app.openAPIRegistry);
  app.route('/', webhookRoutes());
  app.route('/', regulatorApi());
  app.route('/', regulatorConsole(config));
  app.route('/', assetRoutes());
  app.route('/', checkoutPage());
  app.route('/', dashboardApp(config));
  // Where the demo merchant's webhooks land in the sandbox; no such route in testnet or mainnet.
  if (config.NETWORK_MODE === 'sandbox') app.route('/', sandboxReceiver());
  app.route('/', rateRoutes());
  app.route('/', docRoutes(apiDocument(app, config)));

  // A documented path asked with another method: 405 with Allow, not 404.
  let index: { entries: RouteEntry[]; matchers: ReturnType<typeof pathMatchers> } | undefined;
  app.notFound((c) => {
    if (!index) {
      const entries = routes();
      index = { entries, matchers: pathMatchers(entries.map((r) => r.path)) };
    }
    const template = matchPath(index.matchers, c.req.path);
    if (template) {
      const allow = allowedMethods(index.entries, template);
      return problemResponse(
        c,
        405,
        'method_not_allowed',
        `${c.req.method} is not allowed on ${c.req.path}; use ${allow.join(', ')}`,
        undefined,
        { Allow: allow.join(', ') },
      );
    }
    return problemResponse(c, 404, 'not_found', `no route for ${c.req.method} ${c.req.path}`);
  });
  app.onError((err, c) => onError(c.get('services')?.logger ?? console_logger)(err, c));
  return app;
}

const console_logger = {
  debug() {},
  info() {},
  warn: (m: string) => console.warn(m),
  error: (m: string, ctx?: Record<string, unknown>) => console.error(m, ctx),
};

export type App = ReturnType<typeof createApp>;
