// Shared set-up for the AML tests: a fresh database with the gateway's services, a sandbox merchant,
// invoices on bitcoin-regtest, synthetic payments recorded and screened in one transaction (as the
// chain watchers do), and regulators with fast scrypt parameters.
import { importList } from '../../src/aml/lists/store';
import type { PaymentScreeningOutcome } from '../../src/aml/screen';
import { createInvoice } from '../../src/invoices/create';
import { type Invoice, loadInvoice } from '../../src/invoices/repository';
import type { CreateInvoiceInput } from '../../src/invoices/schema';
import { recordPayment } from '../../src/invoices/state';
import { createRegulator } from '../../src/regulator/accounts';
import type { Services } from '../../src/services';
import { createTestContext, createTestMerchant, type TestContext } from '../helpers/services';

export const OPTION = 'BTC@bitcoin-regtest';
/** A regtest payer (BIP173's P2WPKH program under the regtest hrp). */
export const PAYER_BTC = 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080';
/** anvil's account #1, a sandbox wallet. */
export const PAYER_EVM = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

export async function amlContext(
  env: Record<string, string> = {},
  overrides: Partial<Omit<Services, 'config' | 'sql'>> = {},
): Promise<TestContext & { merchantId: string; apiKey: string }> {
  const ctx = await createTestContext({ REGULATOR_SCRYPT_LOG_N: '10', ...env }, overrides);
  const { merchant, apiKey } = await createTestMerchant(ctx, { bin: '123456789012' });
  return { ...ctx, merchantId: merchant.id, apiKey: apiKey.apiKey };
}

export async function newInvoice(
  ctx: TestContext,
  merchantId: string,
  amount = '15000.00',
): Promise<Invoice> {
  return createInvoice(ctx.services, merchantId, {
    amount,
    currency: 'KZT',
    options: [OPTION],
  } as CreateInvoiceInput);
}

let txCounter = 0;

/** Records a payment of `amountTiyn` (default: the whole invoice) and screens it, in one transaction. */
export async function payAndScreen(
  ctx: TestContext,
  inv: Invoice,
  opts: { from?: string[]; amountTiyn?: bigint; confirmations?: number; txid?: string } = {},
): Promise<{ paymentId: string; outcome: PaymentScreeningOutcome; invoice: Invoice }> {
  const option = inv.options[0]!;
  const amountTiyn = opts.amountTiyn ?? inv.amountTiyn;
  const amountAtomic = (option.amountAtomic * amountTiyn) / inv.amountTiyn || 1n;
  const txid = opts.txid ?? (++txCounter).toString(16).padStart(64, 'a');
  const from = opts.from ?? [PAYER_BTC];
  // The way the watchers do it: screening inside recordPayment, before the state is derived.
  return ctx.db.sql.begin(async (tx) => {
    let outcome: PaymentScreeningOutcome | undefined;
    const rec = await recordPayment(
      tx,
      ctx.services.state,
      {
        invoiceId: inv.id,
        option: option.option,
        network: option.network,
        txid,
        outputIndex: 0,
        fromAddresses: from,
        amountAtomic,
        amountTiyn,
        confirmations: opts.confirmations ?? 0,
        blockHash: null,
        blockHeight: null,
        rbf: false,
      },
      {
        screen: async (t, paymentId) => {
          outcome = await ctx.services.screening.screenPayment(t, {
            invoiceId: inv.id,
            paymentId,
            merchantId: inv.merchantId,
            network: option.network,
            senders: from,
            amountTiyn,
            deferState: true,
          });
          return outcome;
        },
      },
    );
    // A re-sighting of a known payment is not screened again; report what the first screening did.
    outcome ??= await ctx.services.screening.screenPayment(tx, {
      invoiceId: inv.id,
      paymentId: rec.paymentId,
      merchantId: inv.merchantId,
      network: option.network,
      senders: from,
      amountTiyn,
    });
    return { paymentId: rec.paymentId, outcome, invoice: (await loadInvoice(tx, inv.id))! };
  });
}

export async function confirm(ctx: TestContext, paymentId: string, confirmations = 1): Promise<Invoice> {
  const { confirmPayment } = await import('../../src/invoices/state');
  return ctx.db.sql.begin((tx) =>
    confirmPayment(tx, ctx.services.state, paymentId, confirmations, { hash: 'bb'.repeat(32), height: 101n }),
  );
}

export async function operatorList(ctx: TestContext, csv: string, listId = 'operator') {
  const { parseCsvList } = await import('../../src/aml/lists/csv');
  const r = await importList(ctx.db.sql, {
    listId,
    name: "Operator's list",
    source: 'csv',
    entries: parseCsvList(csv),
    actor: 'test',
  });
  await ctx.services.screening.refresh();
  return r;
}

export async function newRegulator(ctx: TestContext, name: string, email: string, password?: string) {
  return createRegulator(ctx.db.sql, { name, email, password, scryptLogN: 10 });
}

export async function outboxTypes(ctx: TestContext, invoiceId: string): Promise<string[]> {
  const rows = await ctx.db.sql<{ type: string }[]>`select type from outbox where invoice_id = ${invoiceId}
    order by id`;
  return rows.map((r) => r.type);
}
