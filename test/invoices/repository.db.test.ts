// Reading an invoice: the plain read (one statement, children as JSON) and the locked read (three
// statements) give the same invoice, digit for digit, in the same order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInvoice, loadInvoiceWithMerchantName } from '../../src/invoices/repository';
import { newId } from '../../src/lib/ids';
import { createMerchant } from '../../src/merchants/repository';
import { freshDatabase, type TestDatabase } from '../helpers/db';

let db: TestDatabase;
let merchantId: string;
let otherMerchantId: string;
let invoiceId: string;
let emptyId: string;

// Above 2^53: a JSON number would lose these digits.
const WEI = 123_456_789_012_345_678_901_234n;
const HEIGHT = 9_007_199_254_740_993n;
const TIYN = 9_007_199_254_740_995n;

beforeAll(async () => {
  db = await freshDatabase();
  merchantId = (await createMerchant(db.sql, { name: 'Repository Café', mode: 'test' })).merchant.id;
  otherMerchantId = (await createMerchant(db.sql, { name: 'Other', mode: 'test' })).merchant.id;
  const expiresAt = new Date('2026-12-04T10:00:00.123Z');
  const insertInvoice = async (id: string) => {
    await db.sql`insert into invoices (id, merchant_id, amount_tiyn, speed_policy, payment_tolerance_bp,
        expires_at, monitoring_until, metadata)
      values (${id}, ${merchantId}, 1500000, 'medium', 0, ${expiresAt}, ${new Date(expiresAt.getTime() + 86_400_000)},
        ${db.sql.json({ order: 'A-1' })})`;
  };
  invoiceId = newId('inv');
  emptyId = newId('inv');
  await insertInvoice(invoiceId);
  await insertInvoice(emptyId);
  const rate = { kztPerUnit: '1500000.00', at: '2026-12-04T09:45:00.000Z', chain: ['fixed'], sources: [] };
  // Inserted out of order: both reads sort by option.
  for (const [option, asset, network, amount, index, details] of [
    ['USDC@anvil', 'USDC', 'anvil', WEI, null, { token: '0xabc', routerAddress: '0xdef' }],
    ['BTC@bitcoin-regtest', 'BTC', 'bitcoin-regtest', 2_000n, 7, {}],
  ] as const) {
    await db.sql`insert into payment_options (invoice_id, option, asset, network, address, amount_atomic,
        decimals, rate, uri, expires_at, derivation_index, details)
      values (${invoiceId}, ${option}, ${asset}, ${network}, ${`addr-${option}`}, ${amount.toString()}, 8,
        ${db.sql.json(rate)}, ${`uri:${option}`}, ${expiresAt}, ${index}, ${db.sql.json(details)})`;
  }
  const payment = async (p: {
    id: string;
    seenAt: string;
    amountAtomic: bigint;
    blockHeight: bigint | null;
    confirmedAt: Date | null;
  }) => {
    await db.sql`insert into payments (id, invoice_id, option, network, txid, output_index, from_addresses,
        amount_atomic, amount_tiyn, confirmations, block_hash, block_height, rbf, status, seen_at,
        confirmed_at, unattributed)
      values (${p.id}, ${invoiceId}, 'USDC@anvil', 'anvil', ${`tx-${p.id}`}, -1,
        ${db.sql.array(['0xsender', '0xother'])}, ${p.amountAtomic.toString()}, ${TIYN.toString()}, 3,
        ${p.blockHeight === null ? null : 'hash'}, ${p.blockHeight === null ? null : p.blockHeight.toString()},
        true, ${p.confirmedAt ? 'confirmed' : 'seen'}, ${new Date(p.seenAt)}, ${p.confirmedAt}, false)`;
  };
  await payment({
    id: 'pay_b',
    seenAt: '2026-12-04T09:50:00.456Z',
    amountAtomic: 5n,
    blockHeight: null,
    confirmedAt: null,
  });
  await payment({
    id: 'pay_a',
    seenAt: '2026-12-04T09:49:00.789Z',
    amountAtomic: WEI,
    blockHeight: HEIGHT,
    confirmedAt: new Date('2026-12-04T09:55:00.001Z'),
  });
});
afterAll(async () => {
  await db.close();
});

describe('loadInvoice', () => {
  it('reads the same invoice in one statement as the locked read does in three', async () => {
    const plain = await loadInvoice(db.sql, invoiceId);
    const locked = await db.sql.begin((tx) => loadInvoice(tx, invoiceId, { forUpdate: true }));
    expect(plain).toBeDefined();
    expect(plain).toEqual(locked);
    expect(plain!.options.map((o) => o.option)).toEqual(['BTC@bitcoin-regtest', 'USDC@anvil']);
    expect(plain!.options[1]!.amountAtomic).toBe(WEI);
    expect(plain!.options[1]!.derivationIndex).toBeNull();
    expect(plain!.options[1]!.details).toEqual({ token: '0xabc', routerAddress: '0xdef' });
    expect(plain!.options[0]!.expiresAt.toISOString()).toBe('2026-12-04T10:00:00.123Z');
    // Ordered by seen_at; digits and times kept.
    expect(plain!.payments.map((p) => p.id)).toEqual(['pay_a', 'pay_b']);
    const [a, b] = plain!.payments;
    expect(a!.amountAtomic).toBe(WEI);
    expect(a!.amountTiyn).toBe(TIYN);
    expect(a!.blockHeight).toBe(HEIGHT);
    expect(a!.fromAddresses).toEqual(['0xsender', '0xother']);
    expect(a!.confirmedAt?.toISOString()).toBe('2026-12-04T09:55:00.001Z');
    expect(a!.seenAt.toISOString()).toBe('2026-12-04T09:49:00.789Z');
    expect(b!.blockHeight).toBeNull();
    expect(b!.confirmedAt).toBeNull();
    expect(plain!.metadata).toEqual({ order: 'A-1' });
  });

  it('reads an invoice with no options or payments as empty lists', async () => {
    const inv = await loadInvoice(db.sql, emptyId);
    expect(inv?.options).toEqual([]);
    expect(inv?.payments).toEqual([]);
  });

  it('is scoped to the merchant when asked, plain or locked', async () => {
    expect(await loadInvoice(db.sql, invoiceId, { merchantId })).toBeDefined();
    expect(await loadInvoice(db.sql, invoiceId, { merchantId: otherMerchantId })).toBeUndefined();
    const locked = await db.sql.begin((tx) =>
      loadInvoice(tx, invoiceId, { merchantId: otherMerchantId, forUpdate: true }),
    );
    expect(locked).toBeUndefined();
    expect(await loadInvoice(db.sql, newId('inv'))).toBeUndefined();
  });

  it('reads the invoice with its merchant name in one statement', async () => {
    const found = await loadInvoiceWithMerchantName(db.sql, invoiceId);
    expect(found?.merchantName).toBe('Repository Café');
    expect(found?.invoice).toEqual(await loadInvoice(db.sql, invoiceId));
    expect(await loadInvoiceWithMerchantName(db.sql, newId('inv'))).toBeUndefined();
  });
});
