// The merchant webhook API (SPEC section 6) in-process: validation, SSRF refusals at registration,
// secrets shown once and never stored in plaintext, tenant isolation, the delivery log's pages.
import { base64 } from '@scure/base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { EVENT_TYPES } from '../../src/invoices/state';
import { fanOut } from '../../src/webhooks/outbox';
import { MAX_ENDPOINTS_PER_MERCHANT } from '../../src/webhooks/repository';
import { createSecretBox, generateEncryptionKey } from '../../src/webhooks/secrets';
import { checkContract } from '../helpers/contract';
import { createTestContext, type TestContext } from '../helpers/services';
import { webhookMerchant } from './context';

const ENV = { WEBHOOK_ENCRYPTION_KEY: generateEncryptionKey(), WEBHOOK_ALLOW_PRIVATE: 'true' };
const HOOK = 'http://127.0.0.1:9/hooks'; // never called here: nothing ticks in this file

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext(ENV);
  await checkContract(ctx.app); // every answer below is checked against /openapi.json
});
afterAll(() => ctx.close());

// biome-ignore lint/suspicious/noExplicitAny: JSON answers are checked field by field
type Json = any;

async function call(
  key: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  app = ctx.app,
): Promise<{ status: number; body: Json; headers: Headers }> {
  const res = await app.request(path, {
    method,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

describe('POST /v1/webhooks', () => {
  it('creates an endpoint and shows its secret once', async () => {
    const m = await webhookMerchant(ctx);
    const res = await call(m.key, 'POST', '/v1/webhooks', { url: HOOK });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ url: HOOK, events: [], status: 'enabled', disabledAt: null });
    expect(res.body.id).toMatch(/^whk_[0-9a-z]{26}$/);
    expect(res.headers.get('location')).toBe(`/v1/webhooks/${res.body.id}`);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const secret = res.body.secret as string;
    expect(secret).toMatch(/^whsec_/);
    const bytes = base64.decode(secret.slice(6)).length;
    expect(bytes).toBeGreaterThanOrEqual(24);
    expect(bytes).toBeLessThanOrEqual(64);

    const list = await call(m.key, 'GET', '/v1/webhooks');
    const one = await call(m.key, 'GET', `/v1/webhooks/${res.body.id}`);
    for (const shown of [list, one]) {
      expect(shown.status).toBe(200);
      expect(JSON.stringify(shown.body)).not.toContain(secret);
      expect(JSON.stringify(shown.body)).not.toContain('"secret"');
    }
    expect(list.body.data.map((e: Json) => e.id)).toEqual([res.body.id]);
    expect(one.body).toMatchObject({ id: res.body.id, url: HOOK, status: 'enabled' });
  });

  it('keeps the subscribed event types, without duplicates', async () => {
    const m = await webhookMerchant(ctx);
    const res = await call(m.key, 'POST', '/v1/webhooks', {
      url: HOOK,
      events: ['invoice.settled', 'payment.reorged', 'invoice.settled'],
    });
    expect(res.status).toBe(201);
    expect(res.body.events).toEqual(['invoice.settled', 'payment.reorged']);
  });

  it.each([
    [{}, 'url', /required/i],
    [{ url: 42 }, 'url', /string/i],
    [
      { url: HOOK, events: ['invoice.paid'] },
      'events[0]',
      /unknown event type "invoice\.paid".*invoice\.settled/,
    ],
    [{ url: HOOK, events: 'invoice.settled' }, 'events', /array/],
    [{ url: HOOK, secret: 'mine' }, 'secret', /unknown field/],
    [{ url: 'not a url' }, 'url', /not a valid absolute URL/],
    [{ url: 'ftp://shop.example/hooks' }, 'url', /http or https/],
    [{ url: 'https://user:pw@shop.example/hooks' }, 'url', /user name or password/],
    [{ url: `https://shop.example/${'a'.repeat(2000)}` }, 'url', /2000/],
  ])('refuses %j with 422 naming %s', async (body, path, message) => {
    const m = await webhookMerchant(ctx);
    const res = await call(m.key, 'POST', '/v1/webhooks', body);
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const err = res.body.errors.find((e: Json) => e.path === path);
    expect(err?.message).toMatch(message);
    const [{ n }] = (await ctx.db.sql`select count(*)::int as n from webhook_endpoints
      where merchant_id = ${m.id}`) as unknown as [{ n: number }];
    expect(n).toBe(0);
  });

  it('refuses private, loopback and link-local receivers when WEBHOOK_ALLOW_PRIVATE is false', async () => {
    const config = loadConfig({ ...ENV, WEBHOOK_ALLOW_PRIVATE: 'false', LOG_LEVEL: 'silent' });
    expect(config.WEBHOOK_ALLOW_PRIVATE).toBe(false);
    const strict = createApp(config, { ...ctx.services, config });
    await checkContract(strict);
    const m = await webhookMerchant(ctx);
    for (const url of [
      'http://127.0.0.1:8080/hooks',
      'http://10.1.2.3/hooks',
      'http://192.168.0.10/hooks',
      'http://[::1]/hooks',
      'http://169.254.169.254/latest/meta-data',
      'http://2130706433/hooks',
      'http://localhost:3000/hooks',
    ]) {
      const res = await call(m.key, 'POST', '/v1/webhooks', { url }, strict);
      expect(res.status, url).toBe(422);
      expect(res.body.code).toBe('webhook_url_refused');
      expect(res.body.errors[0].path).toBe('url');
    }
    // A public address literal needs no lookup and is accepted.
    const ok = await call(m.key, 'POST', '/v1/webhooks', { url: 'https://93.184.216.34/hooks' }, strict);
    expect(ok.status).toBe(201);
    const list = await call(m.key, 'GET', '/v1/webhooks', undefined, strict);
    expect(list.body.data).toHaveLength(1);
  });

  it(`allows at most ${MAX_ENDPOINTS_PER_MERCHANT} endpoints per merchant`, async () => {
    const m = await webhookMerchant(ctx);
    for (let i = 0; i < MAX_ENDPOINTS_PER_MERCHANT; i++) {
      expect((await call(m.key, 'POST', '/v1/webhooks', { url: `${HOOK}/${i}` })).status).toBe(201);
    }
    const over = await call(m.key, 'POST', '/v1/webhooks', { url: HOOK });
    expect(over.status).toBe(409);
    expect(over.body.code).toBe('webhook_endpoint_limit');
    const { body } = await call(m.key, 'GET', '/v1/webhooks');
    expect((await call(m.key, 'DELETE', `/v1/webhooks/${body.data[0].id}`)).status).toBe(204);
    expect((await call(m.key, 'POST', '/v1/webhooks', { url: HOOK })).status).toBe(201);
  });

  it('needs an API key', async () => {
    expect((await call(undefined, 'POST', '/v1/webhooks', { url: HOOK })).status).toBe(401);
    expect((await call(undefined, 'GET', '/v1/webhooks')).status).toBe(401);
  });
});

describe('secrets at rest', () => {
  it('stores only ciphertexts bound to the endpoint, for the current and the rotated-out secret', async () => {
    const m = await webhookMerchant(ctx);
    const created = await call(m.key, 'POST', '/v1/webhooks', { url: HOOK });
    const first = created.body.secret as string;
    const rotated = await call(m.key, 'POST', `/v1/webhooks/${created.body.id}/rotate-secret`);
    const second = rotated.body.secret as string;

    const rows = await ctx.db.sql`select row_to_json(e)::text as t from webhook_endpoints e`;
    const dump = rows.map((r) => r.t as string).join('\n');
    for (const secret of [first, second]) {
      expect(dump).not.toContain(secret);
      expect(dump).not.toContain(secret.slice('whsec_'.length));
    }
    const [row] = await ctx.db.sql`select secret_ciphertext, previous_secret_ciphertext
      from webhook_endpoints where id = ${created.body.id}`;
    const box = ctx.services.secretBox;
    expect(await box.decrypt(row!.secret_ciphertext, created.body.id)).toBe(second);
    expect(await box.decrypt(row!.previous_secret_ciphertext, created.body.id)).toBe(first);
    // Another key, or the ciphertext moved to another endpoint, opens nothing.
    await expect(
      createSecretBox(generateEncryptionKey()).decrypt(row!.secret_ciphertext, created.body.id),
    ).rejects.toThrow(/could not be decrypted/);
    await expect(box.decrypt(row!.secret_ciphertext, 'whk_other')).rejects.toThrow(/could not be decrypted/);
  });

  it('a second rotation drops the oldest secret at once', async () => {
    const m = await webhookMerchant(ctx);
    const created = await call(m.key, 'POST', `/v1/webhooks`, { url: HOOK });
    const id = created.body.id as string;
    const b = (await call(m.key, 'POST', `/v1/webhooks/${id}/rotate-secret`)).body;
    const c = (await call(m.key, 'POST', `/v1/webhooks/${id}/rotate-secret`)).body;
    expect(c.secret).not.toBe(b.secret);
    const [row] = await ctx.db.sql`select secret_ciphertext, previous_secret_ciphertext
      from webhook_endpoints where id = ${id}`;
    expect(await ctx.services.secretBox.decrypt(row!.previous_secret_ciphertext, id)).toBe(b.secret);
    expect(await ctx.services.secretBox.decrypt(row!.secret_ciphertext, id)).toBe(c.secret);
  });

  it('erases the secrets of a deleted endpoint', async () => {
    const m = await webhookMerchant(ctx);
    const { body } = await call(m.key, 'POST', '/v1/webhooks', { url: HOOK });
    await call(m.key, 'POST', `/v1/webhooks/${body.id}/rotate-secret`);
    expect((await call(m.key, 'DELETE', `/v1/webhooks/${body.id}`)).status).toBe(204);
    const [row] = await ctx.db.sql`select secret_ciphertext, previous_secret_ciphertext, deleted_at
      from webhook_endpoints where id = ${body.id}`;
    expect(row).toMatchObject({ secret_ciphertext: null, previous_secret_ciphertext: null });
    expect(row!.deleted_at).not.toBeNull();
    expect((await call(m.key, 'GET', `/v1/webhooks/${body.id}`)).status).toBe(404);
    expect((await call(m.key, 'DELETE', `/v1/webhooks/${body.id}`)).status).toBe(404);
    expect((await call(m.key, 'GET', '/v1/webhooks')).body.data).toEqual([]);
  });
});

describe('tenant isolation', () => {
  it("answers 404 for another merchant's endpoint on every route", async () => {
    const owner = await webhookMerchant(ctx);
    const other = await webhookMerchant(ctx);
    const { body } = await call(owner.key, 'POST', '/v1/webhooks', { url: HOOK });
    const id = body.id as string;
    await call(owner.key, 'POST', '/v1/invoices', { amount: '15000.00', currency: 'KZT' });
    await fanOut(ctx.db.sql);
    const deliveries = await call(owner.key, 'GET', `/v1/webhooks/${id}/deliveries`);
    const deliveryId = deliveries.body.data[0].id as string;

    for (const [method, path] of [
      ['GET', `/v1/webhooks/${id}`],
      ['DELETE', `/v1/webhooks/${id}`],
      ['POST', `/v1/webhooks/${id}/rotate-secret`],
      ['GET', `/v1/webhooks/${id}/deliveries`],
      ['POST', `/v1/webhooks/${id}/deliveries/${deliveryId}/redeliver`],
    ] as const) {
      const res = await call(other.key, method, path);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.code).toBe('webhook_endpoint_not_found');
    }
    expect((await call(other.key, 'GET', '/v1/webhooks')).body.data).toEqual([]);
    // Nothing changed for the owner.
    const still = await call(owner.key, 'GET', `/v1/webhooks/${id}`);
    expect(still.body).toMatchObject({ id, status: 'enabled', previousSecretExpiresAt: null });
    // The owner's delivery id under the other merchant's own endpoint is not found either.
    const own = await call(other.key, 'POST', '/v1/webhooks', { url: HOOK });
    const cross = await call(
      other.key,
      'POST',
      `/v1/webhooks/${own.body.id}/deliveries/${deliveryId}/redeliver`,
    );
    expect(cross.status).toBe(404);
    expect(cross.body.code).toBe('webhook_delivery_not_found');
  });
});

describe('GET /v1/webhooks/{id}/deliveries', () => {
  it('pages newest first with a cursor, filters by status, and validates its query', async () => {
    const m = await webhookMerchant(ctx);
    const { body } = await call(m.key, 'POST', '/v1/webhooks', { url: HOOK });
    for (let i = 0; i < 5; i++)
      await call(m.key, 'POST', '/v1/invoices', { amount: '15000.00', currency: 'KZT' });
    await fanOut(ctx.db.sql);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
      const page = await call(m.key, 'GET', `/v1/webhooks/${body.id}/deliveries${q}`);
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      for (const d of page.body.data) {
        expect(d).toMatchObject({
          endpointId: body.id,
          type: 'invoice.created',
          status: 'pending',
          attempts: [],
        });
        expect(d.payload.data.invoice.id).toBe(d.invoiceId);
        seen.push(d.id);
      }
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(5);
    expect([...seen].sort().reverse()).toEqual(seen);

    const pending = await call(m.key, 'GET', `/v1/webhooks/${body.id}/deliveries?status=pending`);
    expect(pending.body.data).toHaveLength(5);
    const done = await call(m.key, 'GET', `/v1/webhooks/${body.id}/deliveries?status=succeeded`);
    expect(done.body.data).toEqual([]);
    for (const q of ['?limit=0', '?limit=abc', '?status=sent', '?cursor=inv_1']) {
      const bad = await call(m.key, 'GET', `/v1/webhooks/${body.id}/deliveries${q}`);
      expect(bad.status, q).toBe(422);
      expect(bad.body.errors[0].path).toBe(q.slice(1, q.indexOf('=')));
    }
  });
});

describe('OpenAPI', () => {
  it('documents every webhook route from the validating schemas', async () => {
    const doc = (await call(undefined, 'GET', '/openapi.json')).body;
    for (const [path, method] of [
      ['/v1/webhooks', 'post'],
      ['/v1/webhooks', 'get'],
      ['/v1/webhooks/{id}', 'get'],
      ['/v1/webhooks/{id}', 'delete'],
      ['/v1/webhooks/{id}/rotate-secret', 'post'],
      ['/v1/webhooks/{id}/deliveries', 'get'],
      ['/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver', 'post'],
    ] as const) {
      expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    }
    const create = doc.components.schemas.CreateWebhook;
    expect(create.properties.events.items.enum).toEqual([...EVENT_TYPES]);
    expect(JSON.stringify(doc.components.schemas.CreatedWebhook)).toContain('"required":["secret"]');
  });
});
