// The tick's own housekeeping (src/watch/tick.ts): Idempotency-Keys older than a day are forgotten,
// and finding them does not read the whole table.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTick } from '../../src/watch/tick';
import { createTestContext, createTestMerchant, type TestContext } from '../helpers/services';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx?.close());

describe('runTick', () => {
  it('forgets Idempotency-Keys older than a day, and only those', async () => {
    const { merchant } = await createTestMerchant(ctx);
    const key = (name: string, ageHours: number) => ctx.db.sql`
      insert into idempotency_keys (merchant_id, key, request_hash, state, created_at)
      values (${merchant.id}, ${name}, 'h', 'done', now() - ${`${ageHours} hours`}::interval)`;
    await key('old', 25);
    await key('recent', 23);
    await runTick(ctx.services);
    const rows = await ctx.db.sql<{ key: string }[]>`
      select key from idempotency_keys where merchant_id = ${merchant.id} order by key`;
    expect(rows.map((r) => r.key)).toEqual(['recent']);
  });

  it('finds them by an index on their age, not by reading every key', async () => {
    const plan = await ctx.db.sql.begin(async (tx) => {
      await tx`set local enable_seqscan = off`;
      return tx<{ 'QUERY PLAN': string }[]>`
        explain delete from idempotency_keys where created_at < now() - interval '1 day'`;
    });
    expect(plan.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/idempotency_keys_created_at/);
  });
});
