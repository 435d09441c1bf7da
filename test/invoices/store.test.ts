// The batched writes of invoice creation (src/invoices/store.ts, reserveIndexBatch): concurrent
// creations share statements, yet each invoice is stored whole or not at all, gets indexes nobody
// else gets, and fails alone when it is the one that breaks a constraint.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import { reserveIndexBatch } from '../../src/chains/utxo/adapter';
import { createSql, type Sql } from '../../src/db/client';
import { createInvoice } from '../../src/invoices/create';
import { createInvoiceStore } from '../../src/invoices/store';
import { ConflictError } from '../../src/lib/errors';
import { createServices } from '../../src/services';
import { recordingClient, usingRealPostgres } from '../helpers/db';
import {
  createTestContext,
  createTestMerchant,
  jsonRequest,
  randomAccountKey,
  type TestContext,
} from '../helpers/services';
import { controlledRates } from './api-support';

let ctx: TestContext;
let counting: Sql;
let statements: string[];
const inserts = () => statements.filter((s) => s.includes('insert into invoices'));

beforeAll(async () => {
  ctx = await createTestContext();
  ({ sql: counting, statements } = recordingClient(ctx.db.url));
});
afterAll(async () => {
  await counting?.end({ timeout: 5 });
  await ctx?.close();
});

const BODY = { amount: '2500.00', currency: 'KZT' } as const;

describe('reserveIndexBatch', () => {
  it('hands consecutive indexes out in request order, per merchant and network', async () => {
    const a = (await createTestMerchant(ctx)).merchant.id;
    const b = (await createTestMerchant(ctx)).merchant.id;
    const got = await reserveIndexBatch(ctx.db.sql, [
      { merchantId: a, networks: ['bitcoin-regtest', 'litecoin-regtest'] },
      { merchantId: b, networks: ['bitcoin-regtest'] },
      { merchantId: a, networks: ['bitcoin-regtest'] },
      { merchantId: a, networks: ['litecoin-regtest', 'bitcoin-regtest'] },
    ]);
    expect(got.map((m) => Object.fromEntries(m as Map<string, number>))).toEqual([
      { 'bitcoin-regtest': 0, 'litecoin-regtest': 0 },
      { 'bitcoin-regtest': 0 },
      { 'bitcoin-regtest': 1 },
      { 'litecoin-regtest': 1, 'bitcoin-regtest': 2 },
    ]);
    const next = await reserveIndexBatch(ctx.db.sql, [{ merchantId: a, networks: ['bitcoin-regtest'] }]);
    expect((next[0] as Map<string, number>).get('bitcoin-regtest')).toBe(3);
  });

  it('a request for a network without a key fails alone', async () => {
    const withKeys = (await createTestMerchant(ctx)).merchant.id;
    const btcOnly = (await createTestMerchant(ctx, { xpubs: { 'bitcoin-regtest': randomAccountKey() } }))
      .merchant.id;
    const [ok, refused] = await reserveIndexBatch(ctx.db.sql, [
      { merchantId: withKeys, networks: ['litecoin-regtest'] },
      { merchantId: btcOnly, networks: ['litecoin-regtest'] },
    ]);
    expect((ok as Map<string, number>).get('litecoin-regtest')).toBe(0);
    expect(refused).toBeInstanceOf(ConflictError);
    expect(refused).toMatchObject({ code: 'option_unavailable', status: 422 });
  });

  it('concurrent batches over the same rows in opposite orders neither deadlock nor share an index', async () => {
    const a = (await createTestMerchant(ctx)).merchant.id;
    const b = (await createTestMerchant(ctx)).merchant.id;
    // Two clients where the server takes them (the embedded database has one connection).
    const second = usingRealPostgres() ? createSql(ctx.db.url, { max: 4 }) : undefined;
    const pools = [second ?? ctx.db.sql, ctx.db.sql];
    try {
      const handed: Record<string, number[]> = { [a]: [], [b]: [] };
      for (let round = 0; round < 10; round++) {
        await Promise.all(
          Array.from({ length: 8 }, async (_, i) => {
            const order = i % 2 ? [a, b] : [b, a];
            const batch = await reserveIndexBatch(
              pools[i % 2]!,
              order.map((merchantId) => ({
                merchantId,
                networks: ['bitcoin-regtest', 'litecoin-regtest'],
              })),
            );
            batch.forEach((m, j) => {
              expect(m).toBeInstanceOf(Map);
              handed[order[j]!]!.push((m as Map<string, number>).get('bitcoin-regtest')!);
            });
          }),
        );
      }
      // 80 reservations per merchant: indexes 0..79, each exactly once.
      for (const m of [a, b]) {
        expect(handed[m]!.sort((x, y) => x - y)).toEqual(Array.from({ length: 80 }, (_, i) => i));
      }
    } finally {
      await second?.end({ timeout: 5 });
    }
  });
});

describe('the invoice store', () => {
  it('stores concurrent creations in one statement, each invoice whole and its own', async () => {
    // The creations wait at the rates until all ten are there, so they reach the store in one turn.
    const rates = controlledRates();
    let release!: () => void;
    rates.gate = new Promise<void>((r) => {
      release = r;
    });
    const services = createServices(ctx.config, ctx.db.sql, {
      ...ctx.services,
      rates,
      invoices: createInvoiceStore(counting),
    });
    const shops = await Promise.all([createTestMerchant(ctx), createTestMerchant(ctx)]);
    await counting`select 1`;
    statements.length = 0;
    const pending = Array.from({ length: 10 }, (_, i) =>
      createInvoice(services, shops[i % 2]!.merchant.id, { ...BODY, orderId: `batch-${i}` }),
    );
    while (rates.calls < 10) await new Promise((r) => setTimeout(r, 5));
    release();
    const made = await Promise.all(pending);
    expect(inserts()).toHaveLength(1);
    // One statement for the indexes of all ten, too.
    expect(statements.filter((s) => s.includes('update derivation_indexes'))).toHaveLength(1);
    const rows = await ctx.db.sql<
      { id: string; merchant_id: string; order_id: string; options: number; events: number }[]
    >`
      select i.id, i.merchant_id, i.order_id,
        (select count(*)::int from payment_options o where o.invoice_id = i.id) as options,
        (select count(*)::int from outbox e where e.invoice_id = i.id and e.type = 'invoice.created') as events
      from invoices i where i.id in ${ctx.db.sql(made.map((m) => m.id))}`;
    const byId = new Map(rows.map((r) => [r.id, r]));
    made.forEach((inv, i) => {
      expect(byId.get(inv.id)).toEqual({
        id: inv.id,
        merchant_id: shops[i % 2]!.merchant.id,
        order_id: `batch-${i}`,
        options: 2,
        events: 1,
      });
    });
    // The indexes of each merchant: 0..4, each once.
    for (const s of [0, 1]) {
      const idx = made
        .filter((_, i) => i % 2 === s)
        .map((m) => m.options.find((o) => o.network === 'bitcoin-regtest')!.derivationIndex);
      expect(idx.sort()).toEqual([0, 1, 2, 3, 4]);
    }
  });

  it('an invoice whose address is taken fails alone and moves on to the next index; the batch goes through', async () => {
    const rates = controlledRates();
    let release!: () => void;
    const services = createServices(ctx.config, ctx.db.sql, {
      ...ctx.services,
      rates,
      invoices: createInvoiceStore(counting),
    });
    // Two merchants on one wallet key derive the same addresses: the second's index 0 is taken.
    const shared = randomAccountKey();
    const first = await createTestMerchant(ctx, { xpubs: { 'bitcoin-regtest': shared } });
    const second = await createTestMerchant(ctx, { xpubs: { 'bitcoin-regtest': shared } });
    const other = await createTestMerchant(ctx);
    const taken = await createInvoice(services, first.merchant.id, BODY);
    rates.gate = new Promise<void>((r) => {
      release = r;
    });
    statements.length = 0;
    const pending = [
      createInvoice(services, second.merchant.id, BODY),
      ...Array.from({ length: 4 }, () => createInvoice(services, other.merchant.id, BODY)),
    ];
    while (rates.calls < 6) await new Promise((r) => setTimeout(r, 5));
    release();
    const [collides, ...others] = await Promise.all(pending);
    expect(collides!.options[0]!.derivationIndex).toBe(1);
    expect(collides!.options[0]!.address).not.toBe(taken.options[0]!.address);
    expect(others.map((o) => o.options[0]!.derivationIndex).sort()).toEqual([0, 1, 2, 3]);
    // The batch of five failed as a whole, each was tried alone, and the colliding one came back
    // with its next index.
    expect(inserts()).toHaveLength(1 + 5 + 1);
    const [n] = await ctx.db.sql<{ n: number }[]>`select count(*)::int as n from invoices
      where merchant_id in ${ctx.db.sql([second.merchant.id, other.merchant.id])}`;
    expect(n!.n).toBe(5);
  });

  it('Idempotency-Keys of several merchants in one batch are each completed with their own answer', async () => {
    const shops = await Promise.all([createTestMerchant(ctx), createTestMerchant(ctx)]);
    const post = (key: string) =>
      ctx.app.request('/v1/invoices', jsonRequest(key, BODY, { 'idempotency-key': 'same-key-everywhere' }));
    const first = await Promise.all(shops.map((s) => post(s.apiKey.apiKey)));
    expect(first.map((r) => r.status)).toEqual([201, 201]);
    const made = await Promise.all(first.map((r) => r.json()));
    expect(made[0].id).not.toBe(made[1].id);
    const again = await Promise.all(shops.map((s) => post(s.apiKey.apiKey)));
    for (const [i, r] of again.entries()) {
      expect(r.headers.get('idempotent-replayed')).toBe('true');
      expect(await r.json()).toEqual(made[i]);
    }
  });

  it('an Idempotency-Key is completed by the invoice write itself, not by a second update', async () => {
    const services = createServices(ctx.config, counting, {
      ...ctx.services,
      invoices: createInvoiceStore(counting),
    });
    const app = createApp(ctx.config, services);
    const shop = await createTestMerchant(ctx);
    const post = () =>
      app.request('/v1/invoices', jsonRequest(shop.apiKey.apiKey, BODY, { 'idempotency-key': 'one-write' }));
    statements.length = 0;
    const first = await post();
    expect(first.status).toBe(201);
    expect(statements.filter((q) => /update idempotency_keys/.test(q))).toEqual([
      expect.stringContaining('insert into invoices'),
    ]);
    const [row] = await ctx.db.sql<{ state: string; response_status: number; response_body: unknown }[]>`
      select state, response_status, response_body from idempotency_keys
      where merchant_id = ${shop.merchant.id} and key = 'one-write'`;
    const made = await first.json();
    expect(row).toEqual({ state: 'done', response_status: 201, response_body: made });
    const again = await post();
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toEqual(made);
  });
});
