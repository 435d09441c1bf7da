// The app as a whole: operations endpoints, the OpenAPI document, and what every response carries.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { zodIssuesToFieldErrors } from '../src/http/api';
import { createInvoiceSchema } from '../src/invoices/schema';
import { createTestContext, createTestMerchant, jsonRequest, type TestContext } from './helpers/services';
import { expectProblem } from './invoices/api-support';

let ctx: TestContext;
let key: string;
const ENV = { NETWORK_MODE: 'sandbox', PUBLIC_URL: 'http://gateway.test', LOG_LEVEL: 'silent' };
beforeAll(async () => {
  ctx = await createTestContext(ENV);
  key = (await createTestMerchant(ctx)).apiKey.apiKey;
});
afterAll(() => ctx.close());

interface OpenApiDoc {
  openapi: string;
  info: { title: string };
  paths: Record<
    string,
    Record<string, { requestBody?: unknown; responses: Record<string, unknown>; security?: unknown }>
  >;
  components: {
    schemas: Record<string, { properties: Record<string, unknown>; required?: string[] }>;
    securitySchemes: Record<string, unknown>;
  };
}

describe('operations', () => {
  it('/healthz answers without the database', async () => {
    const res = await ctx.app.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it('/readyz is 200 when migrated, 503 when the schema is behind the code', async () => {
    const res = await ctx.app.request('/readyz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ready: true });
    const [latest] = await ctx.db.sql`select * from schema_migrations order by id desc limit 1`;
    await ctx.db.sql`delete from schema_migrations where id = ${latest!.id}`;
    try {
      const behind = await ctx.app.request('/readyz');
      expect(behind.status).toBe(503);
      expect(await behind.json()).toEqual({ ready: false });
    } finally {
      await ctx.db.sql`insert into schema_migrations ${ctx.db.sql(latest!)}`;
    }
    expect((await ctx.app.request('/readyz')).status).toBe(200);
  });

  it('an unknown route is a 404 problem', async () => {
    const p = await expectProblem(await ctx.app.request('/v2/nothing'), 404, 'not_found');
    expect(p.detail).toContain('/v2/nothing');
  });
});

describe('every response', () => {
  it('carries a request id (the caller’s when well-formed) and security headers', async () => {
    const res = await ctx.app.request('/healthz', { headers: { 'x-request-id': 'trace-abc.123' } });
    expect(res.headers.get('x-request-id')).toBe('trace-abc.123');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const bad = await ctx.app.request('/healthz', { headers: { 'x-request-id': 'a b<script>' } });
    expect(bad.headers.get('x-request-id')).toMatch(/^req_[0-9a-z]{26}$/);
    const a = (await ctx.app.request('/healthz')).headers.get('x-request-id');
    const b = (await ctx.app.request('/healthz')).headers.get('x-request-id');
    expect(a).not.toBe(b);
  });

  it('a problem names the same request id as its header', async () => {
    const res = await ctx.app.request('/v1/invoices', { headers: { 'x-request-id': 'my-trace-1' } });
    const p = await expectProblem(res, 401);
    expect(p.requestId).toBe('my-trace-1');
  });

  it('problems are never cached', async () => {
    const res = await ctx.app.request('/v1/invoices');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });
});

describe('GET /openapi.json', () => {
  let doc: OpenApiDoc;
  beforeAll(async () => {
    const res = await ctx.app.request('/openapi.json');
    expect(res.status).toBe(200);
    doc = (await res.json()) as OpenApiDoc;
  });

  it('is OpenAPI 3.1 with the invoice operations', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBeTruthy();
    expect(Object.keys(doc.paths['/v1/invoices']!).sort()).toEqual(['get', 'post']);
    expect(doc.paths['/v1/invoices/{id}']!.get).toBeDefined();
    expect(doc.paths['/v1/invoices/{id}/cancel']!.post).toBeDefined();
    expect(doc.paths['/v1/rates']!.get).toBeDefined();
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('describes the create body with the CreateInvoice schema that validates requests', () => {
    const post = doc.paths['/v1/invoices']!.post!;
    expect(post.requestBody).toEqual({
      required: true,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/CreateInvoice' } } },
    });
    const schema = doc.components.schemas.CreateInvoice!;
    const validating = createInvoiceSchema({ metadataLimitBytes: 8192, maxExpiryMinutes: 10080 });
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(validating.shape).sort());
    expect([...(schema.required ?? [])].sort()).toEqual(['amount', 'currency']);
    expect(schema.properties.currency).toMatchObject({ enum: ['KZT'] });
    expect(schema.properties.expiresInMinutes).toMatchObject({ type: 'integer', minimum: 1, maximum: 10080 });
    expect(post.responses['201']).toBeDefined();
    for (const status of ['400', '401', '409', '413', '415', '422', '503']) {
      expect(post.responses[status]).toMatchObject({
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      });
    }
    expect(doc.components.schemas.Invoice!.properties).toHaveProperty('paymentOptions');
    expect(Object.keys(doc.components.schemas.Problem!.properties)).toEqual(
      expect.arrayContaining(['type', 'title', 'status', 'detail', 'code', 'requestId', 'errors']),
    );
  });

  it('takes its limits from the configuration', async () => {
    const config = loadConfig({ ...ENV, INVOICE_EXPIRY_MAX_MINUTES: '60' });
    const small = createApp(config, { ...ctx.services, config });
    const d = (await (await small.request('/openapi.json')).json()) as OpenApiDoc;
    expect(d.components.schemas.CreateInvoice!.properties.expiresInMinutes).toMatchObject({ maximum: 60 });
    const res = await small.request(
      '/v1/invoices',
      jsonRequest(key, { amount: '15000.00', currency: 'KZT', expiresInMinutes: 61 }),
    );
    await expectProblem(res, 422, 'validation_failed');
    const fine = await small.request(
      '/v1/invoices',
      jsonRequest(key, { amount: '15000.00', currency: 'KZT', expiresInMinutes: 60 }),
    );
    expect(fine.status).toBe(201);
  });
});

describe('GET /docs', () => {
  it('renders the operations and schemas as HTML, without third-party scripts', async () => {
    const res = await ctx.app.request('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('POST /v1/invoices');
    expect(html).toContain('GET /v1/invoices/{id}');
    expect(html).toContain('CreateInvoice');
    expect(html).toContain('/openapi.json');
    expect(html).not.toMatch(/<script/i);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
  });
});

describe('GET /v1/rates', () => {
  it('returns the sandbox rates with their sources', async () => {
    const res = await ctx.app.request('/v1/rates?assets=btc,LTC', jsonRequest(key));
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      data: { asset: string; kztPerUnit: string; sources: { name: string }[] }[];
    };
    expect(body.data.map((r) => [r.asset, r.kztPerUnit])).toEqual([
      ['BTC', '50000000'],
      ['LTC', '50000'],
    ]);
    expect(body.data[0]!.sources[0]!.name).toBe('fixed');
  });

  it('refuses an unknown asset, naming the field', async () => {
    const p = await expectProblem(await ctx.app.request('/v1/rates?assets=BTC,DOGE', jsonRequest(key)), 422);
    expect(p.errors).toEqual([{ path: 'assets', message: expect.stringContaining('DOGE') }]);
  });
});

describe('zodIssuesToFieldErrors', () => {
  it('builds paths with indexes and dots, one entry per unknown key', () => {
    expect(
      zodIssuesToFieldErrors([
        { path: ['options', 0], message: 'bad' },
        { path: ['metadata', 'table'], message: 'too long' },
        { path: [], message: 'not an object' },
        { path: [], message: 'unknown', code: 'unrecognized_keys', keys: ['a', 'b'] },
        { path: ['x'], message: 'unknown', code: 'unrecognized_keys', keys: ['y'] },
      ]),
    ).toEqual([
      { path: 'options[0]', message: 'bad' },
      { path: 'metadata.table', message: 'too long' },
      { path: '(body)', message: 'not an object' },
      { path: 'a', message: 'unknown field' },
      { path: 'b', message: 'unknown field' },
      { path: 'x.y', message: 'unknown field' },
    ]);
    expect(zodIssuesToFieldErrors([{ path: ['idempotency-key'], message: 'm' }], 'header')).toEqual([
      { path: 'header.idempotency-key', message: 'm' },
    ]);
  });
});

describe('over real HTTP on Node', () => {
  let url = '';
  let server: { close(cb: () => void): void } | undefined;
  beforeAll(async () => {
    const { serve } = await import('@hono/node-server');
    url = await new Promise<string>((resolve) => {
      server = serve({ fetch: ctx.app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
        resolve(`http://127.0.0.1:${info.port}`),
      );
    });
  });
  afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));
  const post = (body: BodyInit, headers: Record<string, string> = {}) =>
    fetch(`${url}/v1/invoices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
      body,
      duplex: 'half',
    } as RequestInit);

  it('creates with a Content-Length body and sends the security headers', async () => {
    const res = await post(JSON.stringify({ amount: '1500.00', currency: 'KZT' }));
    expect(res.status).toBe(201);
    expect(((await res.json()) as { id: string }).id).toMatch(/^inv_/);
    expect(res.headers.get('location')).toMatch(/^\/v1\/invoices\/inv_/);
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('refuses a body over the limit by its Content-Length, and a chunked one by counting', async () => {
    const big = JSON.stringify({ amount: '1500.00', currency: 'KZT', description: 'x'.repeat(70 * 1024) });
    await expectProblem(await post(big), 413, 'payload_too_large');
    const bytes = new TextEncoder().encode(big);
    const chunked = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 8192) c.enqueue(bytes.subarray(i, i + 8192));
        c.close();
      },
    });
    await expectProblem(await post(chunked), 413, 'payload_too_large');
    await expectProblem(await post('{}', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
  });

  it('keeps a route’s own Content-Security-Policy', async () => {
    const res = await fetch(`${url}/docs`);
    expect(res.headers.get('content-security-policy')).toContain("style-src 'unsafe-inline'");
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
  });
});
