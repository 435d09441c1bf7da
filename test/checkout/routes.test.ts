import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordPayment } from '../../src/invoices/state';
import { checkContract } from '../helpers/contract';
import { createTestContext, createTestMerchant, jsonRequest, type TestContext } from '../helpers/services';

let ctx: TestContext;
let apiKey: string;
let invoiceId: string;

beforeAll(async () => {
  ctx = await createTestContext({ SSE_POLL_MS: '50', SSE_MAX_SECONDS: '5' });
  await checkContract(ctx.app); // every answer below is checked against /openapi.json
  apiKey = (await createTestMerchant(ctx, { name: 'Kofe Alatau' })).apiKey.apiKey;
  const res = await ctx.app.request(
    '/v1/invoices',
    jsonRequest(apiKey, {
      amount: '15000.00',
      currency: 'KZT',
      orderId: 'secret-order-7',
      description: 'Two lattes',
      metadata: { internal: 'do-not-show' },
      buyerEmail: 'buyer@example.kz',
      redirectUrl: 'https://shop.example.kz/thanks',
    }),
  );
  expect(res.status).toBe(201);
  invoiceId = ((await res.json()) as { id: string }).id;
});
afterAll(() => ctx.close());

async function payPart(atomic: bigint, tiyn: bigint, txid: string) {
  await ctx.db.sql.begin((tx) =>
    recordPayment(tx, ctx.services.state, {
      invoiceId,
      option: 'BTC@bitcoin-regtest',
      network: 'bitcoin-regtest',
      txid,
      outputIndex: 0,
      fromAddresses: [],
      amountAtomic: atomic,
      amountTiyn: tiyn,
      confirmations: 0,
      blockHash: null,
      blockHeight: null,
      rbf: false,
    }),
  );
}

describe('GET /v1/checkout/{id}', () => {
  it('shows what a payer needs and no merchant-private field, without authentication', async () => {
    const res = await ctx.app.request(`/v1/checkout/${invoiceId}`);
    expect(res.status).toBe(200);
    const text = await res.text();
    for (const secret of ['secret-order-7', 'do-not-show', 'buyer@example.kz', 'shop.example.kz', 'mer_']) {
      expect(text).not.toContain(secret);
    }
    const body = JSON.parse(text);
    expect(body).toMatchObject({
      id: invoiceId,
      status: 'new',
      amount: '15000.00',
      amountDue: '15000.00',
      merchant: { name: 'Kofe Alatau' },
    });
    const btc = body.paymentOptions.find((o: { option: string }) => o.option === 'BTC@bitcoin-regtest');
    expect(btc).toMatchObject({ amount: '0.0003', amountDue: '0.0003', amountDueAtomic: '30000' });
  });

  it('shows the remainder of a partial payment in each coin, with its own URI', async () => {
    await payPart(10_000n, 500_000n, 'a'.repeat(64)); // 5,000.00 of 15,000.00 ₸
    const body = (await (await ctx.app.request(`/v1/checkout/${invoiceId}`)).json()) as {
      paymentOptions: { option: string; amountDueAtomic: string; dueUri: string; amountDue: string }[];
      payments: unknown[];
      redirectUrl: unknown;
    };
    expect(body).toMatchObject({
      status: 'new',
      additionalStatus: 'paid_partial',
      amountDue: '10000.00',
      amountPaid: '5000.00',
    });
    const btc = body.paymentOptions.find((o: { option: string }) => o.option === 'BTC@bitcoin-regtest');
    expect(btc!.amountDueAtomic).toBe('20000');
    expect(btc!.dueUri).toContain('amount=0.0002');
    const ltc = body.paymentOptions.find((o: { option: string }) => o.option === 'LTC@litecoin-regtest');
    expect(ltc!.amountDue).toBe('0.2');
    expect(body.payments).toHaveLength(1);
    expect(body.payments[0]).toMatchObject({ confirmationsRequired: 1, amountKzt: '5000.00' });
    expect(body.redirectUrl).toBeNull();
  });

  it('is 404 problem+json for an unknown or malformed id', async () => {
    for (const id of ['inv_00000000000000000000000000', 'nope', "inv_'; drop table invoices; --"]) {
      const res = await ctx.app.request(`/v1/checkout/${encodeURIComponent(id)}`);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
  });
});

describe('GET /v1/checkout/{id}/events', () => {
  it('sends the status at once and again when it changes', async () => {
    const res = await ctx.app.request(`/v1/checkout/${invoiceId}/events`);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    const nextStatus = async () => {
      for (;;) {
        const i = buf.indexOf('\n\n');
        if (i >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block.split('\n').find((l) => l.startsWith('data:'));
          if (block.includes('event: status') && data) return JSON.parse(data.slice(5));
          continue;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        buf += decoder.decode(value, { stream: true });
      }
    };
    expect((await nextStatus()).status).toBe('new');
    await payPart(20_000n, 1_000_000n, 'b'.repeat(64)); // the rest
    const changed = await nextStatus();
    expect(changed.status).toBe('processing');
    expect(changed.redirectUrl).toBe('https://shop.example.kz/thanks');
    await reader.cancel();
  });
});
