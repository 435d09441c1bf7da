// One Hono app, built by createApp, that runs unchanged on Node and on Cloudflare Workers.
// Entries only wire things; domains do the work; every error leaves through one funnel.
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { isAssetId } from './chains/networks';
import { registerIntentRoutes } from './checkout/intents';
import { registerCheckoutRoutes } from './checkout/routes';
import type { Config } from './config';
import { registerDashboard } from './dashboard/routes';
import { schemaReady } from './db/ready';
import { type AppEnv, merchantAuth } from './http/auth';
import { renderDocs } from './http/docs';
import { refuseNul } from './http/nul';
import {
  allowedMethods,
  completeDocument,
  matchPath,
  pathMatchers,
  problemResponses,
  type RouteEntry,
  rejectUnknownQuery,
  routeEntries,
} from './http/openapi';
import { onError, problemResponse } from './http/problem';
import { registerInvoiceRoutes } from './invoices/routes';
import { type FieldError, ValidationError } from './lib/errors';
import { newId } from './lib/ids';
import { decimalToString } from './lib/money';
import { registerRegulatorConsole } from './regulator/console';
import { registerRegulatorApi } from './regulator/routes';
import type { Services } from './services';
import { registerAssets } from './ui/assets';
import { registerCheckoutPage } from './ui/checkout/routes';
import { registerWebhookRoutes } from './webhooks/routes';
import { registerSandboxReceiver } from './webhooks/sandbox-receiver';

export type ServicesProvider = Services | ((c: Context) => Services);

/** zod issues → field errors: `options[0]`, `metadata.table`, one entry per unknown key. */
export function zodIssuesToFieldErrors(
  issues: readonly {
    path: readonly PropertyKey[];
    message: string;
    code?: string;
    keys?: readonly string[];
  }[],
  prefix = '',
): FieldError[] {
  const out: FieldError[] = [];
  for (const i of issues) {
    const base = i.path.reduce<string>(
      (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
      prefix,
    );
    if (i.code === 'unrecognized_keys' && i.keys) {
      for (const k of i.keys) out.push({ path: base ? `${base}.${k}` : k, message: 'unknown field' });
    } else {
      out.push({ path: base || '(body)', message: i.message });
    }
  }
  return out;
}

export function createApp(config: Config, provider: ServicesProvider) {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const prefix = result.target === 'header' ? 'header' : '';
        throw new ValidationError(
          'the request has invalid fields',
          zodIssuesToFieldErrors(result.error.issues as never, prefix),
        );
      }
    },
  });
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
  // The document is complete once createApp returns; built once, on first use.
  let built: ReturnType<typeof openapiDoc> | undefined;
  const documentOnce = () => {
    built ??= openapiDoc();
    return built;
  };
  const routes = () => routeEntries(app.openAPIRegistry.definitions);
  app.use('/v1/*', rejectUnknownQuery(routes));

  const authed = merchantAuth();
  // '/v1/invoices/*' also matches '/v1/invoices': registering both would authenticate twice.
  app.use('/v1/invoices/*', authed);
  app.use('/v1/rates', authed);

  const probe = (path: string, operationId: string, summary: string) => ({
    method: 'get' as const,
    path,
    operationId,
    tags: ['Operations'],
    summary,
    security: [],
  });
  app.openapi(
    createRoute({
      ...probe('/healthz', 'getHealth', 'Liveness: the process answers'),
      responses: {
        200: {
          description: 'Alive',
          content: { 'application/json': { schema: z.object({ ok: z.literal(true) }) } },
        },
      },
    }),
    (c) => c.json({ ok: true as const }, 200),
  );
  const Ready = z.object({ ready: z.boolean() });
  app.openapi(
    createRoute({
      ...probe('/readyz', 'getReadiness', 'Readiness: the database answers and its schema is current'),
      responses: {
        200: { description: 'Ready', content: { 'application/json': { schema: Ready } } },
        503: { description: 'Not ready', content: { 'application/json': { schema: Ready } } },
      },
    }),
    async (c) => {
      const ready = await schemaReady(c.get('services').sql).catch(() => false);
      return ready ? c.json({ ready }, 200) : c.json({ ready }, 503);
    },
  );

  registerInvoiceRoutes(app, {
    metadataLimitBytes: config.METADATA_LIMIT_BYTES,
    maxExpiryMinutes: config.INVOICE_EXPIRY_MAX_MINUTES,
  });

  registerCheckoutRoutes(app);
  registerIntentRoutes(app);
  registerWebhookRoutes(app);
  registerRegulatorApi(app);
  registerRegulatorConsole(app, config);
  registerAssets(app);
  registerCheckoutPage(app);
  registerDashboard(app, config);
  // Where the demo merchant's webhooks land in the sandbox; no such route in testnet or mainnet.
  if (config.NETWORK_MODE === 'sandbox') registerSandboxReceiver(app);

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/rates',
      operationId: 'getRates',
      tags: ['Rates'],
      summary: 'Current tenge rates with their sources',
      security: [{ bearer: [] }],
      request: {
        query: z.object({ assets: z.string().max(200).optional().openapi({ example: 'BTC,ETH,USDC' }) }),
      },
      responses: {
        200: {
          description: 'Rates',
          content: {
            'application/json': {
              schema: z.object({
                data: z.array(
                  z.object({
                    asset: z.string(),
                    kztPerUnit: z.string(),
                    at: z.string(),
                    chain: z.array(z.string()),
                    sources: z.array(
                      z.object({ name: z.string(), pair: z.string(), value: z.string(), at: z.string() }),
                    ),
                  }),
                ),
              }),
            },
          },
        },
        ...problemResponses(422, 503),
      },
    }),
    async (c) => {
      const { assets = 'BTC,LTC,ETH,USDC,USDT' } = c.req.valid('query');
      const list = [
        ...new Set(
          assets
            .split(',')
            .map((s) => s.trim().toUpperCase())
            .filter(Boolean),
        ),
      ];
      const bad = list.filter((a) => !isAssetId(a));
      if (bad.length || list.length === 0) {
        throw new ValidationError('unknown asset', [
          { path: 'assets', message: `unknown asset(s): ${bad.join(', ') || '(none given)'}` },
        ]);
      }
      const rates = await c.get('services').rates.getRates(list as never);
      return c.json(
        {
          data: [...rates.values()].map((r) => ({
            asset: r.asset,
            kztPerUnit: decimalToString(r.kztPerUnit),
            at: new Date(r.atMs).toISOString(),
            chain: r.chain,
            sources: r.sources.map((s) => ({
              name: s.name,
              pair: s.pair,
              value: s.value,
              at: new Date(s.atMs).toISOString(),
            })),
          })),
        },
        200,
      );
    },
  );

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'sk_test_… / sk_live_…',
  });
  const openapiDoc = () =>
    completeDocument(
      app.getOpenAPI31Document({
        openapi: '3.1.0',
        info: {
          title: 'alatau-pay API',
          version: '1',
          description: 'Crypto payments priced in tenge for the merchants of Alatau City.',
          license: { name: 'MIT', url: 'https://spdx.org/licenses/MIT.html' },
        },
        servers: [{ url: config.PUBLIC_URL }],
      }),
    );
  app.get('/openapi.json', (c) => c.json(documentOnce()));
  app.get('/docs', (c) => {
    c.header(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    );
    return c.html(renderDocs(documentOnce() as never));
  });

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
