// SPEC section 2: an option is offered only where something watches its network. The sandbox runs a
// Litecoin node and no Bitcoin node, so BTC@bitcoin-regtest is neither a default nor accepted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { createInvoice } from '../../src/invoices/create';
import { ValidationError } from '../../src/lib/errors';
import { silentLogger } from '../../src/lib/log';
import { getMerchant } from '../../src/merchants/repository';
import { createRatesService } from '../../src/rates/aggregate';
import { createFixedSource } from '../../src/rates/sources/fixed';
import { seedDemo } from '../../src/seed';
import { createServices, type Services } from '../../src/services';
import { createTestContext, createTestMerchant, type TestContext } from '../helpers/services';

describe('options offered only where a watcher runs', () => {
  let ctx: TestContext;
  let services: Services;
  beforeAll(async () => {
    ctx = await createTestContext();
    // As a gateway builds them: a Litecoin regtest node is configured (never called here), no Bitcoin one.
    const config = loadConfig({
      NETWORK_MODE: 'sandbox',
      PUBLIC_URL: 'http://gateway.test',
      LITECOIN_REGTEST_RPC_URL: 'http://u:p@127.0.0.1:1',
    });
    services = createServices(config, ctx.db.sql, {
      logger: silentLogger,
      rates: createRatesService({ sources: [createFixedSource()], maxAgeMs: 60_000, cacheTtlMs: 0 }),
    });
  });
  afterAll(() => ctx?.close());

  it('leaves an unwatched network out of the default options', async () => {
    const { merchant } = await createTestMerchant(ctx);
    expect(merchant.enabledOptions).toContain('BTC@bitcoin-regtest');
    const invoice = await createInvoice(services, merchant.id, { amount: '15000.00', currency: 'KZT' });
    expect(invoice.options.map((o) => o.option)).toEqual(['LTC@litecoin-regtest']);
  });

  it('refuses an unwatched network asked for by name, naming the field and the missing node', async () => {
    const { merchant } = await createTestMerchant(ctx);
    const err = await createInvoice(services, merchant.id, {
      amount: '15000.00',
      currency: 'KZT',
      options: ['LTC@litecoin-regtest', 'BTC@bitcoin-regtest'],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).errors).toEqual([
      { path: 'options[1]', message: expect.stringContaining('BITCOIN_REGTEST_RPC_URL') },
    ]);
  });

  it("the demo merchant's keys are the sandbox's watched chains only", async () => {
    const demo = await seedDemo(ctx.db.sql, 'test', { scryptLogN: 10, regulatorScryptLogN: 10 });
    const m = (await getMerchant(ctx.db.sql, demo.merchant!.merchantId))!;
    expect(m.keys.map((k) => k.network)).toEqual(['litecoin-regtest']);
    expect(m.enabledOptions.some((o) => o.startsWith('BTC@'))).toBe(false);
  });
});
