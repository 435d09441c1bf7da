// Bad input to POST /v1/invoices (the list): each a 4xx problem+json naming the field, with
// nothing written. Authentication failures, an unavailable rate, and an internal failure.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { revokeApiKey } from '../../src/merchants/apikeys';
import { createMerchant } from '../../src/merchants/repository';
import { checkContract } from '../helpers/contract';
import { createTestContext, createTestMerchant, jsonRequest, type TestContext } from '../helpers/services';
import {
  type ControlledRates,
  controlledRates,
  expectProblem,
  paths,
  type WriteSnapshot,
  writeSnapshot,
} from './api-support';

let ctx: TestContext;
let rates: ControlledRates;
let key: string;
let btcOnlyKey: string;
let snapshot: WriteSnapshot;

beforeAll(async () => {
  rates = controlledRates();
  ctx = await createTestContext({}, { rates });
  await checkContract(ctx.app); // every answer below is checked against /openapi.json
  key = (await createTestMerchant(ctx, { name: 'Shop' })).apiKey.apiKey;
  const btcOnly = await createTestMerchant(ctx, { name: 'BTC only' });
  btcOnlyKey = btcOnly.apiKey.apiKey;
  // Only a bitcoin-regtest key: drop its litecoin one.
  await ctx.db
    .sql`delete from derivation_indexes where merchant_id = ${btcOnly.merchant.id} and network = 'litecoin-regtest'`;
  await ctx.db
    .sql`delete from merchant_keys where merchant_id = ${btcOnly.merchant.id} and network = 'litecoin-regtest'`;
  // A good request works, so every refusal below is about the one thing changed.
  expect((await post({ amount: '15000.00', currency: 'KZT' })).status).toBe(201);
});
afterAll(() => ctx.close());
beforeEach(async () => {
  rates.mode = 'up';
  snapshot = await writeSnapshot(ctx.db.sql);
});
const nothingWritten = async () => expect(await writeSnapshot(ctx.db.sql)).toEqual(snapshot);

const post = (body: unknown, k: string = key, headers: Record<string, string> = {}) =>
  ctx.app.request('/v1/invoices', jsonRequest(k, body, headers));
const ok = { amount: '15000.00', currency: 'KZT' };

describe('bad fields → 422 naming each one, nothing written', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['amount with 3 decimals', { ...ok, amount: '15000.001' }, 'amount'],
    ['negative amount', { ...ok, amount: '-5.00' }, 'amount'],
    ['zero amount', { ...ok, amount: '0' }, 'amount'],
    ['zero amount with decimals', { ...ok, amount: '0.00' }, 'amount'],
    ['absurdly large amount', { ...ok, amount: '100000000000000000000' }, 'amount'],
    ['amount just over the maximum', { ...ok, amount: '100000000000.01' }, 'amount'],
    ['a number instead of a string', { ...ok, amount: 15000 }, 'amount'],
    ['an exponent', { ...ok, amount: '1.5e4' }, 'amount'],
    ['a comma', { ...ok, amount: '15000,00' }, 'amount'],
    ['spaces', { ...ok, amount: ' 15000.00' }, 'amount'],
    ['no amount', { currency: 'KZT' }, 'amount'],
    ['amount null', { ...ok, amount: null }, 'amount'],
    ['currency USD', { ...ok, currency: 'USD' }, 'currency'],
    ['currency kzt (lower case)', { ...ok, currency: 'kzt' }, 'currency'],
    ['no currency', { amount: '1.00' }, 'currency'],
    ['metadata a string', { ...ok, metadata: 'table 12' }, 'metadata'],
    ['metadata an array', { ...ok, metadata: [1, 2] }, 'metadata'],
    ['metadata null', { ...ok, metadata: null }, 'metadata'],
    ['metadata too big', { ...ok, metadata: { blob: 'x'.repeat(9000) } }, 'metadata'],
    ['metadata with a NUL character', { ...ok, metadata: { note: 'a\u0000b' } }, 'metadata'],
    ['metadata key with a NUL character', { ...ok, metadata: { 'a\u0000': 1 } }, 'metadata'],
    ['metadata with a lone surrogate', { ...ok, metadata: { note: 'a\ud800b' } }, 'metadata'],
    [
      'metadata with too many keys',
      { ...ok, metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i])) },
      'metadata',
    ],
    ['description with a NUL character', { ...ok, description: 'two\u0000lattes' }, 'description'],
    ['description too long', { ...ok, description: 'x'.repeat(1001) }, 'description'],
    ['orderId empty', { ...ok, orderId: '' }, 'orderId'],
    ['orderId a number', { ...ok, orderId: 42 }, 'orderId'],
    ['options a string', { ...ok, options: 'BTC@bitcoin-regtest' }, 'options'],
    ['options empty', { ...ok, options: [] }, 'options'],
    ['expiresInMinutes zero', { ...ok, expiresInMinutes: 0 }, 'expiresInMinutes'],
    ['expiresInMinutes fractional', { ...ok, expiresInMinutes: 1.5 }, 'expiresInMinutes'],
    ['expiresInMinutes a string', { ...ok, expiresInMinutes: '15' }, 'expiresInMinutes'],
    ['expiresInMinutes over the maximum', { ...ok, expiresInMinutes: 10081 }, 'expiresInMinutes'],
    ['redirectUrl javascript:', { ...ok, redirectUrl: 'javascript:alert(1)' }, 'redirectUrl'],
    ['redirectUrl not a URL', { ...ok, redirectUrl: 'thanks page' }, 'redirectUrl'],
    ['buyerEmail not an address', { ...ok, buyerEmail: 'buyer at example' }, 'buyerEmail'],
    ['an unknown field', { ...ok, amout: '15000.00' }, 'amout'],
  ])('%s', async (_what, body, field) => {
    const p = await expectProblem(await post(body), 422, 'validation_failed');
    expect(paths(p)).toContain(field);
    for (const e of p.errors!) expect(e.message.length).toBeGreaterThan(0);
    await nothingWritten();
  });

  it('names the real expiry range in the message', async () => {
    const p = await expectProblem(await post({ ...ok, expiresInMinutes: 10081 }), 422, 'validation_failed');
    expect(p.errors).toContainEqual({
      path: 'expiresInMinutes',
      message: 'expiresInMinutes must be between 1 and 10080 minutes',
    });
  });

  it('names every bad field at once', async () => {
    const p = await expectProblem(
      await post({ amount: '1.001', currency: 'EUR', metadata: 'x', expiresInMinutes: -1 }),
      422,
    );
    expect(paths(p).sort()).toEqual(['amount', 'currency', 'expiresInMinutes', 'metadata']);
    await nothingWritten();
  });

  it('the body is not an object', async () => {
    for (const body of ['[]', '"15000.00"', '42', 'null']) {
      const p = await expectProblem(await post(body), 422);
      expect(p.errors!.length).toBeGreaterThan(0);
    }
    await nothingWritten();
  });
});

describe('payment options that cannot be offered → 422 naming the option, nothing written', () => {
  it.each<[string, string[], string, RegExp]>([
    ['an unknown option', ['DOGE@dogecoin'], 'options[0]', /unknown payment option/],
    ['an asset not on that network', ['USDC@bitcoin-regtest'], 'options[0]', /unknown payment option/],
    ['no network part', ['BTC'], 'options[0]', /unknown payment option/],
    ['a network of another mode', ['BTC@bitcoin-testnet4'], 'options[0]', /not available in sandbox/],
    ['the second of two', ['BTC@bitcoin-regtest', 'BTC@bitcoin'], 'options[1]', /not available/],
    ['a duplicate', ['BTC@bitcoin-regtest', 'BTC@bitcoin-regtest'], 'options[1]', /twice/],
    ['an EVM option (no EVM adapter yet)', ['ETH@anvil'], 'options[0]', /EVM/],
  ])('%s', async (_what, options, field, message) => {
    const p = await expectProblem(await post({ ...ok, options }), 422);
    expect(p.code).toBe('option_unavailable');
    expect(p.errors).toEqual([{ path: field, message: expect.stringMatching(message) }]);
    await nothingWritten();
  });

  it('an option for a network the merchant has no key for', async () => {
    const p = await expectProblem(await post({ ...ok, options: ['LTC@litecoin-regtest'] }, btcOnlyKey), 422);
    expect(p.code).toBe('option_unavailable');
    expect(p.errors).toEqual([
      { path: 'options[0]', message: expect.stringMatching(/no account key.*litecoin-regtest/) },
    ]);
    await nothingWritten();
    // Its default options are what it has keys for.
    expect((await post(ok, btcOnlyKey)).status).toBe(201);
  });

  it('a merchant with no key at all → 422 no_payment_options', async () => {
    const bare = await createMerchant(ctx.db.sql, { name: 'Bare', mode: 'test' });
    const before = await writeSnapshot(ctx.db.sql);
    const p = await expectProblem(await post(ok, bare.apiKey.apiKey), 422, 'no_payment_options');
    expect(paths(p)).toEqual(['options']);
    expect(await writeSnapshot(ctx.db.sql)).toEqual(before);
  });
});

describe('the body itself', () => {
  it('not JSON → 400 invalid_json', async () => {
    for (const body of ['{"amount": "1.00",', 'amount=1', '{amount: "1"}']) {
      await expectProblem(await post(body), 400, 'invalid_json');
    }
    await nothingWritten();
  });

  it('wrong or missing content type → 415', async () => {
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonx',
    ]) {
      const res = await ctx.app.request('/v1/invoices', {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': type },
        body: JSON.stringify(ok),
      });
      await expectProblem(res, 415, 'unsupported_media_type');
    }
    const none = await ctx.app.request('/v1/invoices', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body: new Blob([JSON.stringify(ok)]),
    });
    await expectProblem(none, 415, 'unsupported_media_type');
    // A charset parameter is fine.
    const withCharset = await post(ok, key, { 'content-type': 'application/json; charset=utf-8' });
    expect(withCharset.status).toBe(201);
  });

  it('over the body limit → 413, with or without a Content-Length', async () => {
    const big = JSON.stringify({ ...ok, description: 'x'.repeat(70 * 1024) });
    await expectProblem(
      await post(big, key, { 'content-length': String(big.length) }),
      413,
      'payload_too_large',
    );
    await expectProblem(await post(big), 413, 'payload_too_large');
    await nothingWritten();
  });
});

describe('authentication → 401 with a code, nothing written', () => {
  const attempt = (authorization: string | undefined) =>
    ctx.app.request('/v1/invoices', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify(ok),
    });

  it.each<[string, string | undefined, string]>([
    ['missing', undefined, 'unauthenticated'],
    ['not Bearer', 'Basic dXNlcjpwYXNz', 'unauthenticated'],
    ['Bearer without a key', 'Bearer ', 'unauthenticated'],
    ['malformed', 'Bearer sk_test_short', 'api_key_malformed'],
    ['not a key at all', 'Bearer hello', 'api_key_malformed'],
    ['unknown', 'Bearer sk_test_4hGtk5fK2o1LQcD7q8dNQ1ZqWv8C9m3bHjXyT6pRsEaU', 'api_key_invalid'],
  ])('%s', async (_what, authorization, code) => {
    const res = await attempt(authorization);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    await expectProblem(res, 401, code);
    await nothingWritten();
  });

  it('revoked', async () => {
    const m = await createTestMerchant(ctx, { name: 'Revoked' });
    await revokeApiKey(ctx.db.sql, m.apiKey.id);
    const before = await writeSnapshot(ctx.db.sql);
    await expectProblem(await attempt(`Bearer ${m.apiKey.apiKey}`), 401, 'api_key_revoked');
    expect(await writeSnapshot(ctx.db.sql)).toEqual(before);
  });

  it('a live key on a sandbox gateway', async () => {
    const live = await createTestMerchant(ctx, { name: 'Live', mode: 'live' });
    expect(live.apiKey.apiKey).toMatch(/^sk_live_/);
    const before = await writeSnapshot(ctx.db.sql);
    await expectProblem(await attempt(`Bearer ${live.apiKey.apiKey}`), 401, 'api_key_wrong_mode');
    expect(await writeSnapshot(ctx.db.sql)).toEqual(before);
  });

  it('a regulator key cannot act as a merchant (403)', async () => {
    await expectProblem(await attempt(`Bearer rk_test_${'a'.repeat(44)}`), 403, 'forbidden');
  });

  it('every merchant route wants a key', async () => {
    for (const [method, path] of [
      ['GET', '/v1/invoices'],
      ['GET', '/v1/invoices/inv_00000000000000000000000000'],
      ['POST', '/v1/invoices/inv_00000000000000000000000000/cancel'],
      ['GET', '/v1/rates'],
    ] as const) {
      await expectProblem(await ctx.app.request(path, { method }), 401, 'unauthenticated');
    }
  });

  it('the error never echoes the key', async () => {
    const secret = 'sk_test_4hGtk5fK2o1LQcD7q8dNQ1ZqWv8C9m3bHjXyT6pRsEaU';
    const text = await (await attempt(`Bearer ${secret}`)).text();
    expect(text).not.toContain(secret.slice(8));
  });
});

describe('outside failures', () => {
  it('no rate available → 503 with Retry-After, nothing written', async () => {
    rates.mode = 'down';
    const res = await post(ok);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    const p = await expectProblem(res, 503, 'rate_unavailable');
    expect(p.detail).toMatch(/exchange rate/);
    await nothingWritten();
    const r2 = await ctx.app.request('/v1/rates?assets=BTC', jsonRequest(key));
    await expectProblem(r2, 503, 'rate_unavailable');
  });

  it('an unexpected failure → 500 internal_error, with no internals in the answer', async () => {
    rates.mode = 'crash';
    const p = await expectProblem(await post(ok), 500, 'internal_error');
    expect(p.detail).not.toMatch(/exploded|postgres/);
    await nothingWritten();
  });
});
