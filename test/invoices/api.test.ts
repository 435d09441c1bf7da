// The invoice API in process (SPEC section 6): create, get, list, cancel, tenant isolation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordPayment } from '../../src/invoices/state';
import { checkContract } from '../helpers/contract';
import {
  createTestContext,
  createTestMerchant,
  DEMO_VPUB,
  jsonRequest,
  randomAccountKey,
  type TestContext,
} from '../helpers/services';
import { expectProblem, writeSnapshot } from './api-support';

interface InvoiceJson {
  id: string;
  status: string;
  additionalStatus: string;
  review: string;
  amount: string;
  currency: string;
  amountPaid: string;
  orderId: string | null;
  description: string | null;
  metadata: Record<string, unknown>;
  createdAt: string;
  expiresAt: string;
  checkoutUrl: string;
  paymentOptions: {
    option: string;
    asset: string;
    network: string;
    address: string;
    amount: string;
    amountAtomic: string;
    decimals: number;
    rate: { kztPerUnit: string; sources: { name: string; value: string; at: string }[]; at: string };
    uri: string;
    expiresAt: string;
    derivationIndex: number | null;
  }[];
  payments: unknown[];
}

let ctx: TestContext;
let keyA: string;
let keyB: string;
let btcOnlyKey: string;

beforeAll(async () => {
  ctx = await createTestContext();
  await checkContract(ctx.app); // every answer below is checked against /openapi.json
  // The BIP84 test-vector key, so addresses can be checked against the published vector.
  keyA = (
    await createTestMerchant(ctx, {
      name: 'Shop A',
      xpubs: { 'bitcoin-regtest': DEMO_VPUB, 'litecoin-regtest': DEMO_VPUB },
    })
  ).apiKey.apiKey;
  keyB = (await createTestMerchant(ctx, { name: 'Shop B' })).apiKey.apiKey;
  btcOnlyKey = (
    await createTestMerchant(ctx, {
      name: 'BTC only',
      xpubs: { 'bitcoin-regtest': randomAccountKey() },
    })
  ).apiKey.apiKey;
});
afterAll(() => ctx.close());

const BODY = { amount: '15000.00', currency: 'KZT' };

async function create(key: string, body: unknown = BODY, headers: Record<string, string> = {}) {
  const res = await ctx.app.request('/v1/invoices', jsonRequest(key, body, headers));
  return { res, json: (await res.json()) as InvoiceJson };
}
async function created(key: string, body: unknown = BODY): Promise<InvoiceJson> {
  const { res, json } = await create(key, body);
  expect(res.status).toBe(201);
  return json;
}
const get = (key: string, path: string) => ctx.app.request(path, jsonRequest(key));
const cancel = (key: string, id: string) =>
  ctx.app.request(`/v1/invoices/${id}/cancel`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
  });

describe('POST /v1/invoices', () => {
  it('creates a 15000.00 KZT invoice with BTC and LTC quotes at the sandbox rates', async () => {
    const before = Date.now();
    const { res, json } = await create(keyA, {
      ...BODY,
      orderId: 'A-1042',
      description: 'Two lattes',
      metadata: { table: '12', nested: { a: [1, 2] } },
      redirectUrl: 'https://shop.example.kz/thanks',
      buyerEmail: 'buyer@example.kz',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('location')).toBe(`/v1/invoices/${json.id}`);
    expect(res.headers.get('idempotent-replayed')).toBeNull();
    expect(json).toMatchObject({
      status: 'new',
      additionalStatus: 'none',
      review: 'none',
      amount: '15000.00',
      currency: 'KZT',
      amountPaid: '0.00',
      orderId: 'A-1042',
      description: 'Two lattes',
      metadata: { table: '12', nested: { a: [1, 2] } },
      checkoutUrl: `http://gateway.test/pay/${json.id}`,
      payments: [],
    });
    expect(json.id).toMatch(/^inv_[0-9a-hjkmnp-tv-z]{26}$/);
    const createdAt = Date.parse(json.createdAt);
    expect(createdAt).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(json.expiresAt) - createdAt).toBe(15 * 60_000);

    expect(json.paymentOptions.map((o) => o.option)).toEqual(['BTC@bitcoin-regtest', 'LTC@litecoin-regtest']);
    const [btc, ltc] = json.paymentOptions;
    expect(btc).toMatchObject({
      asset: 'BTC',
      network: 'bitcoin-regtest',
      amount: '0.0003',
      amountAtomic: '30000',
      decimals: 8,
      derivationIndex: 0,
      expiresAt: json.expiresAt,
      rate: { kztPerUnit: '50000000' },
    });
    expect(btc!.rate.sources).toEqual([{ name: 'fixed', value: '50000000', at: expect.any(String) }]);
    // The source's own time and the snapshot's are taken a moment apart within one refresh.
    expect(Math.abs(Date.parse(btc!.rate.sources[0]!.at) - Date.parse(btc!.rate.at))).toBeLessThan(1000);
    expect(btc!.address).toMatch(/^bcrt1q6rz28mcfaxtmd6v789l9rrlrusdprr9p/);
    expect(btc!.uri.startsWith(`bitcoin:${btc!.address}?amount=0.0003`)).toBe(true);
    expect(ltc).toMatchObject({
      asset: 'LTC',
      network: 'litecoin-regtest',
      amount: '0.3',
      amountAtomic: '30000000',
      decimals: 8,
      derivationIndex: 0,
      rate: { kztPerUnit: '50000' },
    });
    expect(ltc!.address).toMatch(/^rltc1q/);
    expect(ltc!.uri.startsWith(`litecoin:${ltc!.address}?amount=0.3`)).toBe(true);

    // Stored in one go: the invoice, its two options with rate snapshots, and invoice.created.
    const [row] = await ctx.db.sql`select * from invoices where id = ${json.id}`;
    expect(row).toMatchObject({ amount_tiyn: 1_500_000n, status: 'new', event_seq: 1 });
    const opts = await ctx.db
      .sql`select option, rate from payment_options where invoice_id = ${json.id} order by option`;
    expect(opts.map((o) => o.rate.chain)).toEqual([['BTC/KZT'], ['LTC/KZT']]);
    const events = await ctx.db.sql`select type, seq, payload from outbox where invoice_id = ${json.id}`;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'invoice.created', seq: 1 });
    expect(events[0]!.payload.data.invoice.id).toBe(json.id);
  });

  it('honours options and expiresInMinutes', async () => {
    const json = await created(keyA, {
      ...BODY,
      amount: '2',
      options: ['LTC@litecoin-regtest'],
      expiresInMinutes: 60,
    });
    expect(json.amount).toBe('2.00');
    expect(json.paymentOptions).toHaveLength(1);
    // 2 KZT at 50,000 KZT/LTC = 0.00004 LTC (above Litecoin's dust limit of 2,940 litoshi).
    expect(json.paymentOptions[0]).toMatchObject({ option: 'LTC@litecoin-regtest', amountAtomic: '4000' });
    expect(Date.parse(json.expiresAt) - Date.parse(json.createdAt)).toBe(60 * 60_000);
  });

  it('rounds the quote up: the merchant never gets less than the price', async () => {
    // 147.01 KZT at 50,000,000 KZT/BTC is 294.02 satoshi: 295. (Below the dust limit no option is
    // offered at all: test/invoices/dust.test.ts.)
    const json = await created(keyA, { ...BODY, amount: '147.01', options: ['BTC@bitcoin-regtest'] });
    expect(json.paymentOptions[0]!.amountAtomic).toBe('295');
    const odd = await created(keyA, { ...BODY, amount: '333.33', options: ['BTC@bitcoin-regtest'] });
    // 33333 tiyn / 100 / 50,000,000 × 10^8 = 666.66 → 667 sats
    expect(odd.paymentOptions[0]!.amountAtomic).toBe('667');
  });

  it('hands out derivation indexes 0, 1, 2… per merchant and network, never twice', async () => {
    const fresh = (await createTestMerchant(ctx, { name: 'Indexes' })).apiKey.apiKey;
    const seq: number[] = [];
    for (let i = 0; i < 3; i++) seq.push((await created(fresh)).paymentOptions[0]!.derivationIndex!);
    expect(seq).toEqual([0, 1, 2]);
    const many = await Promise.all(Array.from({ length: 20 }, () => created(fresh)));
    const btcIdx = many.map((j) => j.paymentOptions.find((o) => o.asset === 'BTC')!.derivationIndex!);
    const ltcIdx = many.map((j) => j.paymentOptions.find((o) => o.asset === 'LTC')!.derivationIndex!);
    expect([...btcIdx].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 3));
    expect([...ltcIdx].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 3));
    const addresses = many.flatMap((j) => j.paymentOptions.map((o) => o.address));
    expect(new Set(addresses).size).toBe(40);
    expect(new Set(many.map((j) => j.id)).size).toBe(20);
    // Another merchant starts its own sequence at 0.
    expect((await created(keyB)).paymentOptions[0]!.derivationIndex).toBe(0);
  });
});

describe('GET /v1/invoices/{id}', () => {
  it('returns the invoice as created', async () => {
    const made = await created(keyA);
    const res = await get(keyA, `/v1/invoices/${made.id}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(made);
  });

  it('shows payments once they arrive', async () => {
    const made = await created(keyA);
    await ctx.db.sql.begin((tx) =>
      recordPayment(tx, ctx.services.state, {
        invoiceId: made.id,
        option: 'BTC@bitcoin-regtest',
        network: 'bitcoin-regtest',
        txid: 'ab'.repeat(32),
        outputIndex: 1,
        fromAddresses: ['bcrt1qpayer'],
        amountAtomic: 15000n,
        amountTiyn: 750_000n,
        confirmations: 0,
        blockHash: null,
        blockHeight: null,
        rbf: false,
      }),
    );
    const json = (await (await get(keyA, `/v1/invoices/${made.id}`)).json()) as InvoiceJson;
    expect(json).toMatchObject({ status: 'new', additionalStatus: 'paid_partial', amountPaid: '7500.00' });
    expect(json.payments).toEqual([
      expect.objectContaining({
        option: 'BTC@bitcoin-regtest',
        txid: 'ab'.repeat(32),
        index: 1,
        from: ['bcrt1qpayer'],
        amount: '0.00015',
        amountAtomic: '15000',
        amountKzt: '7500.00',
        confirmations: 0,
        status: 'seen',
        confirmedAt: null,
      }),
    ]);
  });

  it.each([
    'inv_00000000000000000000000000',
    'inv_nope',
    'pay_01jd8x3q4m5n6p7r8s9t0v1w2x',
    "inv_'; drop table x",
  ])('404 invoice_not_found for %j', async (id) => {
    await expectProblem(await get(keyA, `/v1/invoices/${encodeURIComponent(id)}`), 404, 'invoice_not_found');
  });
});

describe('GET /v1/invoices (list)', () => {
  let key: string;
  let ids: string[];

  beforeAll(async () => {
    key = (await createTestMerchant(ctx, { name: 'Lister' })).apiKey.apiKey;
    ids = [];
    for (let i = 0; i < 25; i++) ids.push((await created(key, { ...BODY, orderId: `o-${i % 5}` })).id);
  });

  it('pages newest first with a cursor, without duplicates or gaps', async () => {
    const seen: InvoiceJson[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await get(key, `/v1/invoices?limit=10${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { data: InvoiceJson[]; nextCursor: string | null };
      expect(page.data.length).toBeLessThanOrEqual(10);
      seen.push(...page.data);
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen.map((i) => i.id)).toEqual([...ids].reverse());
    for (let i = 1; i < seen.length; i++) {
      expect(Date.parse(seen[i - 1]!.createdAt)).toBeGreaterThanOrEqual(Date.parse(seen[i]!.createdAt));
    }
    // Each entry is the full invoice, options included.
    expect(seen[0]!.paymentOptions).toHaveLength(2);
  });

  it('a page of exactly the remaining size ends with nextCursor null', async () => {
    const res = await get(key, '/v1/invoices?limit=25');
    const page = (await res.json()) as { data: InvoiceJson[]; nextCursor: string | null };
    expect(page.data).toHaveLength(25);
    expect(page.nextCursor).toBeNull();
    const def = (await (await get(key, '/v1/invoices')).json()) as {
      data: InvoiceJson[];
      nextCursor: string;
    };
    expect(def.data).toHaveLength(20);
    expect(def.nextCursor).toBe(def.data[19]!.id);
  });

  it('filters by status and orderId', async () => {
    for (const id of ids.slice(0, 3)) expect((await cancel(key, id)).status).toBe(200);
    const invalid = (await (await get(key, '/v1/invoices?status=invalid')).json()) as { data: InvoiceJson[] };
    expect(invalid.data.map((i) => i.id)).toEqual(ids.slice(0, 3).reverse());
    const fresh = (await (await get(key, '/v1/invoices?status=new&limit=100')).json()) as {
      data: InvoiceJson[];
    };
    expect(fresh.data).toHaveLength(22);
    expect(fresh.data.every((i) => i.status === 'new')).toBe(true);
    const settled = (await (await get(key, '/v1/invoices?status=settled')).json()) as { data: unknown[] };
    expect(settled.data).toEqual([]);
    const byOrder = (await (await get(key, '/v1/invoices?orderId=o-1&limit=100')).json()) as {
      data: InvoiceJson[];
    };
    expect(byOrder.data.map((i) => i.orderId)).toEqual(Array(5).fill('o-1'));
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=ten', 'limit'],
    ['limit=-1', 'limit'],
    ['status=paid', 'status'],
    ['cursor=garbage', 'cursor'],
  ])('refuses %s naming the field', async (query, field) => {
    const p = await expectProblem(await get(key, `/v1/invoices?${query}`), 422);
    expect(p.errors!.map((e) => e.path)).toContain(field);
  });
});

describe('POST /v1/invoices/{id}/cancel', () => {
  it('cancels a new invoice with no payment', async () => {
    const made = await created(keyA);
    const res = await cancel(keyA, made.id);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: made.id, status: 'invalid', additionalStatus: 'none' });
    const events = await ctx.db.sql`select type from outbox where invoice_id = ${made.id} order by id`;
    expect(events.map((e) => e.type)).toEqual(['invoice.created', 'invoice.invalid']);
    await expectProblem(await cancel(keyA, made.id), 409, 'invoice_not_cancellable');
  });

  it('refuses an invoice that received a payment', async () => {
    const made = await created(keyA);
    await ctx.db.sql.begin((tx) =>
      recordPayment(tx, ctx.services.state, {
        invoiceId: made.id,
        option: 'LTC@litecoin-regtest',
        network: 'litecoin-regtest',
        txid: 'cd'.repeat(32),
        outputIndex: 0,
        fromAddresses: [],
        amountAtomic: 1000n,
        amountTiyn: 50n,
        confirmations: 0,
        blockHash: null,
        blockHeight: null,
        rbf: false,
      }),
    );
    await expectProblem(await cancel(keyA, made.id), 409, 'invoice_not_cancellable');
    const after = (await (await get(keyA, `/v1/invoices/${made.id}`)).json()) as InvoiceJson;
    expect(after.status).toBe('new');
  });

  it('404 for an unknown or malformed id', async () => {
    await expectProblem(await cancel(keyA, 'inv_00000000000000000000000000'), 404, 'invoice_not_found');
    await expectProblem(await cancel(keyA, 'nope'), 404, 'invoice_not_found');
  });
});

describe('tenant isolation', () => {
  it("merchant B cannot see, list or cancel merchant A's invoice", async () => {
    const a = await created(keyA, { ...BODY, orderId: 'private-to-A' });
    await expectProblem(await get(keyB, `/v1/invoices/${a.id}`), 404, 'invoice_not_found');
    const listB = (await (await get(keyB, '/v1/invoices?limit=100')).json()) as { data: InvoiceJson[] };
    expect(listB.data.length).toBeGreaterThan(0);
    expect(listB.data.map((i) => i.id)).not.toContain(a.id);
    const byOrder = (await (await get(keyB, '/v1/invoices?orderId=private-to-A')).json()) as {
      data: unknown[];
    };
    expect(byOrder.data).toEqual([]);
    // A cursor from A's list does not leak A's invoices into B's.
    const page = (await (await get(keyB, `/v1/invoices?cursor=${a.id}&limit=100`)).json()) as {
      data: InvoiceJson[];
    };
    expect(page.data.every((i) => !i.orderId?.startsWith('private'))).toBe(true);
    const before = await writeSnapshot(ctx.db.sql);
    await expectProblem(await cancel(keyB, a.id), 404, 'invoice_not_found');
    expect(await writeSnapshot(ctx.db.sql)).toEqual(before);
    const stillA = (await (await get(keyA, `/v1/invoices/${a.id}`)).json()) as InvoiceJson;
    expect(stillA.status).toBe('new');
  });

  it('a merchant without a key for a network is not offered it by default', async () => {
    const json = await created(btcOnlyKey);
    expect(json.paymentOptions.map((o) => o.option)).toEqual(['BTC@bitcoin-regtest']);
  });
});
