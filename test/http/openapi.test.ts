// The OpenAPI document is the whole contract (issue 15 item 6): linted by Redocly's recommended rules,
// complete (operationIds, security, shared problems, headers, typed checkout, webhook payloads), and
// the behaviours it promises: unknown query parameters refused, 405 with Allow, Idempotency-Key on
// POST /v1/webhooks. The response checker itself is tested to fail on what it must catch.
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '../../src/invoices/state';
import { generateEncryptionKey } from '../../src/webhooks/secrets';
import { type ContractChecker, checkContract, contractChecker } from '../helpers/contract';
import { createTestContext, createTestMerchant, jsonRequest, type TestContext } from '../helpers/services';

// biome-ignore lint/suspicious/noExplicitAny: the document is plain JSON
type Json = any;

let ctx: TestContext;
let doc: Json;
let checker: ContractChecker;
let key: string;
beforeAll(async () => {
  ctx = await createTestContext({
    WEBHOOK_ENCRYPTION_KEY: generateEncryptionKey(),
    WEBHOOK_ALLOW_PRIVATE: 'true',
  });
  checker = await checkContract(ctx.app);
  doc = await (await ctx.app.request('/openapi.json')).json();
  key = (await createTestMerchant(ctx)).apiKey.apiKey;
});
afterAll(() => ctx.close());

const operations = () =>
  Object.entries<Json>(doc.paths).flatMap(([path, item]) =>
    Object.entries<Json>(item).map(([method, op]) => ({ path, method, op })),
  );

/** Warnings we keep, each with its reason. Anything else (and any error) fails. */
const ACCEPTED_WARNINGS: Record<string, string> = {
  'operation-4xx-response #/paths/~1healthz/get/responses':
    'a liveness probe takes no input and has no 4xx answer to declare',
  'operation-4xx-response #/paths/~1readyz/get/responses':
    'a readiness probe takes no input; not ready is 503, declared',
};

describe('the document', () => {
  it('passes Redocly lint (recommended): no errors, only the accepted warnings', async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({
      source: JSON.stringify(doc),
      absoluteRef: 'openapi.json',
      config,
    });
    const errors = problems.filter((p) => p.severity === 'error').map((p) => `${p.ruleId}: ${p.message}`);
    expect(errors).toEqual([]);
    const warnings = problems
      .filter((p) => p.severity === 'warn')
      .map((p) => `${p.ruleId} ${p.location[0]?.pointer}`)
      .filter((w) => !(w in ACCEPTED_WARNINGS));
    expect(warnings).toEqual([]);
  });

  it('names every operation once and says who may call it', () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThan(20);
    const ids = ops.map(({ op }) => op.operationId);
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z0-9]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { path, op } of ops) expect(Array.isArray(op.security), path).toBe(true);
    const publicOps = ops
      .filter(({ op }) => op.security.length === 0)
      .map(({ method, path }) => `${method} ${path}`);
    expect(publicOps.sort()).toEqual(
      [
        'get /healthz',
        'get /readyz',
        'get /v1/checkout/{id}',
        'get /v1/checkout/{id}/events',
        'post /v1/checkout/{id}/intents',
      ].sort(),
    );
  });

  it('declares the shared problems where they can happen, and X-Request-Id on every answer', () => {
    for (const { path, method, op } of operations()) {
      const statuses = Object.keys(op.responses);
      const where = `${method} ${path}`;
      if (op.security.length > 0)
        expect(statuses, where).toEqual(expect.arrayContaining(['401', '403', '429']));
      if (path.startsWith('/v1/'))
        expect(statuses, where).toEqual(expect.arrayContaining(['400', '500', '503']));
      if (op.parameters?.length || op.requestBody) expect(statuses, where).toContain('422');
      if (op.requestBody) expect(statuses, where).toEqual(expect.arrayContaining(['413', '415']));
      if (op.responses['429']) expect(op.responses['429'].headers['Retry-After'].required).toBe(true);
      for (const r of Object.values<Json>(op.responses)) {
        expect(r.headers['X-Request-Id'], where).toEqual({ $ref: '#/components/headers/RequestId' });
      }
    }
    for (const path of ['/v1/invoices', '/v1/webhooks']) {
      const created = doc.paths[path].post.responses['201'].headers;
      expect(Object.keys(created)).toEqual(expect.arrayContaining(['Location', 'Idempotent-Replayed']));
    }
  });

  it('types the checkout body and lists every event payload under webhooks', () => {
    const checkout = doc.paths['/v1/checkout/{id}'].get.responses['200'].content['application/json'].schema;
    expect(checkout).toEqual({ $ref: '#/components/schemas/Checkout' });
    const props = doc.components.schemas.Checkout.properties;
    expect(Object.keys(props)).toEqual(
      expect.arrayContaining(['status', 'amountDue', 'paymentOptions', 'payments', 'serverTime']),
    );
    expect(Object.keys(doc.webhooks).sort()).toEqual([...EVENT_TYPES].sort());
    const settled = doc.webhooks['invoice.settled'].post;
    const body = settled.requestBody.content['application/json'].schema;
    expect(body.properties.type).toMatchObject({ enum: ['invoice.settled'] });
    expect(body.properties.data.properties.invoice).toEqual({ $ref: '#/components/schemas/Invoice' });
    expect(settled.parameters.map((p: Json) => p.name)).toEqual(
      expect.arrayContaining(['webhook-id', 'webhook-timestamp', 'webhook-signature']),
    );
  });
});

describe('unknown query parameters', () => {
  it('are refused with 400 naming them, as Stripe does, not silently ignored', async () => {
    const res = await ctx.app.request('/v1/invoices?limit=5&stauts=new&stauts=x', jsonRequest(key));
    expect(res.status).toBe(400);
    const p = (await res.json()) as Json;
    expect(p.code).toBe('unknown_parameter');
    expect(p.errors).toEqual([{ path: 'query.stauts', message: 'unknown parameter' }]);
    const ok = await ctx.app.request('/v1/invoices?limit=5&status=new', jsonRequest(key));
    expect(ok.status).toBe(200);
  });

  it('on an operation without query parameters too, public or not', async () => {
    const pub = await ctx.app.request('/v1/checkout/inv_01jd8x3q4m5n6p7r8s9t0v1w2x?debug=1');
    expect(pub.status).toBe(400);
    expect(((await pub.json()) as Json).errors[0].path).toBe('query.debug');
    const hooks = await ctx.app.request('/v1/webhooks?all=true', jsonRequest(key));
    expect(hooks.status).toBe(400);
  });
});

describe('a method a resource does not have', () => {
  it('answers 405 with Allow, not 404', async () => {
    const res = await ctx.app.request('/v1/invoices/inv_01jd8x3q4m5n6p7r8s9t0v1w2x', {
      method: 'PUT',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(((await res.json()) as Json).code).toBe('method_not_allowed');
    const pub = await ctx.app.request('/v1/checkout/inv_01jd8x3q4m5n6p7r8s9t0v1w2x', { method: 'DELETE' });
    expect(pub.status).toBe(405);
    const hooks = await ctx.app.request('/v1/webhooks', {
      method: 'PATCH',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(hooks.headers.get('allow')).toBe('GET, HEAD, POST');
    // A path nobody documents stays 404.
    expect((await ctx.app.request('/v1/nothing-here', { method: 'PUT' })).status).toBe(404);
  });
});

describe('POST /v1/webhooks with Idempotency-Key', () => {
  const post = (k: string, body: unknown, idem?: string) =>
    ctx.app.request('/v1/webhooks', jsonRequest(k, body, idem ? { 'idempotency-key': idem } : {}));

  it('replays the first answer (same endpoint, same secret) and creates one endpoint', async () => {
    const m = (await createTestMerchant(ctx)).apiKey.apiKey;
    const body = { url: 'http://127.0.0.1:9/hooks', events: ['invoice.settled'] };
    const first = await post(m, body, 'hook-1');
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const a = (await first.json()) as Json;
    const again = await post(m, body, 'hook-1');
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('location')).toBe(`/v1/webhooks/${a.id}`);
    expect(await again.json()).toEqual(a);
    const list = (await (await ctx.app.request('/v1/webhooks', jsonRequest(m))).json()) as Json;
    expect(list.data.map((e: Json) => e.id)).toEqual([a.id]);
    // The stored answer never holds the secret in plaintext.
    const rows = await ctx.db.sql`select response_body::text as b from idempotency_keys where key = 'hook-1'`;
    expect(rows).toHaveLength(1);
    expect(String(rows[0]!.b)).not.toContain(a.secret.slice(6));
    // Same key, other body: 422; without a key every POST creates.
    const other = await post(m, { url: 'http://127.0.0.1:9/other' }, 'hook-1');
    expect(other.status).toBe(422);
    expect(((await other.json()) as Json).code).toBe('idempotency_key_reused');
    expect((await post(m, body)).status).toBe(201);
    expect((await post(m, body)).status).toBe(201);
    const after = (await (await ctx.app.request('/v1/webhooks', jsonRequest(m))).json()) as Json;
    expect(after.data).toHaveLength(3);
  });

  it('30 parallel identical requests create one endpoint; the others replay it or are told to retry', async () => {
    const m = (await createTestMerchant(ctx)).apiKey.apiKey;
    const body = { url: 'http://127.0.0.1:9/hooks' };
    const answers = await Promise.all(Array.from({ length: 30 }, () => post(m, body, 'burst')));
    const statuses = answers.map((r) => r.status);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    const ids = new Set(
      await Promise.all(
        answers.filter((r) => r.status === 201).map(async (r) => ((await r.json()) as Json).id),
      ),
    );
    expect(ids.size).toBe(1);
    const list = (await (await ctx.app.request('/v1/webhooks', jsonRequest(m))).json()) as Json;
    expect(list.data).toHaveLength(1);
  });

  it('refuses a malformed key with 400 before creating anything', async () => {
    const m = (await createTestMerchant(ctx)).apiKey.apiKey;
    const res = await post(m, { url: 'http://127.0.0.1:9/hooks' }, 'bad key with spaces');
    expect(res.status).toBe(400);
    const list = (await (await ctx.app.request('/v1/webhooks', jsonRequest(m))).json()) as Json;
    expect(list.data).toHaveLength(0);
  });
});

describe('the response checker', () => {
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json', 'x-request-id': 'req_1', ...headers },
    });

  it('accepts what the document declares', async () => {
    await contractChecker(doc).check('GET', '/healthz', json(200, { ok: true }));
  });

  it('fails an undeclared status, a wrong body, a wrong media type and a missing required header', async () => {
    const c = contractChecker(doc);
    await expect(c.check('GET', '/healthz', json(418, { ok: true }))).rejects.toThrow(/not declared/);
    await expect(c.check('GET', '/healthz', json(200, { ok: false }))).rejects.toThrow(/does not match/);
    await expect(
      c.check(
        'GET',
        '/healthz',
        new Response('ok', { headers: { 'content-type': 'text/plain', 'x-request-id': 'r' } }),
      ),
    ).rejects.toThrow(/content-type text\/plain/);
    await expect(
      c.check(
        'GET',
        '/healthz',
        new Response('{"ok":true}', { headers: { 'content-type': 'application/json' } }),
      ),
    ).rejects.toThrow(/X-Request-Id missing/);
    await expect(c.check('PUT', '/v1/invoices', json(404, {}))).rejects.toThrow(/405/);
  });

  it('saw the answers this file exercised', () => {
    expect(checker.seen.get('POST /v1/webhooks 201')).toBeGreaterThan(0);
    expect(checker.seen.get('GET /v1/invoices 400')).toBeGreaterThan(0);
  });
});
