// Issue 13 item 11: an option below its network's dust limit is not offered (no wallet could pay it);
// with none left, 422 naming `amount`. Fixed sandbox rates: 1 BTC = 50,000,000 KZT, 1 LTC = 50,000 KZT.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dustLimit } from '../../src/chains/utxo/dust';
import { createTestContext, createTestMerchant, type TestContext } from '../helpers/services';
import { expectProblem } from './api-support';

let ctx: TestContext;
let apiKey: string;
let merchantId: string;
beforeAll(async () => {
  ctx = await createTestContext();
  const made = await createTestMerchant(ctx); // p2wpkh keys on bitcoin-regtest and litecoin-regtest
  apiKey = made.apiKey.apiKey;
  merchantId = made.merchant.id;
});
afterAll(() => ctx.close());

const create = (body: Record<string, unknown>) =>
  ctx.app.request('/v1/invoices', {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ currency: 'KZT', ...body }),
  });

const offered = async (res: Response) => {
  expect(res.status).toBe(201);
  const inv = (await res.json()) as { paymentOptions: { option: string; amountAtomic: string }[] };
  return inv.paymentOptions.map((o) => [o.option, o.amountAtomic]);
};

describe('dust limits', () => {
  it("uses Bitcoin Core's rule per address type, and Litecoin Core's ten times higher relay fee", () => {
    expect(dustLimit('bitcoin', 'p2pkh')).toBe(546n);
    expect(dustLimit('bitcoin', 'p2sh-p2wpkh')).toBe(540n);
    expect(dustLimit('bitcoin-regtest', 'p2wpkh')).toBe(294n);
    expect(dustLimit('bitcoin', 'p2tr')).toBe(330n);
    expect(dustLimit('litecoin-regtest', 'p2wpkh')).toBe(2940n);
  });

  it('a 0.01 KZT invoice (1 sat, 20 litoshi) is refused with 422 naming amount, and no address is used', async () => {
    const [before] = await ctx.db.sql`select sum(next_index)::int as n from derivation_indexes
      where merchant_id = ${merchantId}`;
    const problem = await expectProblem(await create({ amount: '0.01' }), 422, 'amount_too_small');
    expect(problem.errors?.map((e) => e.path)).toEqual(['amount']);
    expect(problem.errors?.[0]?.message).toMatch(/BTC@bitcoin-regtest needs at least 294/);
    expect(problem.errors?.[0]?.message).toMatch(/LTC@litecoin-regtest needs at least 2940/);
    const [after] = await ctx.db.sql`select sum(next_index)::int as n from derivation_indexes
      where merchant_id = ${merchantId}`;
    expect(after).toEqual(before);
    // Asked for explicitly, the same.
    await expectProblem(
      await create({ amount: '0.01', options: ['BTC@bitcoin-regtest'] }),
      422,
      'amount_too_small',
    );
  });

  it('offers only the options above their limit: 100 KZT is 200 sat (dust) but 200,000 litoshi', async () => {
    expect(await offered(await create({ amount: '100.00' }))).toEqual([['LTC@litecoin-regtest', '200000']]);
    // Exactly at the limit is payable.
    expect(await offered(await create({ amount: '147.00', options: ['BTC@bitcoin-regtest'] }))).toEqual([
      ['BTC@bitcoin-regtest', '294'],
    ]);
  });
});
