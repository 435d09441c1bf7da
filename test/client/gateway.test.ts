// @alatau-pay/client against the running gateway: the app on a real 127.0.0.1 port over a fresh
// database, called through the package's generated methods; a real webhook delivery is checked with
// the package's verifier.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AlatauApiError,
  AlatauClient,
  AlatauConnectionError,
  type Invoice,
  verifyWebhook,
  WebhookVerificationError,
} from '../../packages/client/src/index.js';
import { runWebhookTick } from '../../src/webhooks/dispatch';
import { generateEncryptionKey } from '../../src/webhooks/secrets';
import { createTestContext, createTestMerchant, type TestContext } from '../helpers/services';
import { type Receiver, startReceiver } from '../webhooks/receiver';

const ENV = {
  WEBHOOK_ENCRYPTION_KEY: generateEncryptionKey(),
  WEBHOOK_ALLOW_PRIVATE: 'true',
  WEBHOOK_RETRY_SCHEDULE: '0,0,0',
  WEBHOOK_RETRY_JITTER_PERCENT: '0',
};

let ctx: TestContext;
let server: ReturnType<typeof serve>;
let baseUrl: string;
let client: AlatauClient;
let receiver: Receiver;

beforeAll(async () => {
  ctx = await createTestContext(ENV);
  baseUrl = await new Promise<string>((resolve) => {
    server = serve({ fetch: ctx.app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve(`http://127.0.0.1:${info.port}`),
    );
  });
  const { apiKey } = await createTestMerchant(ctx);
  client = new AlatauClient({ baseUrl, apiKey: apiKey.apiKey, timeoutMs: 10_000 });
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await ctx?.close();
});

/** The error a promise rejects with (fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (err: unknown) => err,
  );
}

describe('the generated API client', () => {
  it('creates, reads, lists and cancels an invoice', async () => {
    const created: Invoice = await client.createInvoice({
      amount: '5000.00',
      currency: 'KZT',
      orderId: 'client-1',
      metadata: { cart: 'c-7' },
    });
    expect(created).toMatchObject({ status: 'new', amount: '5000.00', orderId: 'client-1' });
    expect(created.paymentOptions.length).toBeGreaterThan(0);

    expect(await client.getInvoice(created.id)).toEqual(created);

    const listed = await client.listInvoices({ orderId: 'client-1' });
    expect(listed.data.map((i) => i.id)).toEqual([created.id]);

    const cancelled = await client.cancelInvoice(created.id);
    expect(cancelled.id).toBe(created.id);
    expect(cancelled.status).toBe('invalid');
    expect((await client.getInvoice(created.id)).status).toBe('invalid');
  });

  it('sends Idempotency-Key: a retried create answers with the first invoice', async () => {
    const key = `order-${crypto.randomUUID()}`;
    const body = { amount: '1200.50', currency: 'KZT' as const, orderId: 'client-idem' };
    const first = await client.createInvoice(body, { idempotencyKey: key });
    const retried = await client.createInvoice(body, { idempotencyKey: key });
    expect(retried.id).toBe(first.id);
    expect((await client.listInvoices({ orderId: 'client-idem' })).data).toHaveLength(1);
    // Without the key the same body is a new invoice: the header, not the body, made the replay.
    await client.createInvoice(body);
    expect((await client.listInvoices({ orderId: 'client-idem' })).data).toHaveLength(2);
  });

  it('30 parallel creates with one Idempotency-Key make one invoice; the losers get a typed 409', async () => {
    const key = `race-${crypto.randomUUID()}`;
    const body = { amount: '300.00', currency: 'KZT' as const, orderId: 'client-race' };
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, () => client.createInvoice(body, { idempotencyKey: key })),
    );
    const ids = new Set(results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.id] : [])));
    expect(ids.size).toBe(1);
    for (const r of results) {
      if (r.status === 'rejected') {
        expect(r.reason).toBeInstanceOf(AlatauApiError);
        expect((r.reason as AlatauApiError).status).toBe(409);
      }
    }
    expect((await client.listInvoices({ orderId: 'client-race' })).data).toHaveLength(1);
  });

  it('NUL bytes and huge bodies come back as typed 4xx problems', async () => {
    const nul = (await failure(client.getInvoice('inv_\u0000x'))) as AlatauApiError;
    expect(nul).toBeInstanceOf(AlatauApiError);
    expect(nul.status).toBeGreaterThanOrEqual(400);
    expect(nul.status).toBeLessThan(500);
    const huge = (await failure(
      client.createInvoice({ amount: '1.00', currency: 'KZT', description: 'x'.repeat(2_000_000) }),
    )) as AlatauApiError;
    expect(huge).toBeInstanceOf(AlatauApiError);
    expect([413, 422]).toContain(huge.status);
  });

  it('turns a 422 problem into a typed AlatauApiError naming the field', async () => {
    const err = await failure(client.createInvoice({ amount: '12.345', currency: 'KZT' }));
    expect(err).toBeInstanceOf(AlatauApiError);
    const problem = err as AlatauApiError;
    expect(problem.status).toBe(422);
    expect(problem.code).toBe('validation_failed');
    expect(problem.requestId).toMatch(/\S/);
    expect(problem.errors.map((e) => e.path)).toContain('amount');
    expect(problem.message).toContain(problem.title);
  });

  it('carries the request id the gateway answered with', async () => {
    let answered: string | null = null;
    const watching = new AlatauClient({
      baseUrl,
      apiKey: (await createTestMerchant(ctx)).apiKey.apiKey,
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        answered = res.headers.get('x-request-id');
        return res;
      },
    });
    const err = (await failure(watching.getInvoice('inv_does_not_exist'))) as AlatauApiError;
    expect(err).toBeInstanceOf(AlatauApiError);
    expect(err.status).toBe(404);
    expect(answered).toBeTruthy();
    expect(err.requestId).toBe(answered);
  });

  it('without a key: 401 as a typed error; another merchant sees 404, not the invoice', async () => {
    const anonymous = new AlatauClient({ baseUrl });
    const unauthorized = (await failure(anonymous.listInvoices())) as AlatauApiError;
    expect(unauthorized).toBeInstanceOf(AlatauApiError);
    expect(unauthorized.status).toBe(401);

    const mine = await client.createInvoice({ amount: '10.00', currency: 'KZT' });
    const other = new AlatauClient({ baseUrl, apiKey: (await createTestMerchant(ctx)).apiKey.apiKey });
    const hidden = (await failure(other.getInvoice(mine.id))) as AlatauApiError;
    expect(hidden.status).toBe(404);
  });

  it('keeps an id inside its path segment', async () => {
    const err = (await failure(client.getInvoice('../invoices?limit=1'))) as AlatauApiError;
    expect(err.status).toBe(404);
    await expect(client.getInvoice('..')).rejects.toThrow(TypeError);
    await expect(client.getInvoice('')).rejects.toThrow(TypeError);
  });

  it('gives up after its timeout with an AlatauConnectionError', async () => {
    const silent: Server = createServer(() => {
      // never answers
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as AddressInfo).port;
      const slow = new AlatauClient({
        baseUrl: `http://127.0.0.1:${port}`,
        apiKey: 'sk_test_x',
        timeoutMs: 200,
      });
      const err = (await failure(slow.listInvoices())) as AlatauConnectionError;
      expect(err).toBeInstanceOf(AlatauConnectionError);
      expect(err.timedOut).toBe(true);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe("the package's webhook verifier on a real delivery", () => {
  it('verifies what the gateway delivered and refuses it once changed', async () => {
    const endpoint = await client.createWebhookEndpoint({ url: receiver.url });
    expect(endpoint.secret).toMatch(/^whsec_/);
    const invoice = await client.createInvoice({ amount: '777.00', currency: 'KZT' });
    await client.cancelInvoice(invoice.id);
    await runWebhookTick(ctx.services);

    const delivered = receiver.requests.filter((q) => JSON.parse(q.body).data.invoice.id === invoice.id);
    expect(delivered.map((q) => JSON.parse(q.body).type).sort()).toEqual([
      'invoice.created',
      'invoice.invalid',
    ]);
    for (const q of delivered) {
      const event = (await verifyWebhook(endpoint.secret, q.headers, q.body)) as {
        data: { invoice: { id: string } };
      };
      expect(event.data.invoice.id).toBe(invoice.id);
      // The same bytes as a Uint8Array, and fetch Headers, verify too.
      await verifyWebhook(endpoint.secret, new Headers(q.headers), new TextEncoder().encode(q.body));

      const tampered = q.body.replace('777.00', '1.00');
      await expect(verifyWebhook(endpoint.secret, q.headers, tampered)).rejects.toMatchObject({
        name: 'WebhookVerificationError',
        code: 'no_matching_signature',
      });
      const late = Number(q.headers['webhook-timestamp']) + 301;
      const stale = await failure(verifyWebhook(endpoint.secret, q.headers, q.body, { nowSeconds: late }));
      expect(stale).toBeInstanceOf(WebhookVerificationError);
      expect((stale as WebhookVerificationError).code).toBe('stale_timestamp');
    }

    // After a rotation both secrets sign, and the package accepts either one.
    const rotated = await client.rotateWebhookSecret(endpoint.id);
    const second = await client.createInvoice({ amount: '778.00', currency: 'KZT' });
    await runWebhookTick(ctx.services);
    const next = receiver.requests.find((q) => JSON.parse(q.body).data.invoice.id === second.id);
    expect(next!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    await verifyWebhook(rotated.secret, next!.headers, next!.body);
    await verifyWebhook(endpoint.secret, next!.headers, next!.body);
  });
});
