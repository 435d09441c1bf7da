// The merchant API's batched credential lookup: many concurrent requests share one statement, and
// each still gets exactly its own key, merchant and failure counters (tenant isolation holds inside a
// batch).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from '../../src/db/client';
import { createCredentialLookup } from '../../src/http/credentials';
import { generateApiKey, keyHashHex, revokeApiKey } from '../../src/merchants/apikeys';
import { recordingClient } from '../helpers/db';
import { createTestContext, createTestMerchant, jsonRequest, type TestContext } from '../helpers/services';

const POLICY = { perKey: 3, perAddress: 5, windowSeconds: 60 };

let ctx: TestContext;
let counting: Sql;
let statements: string[];

beforeAll(async () => {
  ctx = await createTestContext();
  ({ sql: counting, statements } = recordingClient(ctx.db.url, 1));
});
afterAll(async () => {
  await counting?.end({ timeout: 5 });
  await ctx?.close();
});

describe('createCredentialLookup', () => {
  it('answers concurrent lookups in one statement, each with its own key, merchant and counters', async () => {
    const a = await createTestMerchant(ctx, { name: 'Shop A' });
    const b = await createTestMerchant(ctx, { name: 'Shop B' });
    const c = await createTestMerchant(ctx, { name: 'Shop C' });
    await revokeApiKey(ctx.db.sql, c.apiKey.id);
    await ctx.db.sql`insert into auth_failures (bucket, window_start, failures)
      values ('addr:10.9.0.1', now(), 4), ('addr:10.9.0.2', now() - interval '10 minutes', 9)`;

    const lookup = createCredentialLookup(counting, POLICY);
    await counting`select 1`; // the connection's own start-up queries are not the lookup's
    statements.length = 0;
    const [ra, rb, rc, unknown, none] = await Promise.all([
      lookup.load({ keyHashHex: keyHashHex(a.apiKey.apiKey), buckets: ['addr:10.9.0.1'] }),
      lookup.load({ keyHashHex: keyHashHex(b.apiKey.apiKey), buckets: ['addr:10.9.0.2'] }),
      lookup.load({ keyHashHex: keyHashHex(c.apiKey.apiKey), buckets: [] }),
      lookup.load({ keyHashHex: keyHashHex(generateApiKey('test')), buckets: ['addr:10.9.0.3'] }),
      lookup.load({ buckets: ['addr:10.9.0.1'] }),
    ]);
    expect(statements).toHaveLength(1);

    expect(ra!.key).toMatchObject({ id: a.apiKey.id, mode: 'test', revokedAt: null });
    expect(ra!.key!.merchant).toMatchObject({ id: a.merchant.id, name: 'Shop A' });
    expect(ra!.key!.merchant.keys.map((k) => k.network)).toEqual(['bitcoin-regtest', 'litecoin-regtest']);
    expect(ra!.failures).toEqual([{ bucket: 'addr:10.9.0.1', failures: 4, left: expect.any(Number) }]);

    expect(rb!.key!.merchant.id).toBe(b.merchant.id);
    // A window long over is not counted.
    expect(rb!.failures).toEqual([]);

    expect(rc!.key).toMatchObject({ id: c.apiKey.id, revokedAt: expect.any(String) });
    expect(rc!.key!.merchant.id).toBe(c.merchant.id);
    expect(unknown!.key).toBeUndefined();
    expect(unknown!.failures).toEqual([]);
    // No key sent: the counters of its own bucket only.
    expect(none!.key).toBeUndefined();
    expect(none!.failures).toEqual([{ bucket: 'addr:10.9.0.1', failures: 4, left: expect.any(Number) }]);
  });

  it('the merchant it reads is the same as getMerchant reads', async () => {
    const { merchant, apiKey } = await createTestMerchant(ctx, {
      name: 'Settings Shop',
      bin: '123456789012',
      enabledOptions: ['BTC@bitcoin-regtest'],
    });
    const found = await createCredentialLookup(ctx.db.sql, POLICY).load({
      keyHashHex: keyHashHex(apiKey.apiKey),
      buckets: [],
    });
    expect(found.key!.merchant).toEqual(merchant);
  });
});

describe('the API under concurrent requests of several merchants', () => {
  it('each request acts as its own merchant, whatever else shares its batch', async () => {
    const shops = await Promise.all(
      ['North', 'South', 'East'].map((name) => createTestMerchant(ctx, { name: `Shop ${name}` })),
    );
    const revoked = await createTestMerchant(ctx, { name: 'Shop Revoked' });
    await revokeApiKey(ctx.db.sql, revoked.apiKey.id);
    const requests = Array.from({ length: 24 }, (_, i) => shops[i % 3]!);
    const [responses, refused] = await Promise.all([
      Promise.all(
        requests.map((s, i) =>
          ctx.app.request(
            '/v1/invoices',
            jsonRequest(s.apiKey.apiKey, { amount: '100.00', currency: 'KZT', orderId: `o-${i}` }),
          ),
        ),
      ),
      ctx.app.request(
        '/v1/invoices',
        jsonRequest(revoked.apiKey.apiKey, { amount: '1.00', currency: 'KZT' }),
      ),
    ]);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ code: 'api_key_revoked' });
    const made = await Promise.all(
      responses.map(async (r) => {
        expect(r.status).toBe(201);
        return (await r.json()) as { id: string; orderId: string; paymentOptions: { uri: string }[] };
      }),
    );
    const owners = await ctx.db.sql<{ id: string; merchant_id: string }[]>`
      select id, merchant_id from invoices where id in ${ctx.db.sql(made.map((m) => m.id))}`;
    const ownerOf = new Map(owners.map((o) => [o.id, o.merchant_id]));
    made.forEach((inv, i) => {
      const shop = requests[i]!;
      expect(inv.orderId).toBe(`o-${i}`);
      expect(ownerOf.get(inv.id)).toBe(shop.merchant.id);
      // The merchant's own name labels the payment URI.
      const label = encodeURIComponent(shop.merchant.name);
      for (const o of inv.paymentOptions) expect(o.uri).toContain(`label=${label}`);
    });
    // And each merchant lists exactly its own eight.
    for (const s of shops) {
      const list = (await (
        await ctx.app.request('/v1/invoices?limit=100', jsonRequest(s.apiKey.apiKey))
      ).json()) as { data: { id: string }[] };
      const mine = made.filter((_, i) => requests[i] === s).map((m) => m.id);
      expect(list.data.map((d) => d.id).sort()).toEqual(mine.sort());
    }
  });
});
