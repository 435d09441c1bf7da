// Issue 13 item 9: a merchant whose account key's next addresses are held by another merchant (a key
// registered before such keys were refused) gets a clear 409 or an invoice at a free index, never a 500.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestContext,
  createTestMerchant,
  randomAccountKey,
  type TestContext,
} from '../helpers/services';
import { expectProblem } from './api-support';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

/** A victim with `key`, and a squatter holding the same key (inserted as an older gateway allowed). */
async function victimAndSquatter(key: string) {
  const victim = await createTestMerchant(ctx, { name: 'Victim', xpubs: { 'bitcoin-regtest': key } });
  const squatter = await createTestMerchant(ctx, { name: 'Squatter', xpubs: {} });
  const first = victim.merchant.keys[0]!;
  await ctx.db.sql`insert into merchant_keys (merchant_id, network, key_text, script_type, first_address)
    values (${squatter.merchant.id}, 'bitcoin-regtest', ${key}, ${first.scriptType}, ${first.firstAddress})`;
  await ctx.db.sql`insert into derivation_indexes (merchant_id, network, next_index)
    values (${squatter.merchant.id}, 'bitcoin-regtest', 0)`;
  return { victim: victim.apiKey.apiKey, squatter: squatter.apiKey.apiKey };
}

const create = (apiKey: string) =>
  ctx.app.request('/v1/invoices', {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ amount: '1500.00', currency: 'KZT', options: ['BTC@bitcoin-regtest'] }),
  });

describe('address collisions with another merchant', () => {
  it('skips the indexes already issued to the other merchant', async () => {
    const { victim, squatter } = await victimAndSquatter(randomAccountKey());
    const taken: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await create(squatter);
      expect(res.status).toBe(201);
      taken.push(
        ((await res.json()) as { paymentOptions: { address: string }[] }).paymentOptions[0]!.address,
      );
    }
    const res = await create(victim);
    expect(res.status).toBe(201);
    const address = ((await res.json()) as { paymentOptions: { address: string }[] }).paymentOptions[0]!
      .address;
    expect(taken).not.toContain(address);
  });

  it('answers 409 problem+json, not 500, when every address it tries is taken; nothing is written', async () => {
    const { victim, squatter } = await victimAndSquatter(randomAccountKey());
    for (let i = 0; i < 20; i++) expect((await create(squatter)).status).toBe(201);
    const [before] = await ctx.db.sql`select count(*)::int as n from invoices`;
    const problem = await expectProblem(await create(victim), 409, 'addresses_unavailable');
    expect(problem.detail).toMatch(/account key/);
    const [after] = await ctx.db.sql`select count(*)::int as n from invoices`;
    expect(after).toEqual(before);
  });
});
