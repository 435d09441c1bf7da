// Finding watched options by what a backend sees (every issued address stays watched, and there may
// be millions, so watchers look them up instead of holding them): by the address as issued, by an EVM
// address in any case, by output script, by invoice key, past the per-query chunk; and the Esplora
// schedule's reconciliation gives a row to an address issued out of order, once.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAddressPollSchedule } from '../../src/chains/utxo/poll-schedule';
import { createInvoice } from '../../src/invoices/create';
import { createWatchedLookup, findWatchedOptions } from '../../src/watch/watched';
import { createTestContext, createTestMerchant, type TestContext } from '../helpers/services';

const NETWORK = 'litecoin-regtest';
const DEPOSIT = '0x52908400098527886E0F7030069857D2E4169EE7'; // EIP-55 test vector
const KEY = `0x${'ab'.repeat(32)}`;

describe('watched options, looked up', () => {
  let ctx: TestContext;
  let merchantId: string;
  beforeEach(async () => {
    ctx = await createTestContext();
    merchantId = (await createTestMerchant(ctx)).merchant.id;
  });
  afterEach(() => ctx.close());

  async function invoice() {
    const inv = await createInvoice(ctx.services, merchantId, {
      amount: '15000.00',
      currency: 'KZT',
      options: [`LTC@${NETWORK}`],
    });
    return { id: inv.id, address: inv.options[0]!.address };
  }

  it('finds an issued option by address, script, EVM address in any case and invoice key; nothing else', async () => {
    const a = await invoice();
    const b = await invoice();
    const sql = ctx.db.sql;
    // An EVM option of `b`'s invoice, as the EVM adapter stores it (checksummed address, invoice key).
    await sql`insert into payment_options (invoice_id, option, asset, network, address, amount_atomic,
        decimals, rate, uri, expires_at, details)
      select invoice_id, 'ETH@anvil', 'ETH', 'anvil', ${DEPOSIT}, 1, 18, rate, 'ethereum:x', expires_at,
        ${sql.json({ invoiceKey: KEY })}
      from payment_options where invoice_id = ${b.id}`;
    const [row] = await sql<{ script: string }[]>`select details->>'scriptPubKey' as script
      from payment_options where invoice_id = ${a.id}`;

    const byAddress = await findWatchedOptions(sql, NETWORK, 'address', [a.address, 'rltc1qnotissued']);
    expect([...byAddress.keys()]).toEqual([a.address]);
    expect(byAddress.get(a.address)![0]).toMatchObject({ invoiceId: a.id, merchantId, asset: 'LTC' });

    const byScript = await findWatchedOptions(sql, NETWORK, 'scriptPubKey', [
      row!.script,
      `0014${'00'.repeat(20)}`,
    ]);
    expect(byScript.get(row!.script)!.map((o) => o.invoiceId)).toEqual([a.id]);
    expect(byScript.size).toBe(1);

    const evm = await findWatchedOptions(sql, 'anvil', 'evmAddress', [DEPOSIT.toLowerCase()]);
    expect(evm.get(DEPOSIT.toLowerCase())![0]).toMatchObject({ invoiceId: b.id, address: DEPOSIT });
    expect((await findWatchedOptions(sql, 'anvil', 'invoiceKey', [KEY])).get(KEY)![0]!.invoiceId).toBe(b.id);
    // Another network's look-up never finds them.
    expect((await findWatchedOptions(sql, NETWORK, 'evmAddress', [DEPOSIT.toLowerCase()])).size).toBe(0);

    // Past one query's chunk: the match at the end is still found.
    const many = [
      ...Array.from({ length: 2500 }, (_, i) => `0014${i.toString(16).padStart(40, '0')}`),
      row!.script,
    ];
    expect([...(await findWatchedOptions(sql, NETWORK, 'scriptPubKey', many)).keys()]).toEqual([row!.script]);

    const lookup = createWatchedLookup(sql, NETWORK, [], false);
    expect(await lookup.any()).toBe(true);
    expect(await createWatchedLookup(sql, 'bitcoin-regtest', [], false).any()).toBe(false);
    expect(await createWatchedLookup(sql, 'anvil', [], false).evmAddressesUpTo(5)).toEqual([
      DEPOSIT.toLowerCase(),
    ]);
    expect(await createWatchedLookup(sql, 'anvil', [], false).evmAddressesUpTo(0)).toBeUndefined();
  });

  it('gives every issued address without a poll row one, due at once, and no second', async () => {
    const a = await invoice();
    const b = await invoice();
    const sql = ctx.db.sql;
    const schedule = createAddressPollSchedule({ sql, network: NETWORK, budget: 'test' });
    const now = new Date();
    // `a` has its row already (issued in a round); `b` committed out of order, after the rounds' mark.
    await schedule.claimDue([{ address: a.address, invoiceId: a.id }], now);
    expect(await schedule.syncIssued(now)).toBe(1);
    expect(await schedule.syncIssued(now)).toBe(0);
    const rows = await sql<{ address: string; invoice_id: string; next_poll_at: Date }[]>`
      select address, invoice_id, next_poll_at from utxo_address_polls where invoice_id = ${b.id}`;
    expect(rows).toEqual([{ address: b.address, invoice_id: b.id, next_poll_at: now }]);
  });
});
