// The EVM watcher end to end on a real anvil and a real database: deposit-address payments in ETH and
// tokens, partial/over/late payments, payments to closed invoices, concurrent watchers, a crash
// before the cursor is saved, and a reorg — every payment counted exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkoutView } from '../../../src/checkout/routes';
import { expireDue } from '../../../src/invoices/state';
import { revertTo, snapshot } from '../../helpers/anvil';
import { createEvmTestEnv, type EvmTestEnv } from './support';

describe('EVM watcher on anvil', () => {
  let env: EvmTestEnv;
  let tick: () => ReturnType<ReturnType<EvmTestEnv['watcher']>['tick']>;
  const sql = () => env.ctx.db.sql;
  const cursor = async () =>
    (
      await sql()<{ cursor: { next: number } }[]>`select cursor from chain_cursors where name = 'evm:anvil'`
    )[0]?.cursor;
  const count = async (invoiceId: string, type: string) =>
    (await env.events(invoiceId)).filter((e) => e.type === type).length;

  beforeAll(async () => {
    env = await createEvmTestEnv();
    const w = env.watcher({ holder: 'main' });
    tick = () => w.tick();
    await tick();
  });
  afterAll(async () => {
    await env?.close();
  });

  it('credits ETH sent to the deposit address and settles it (medium: one confirmation)', async () => {
    const inv = await env.invoice();
    const txid = await env.payNative(inv.address, inv.atomic['ETH@anvil']!);
    const r = await tick();
    expect(r.recorded).toBe(1);
    const i = await env.load(inv.id);
    expect(i.status).toBe('settled');
    expect(i.additionalStatus).toBe('none');
    expect(i.amountPaidTiyn).toBe(inv.amountTiyn);
    expect(i.payments).toHaveLength(1);
    expect(i.payments[0]).toMatchObject({
      option: 'ETH@anvil',
      txid,
      outputIndex: -1,
      confirmations: 1,
      status: 'confirmed',
      fromAddresses: [env.payer.address],
    });
    expect(i.payments[0]!.amountAtomic).toBe(inv.atomic['ETH@anvil']);
    expect((await env.events(inv.id)).map((e) => e.type)).toEqual([
      'invoice.created',
      'invoice.payment_received',
      'invoice.settled',
    ]);
    // Screened in the same transaction, once.
    const s = await sql()`select addresses from screenings where payment_id = ${i.payments[0]!.id}`;
    expect(s).toHaveLength(1);
    expect(s[0]!.addresses).toEqual([env.payer.address]);
    // A second tick finds nothing new and counts nothing twice.
    expect((await tick()).recorded).toBe(0);
    expect(await count(inv.id, 'invoice.payment_received')).toBe(1);
  });

  it('credits USDC sent to the deposit address by its Transfer log', async () => {
    const inv = await env.invoice('15000.00', { speed: 'low-medium' });
    const txid = await env.payToken('USDC', inv.address, inv.atomic['USDC@anvil']!);
    await tick();
    let i = await env.load(inv.id);
    expect(i.status).toBe('processing');
    const p = i.payments[0]!;
    expect(p).toMatchObject({
      option: 'USDC@anvil',
      txid,
      confirmations: 1,
      fromAddresses: [env.payer.address],
    });
    expect(p.outputIndex).toBeGreaterThanOrEqual(0);
    expect(p.amountAtomic).toBe(30_000_000n); // 15,000 KZT at the sandbox 500 KZT/USDC
    // Another block: two confirmations settle `low-medium`.
    await env.provider.send('evm_mine', []);
    const r = await tick();
    expect(r.updated).toBeGreaterThanOrEqual(1);
    i = await env.load(inv.id);
    expect(i.status).toBe('settled');
    expect(i.payments[0]!.confirmations).toBe(2);
  });

  it('ignores a token the invoice did not offer, and zero-value or foreign transfers', async () => {
    const inv = await env.invoice('15000.00', { options: ['ETH@anvil', 'USDC@anvil'] });
    await env.payToken('USDT', inv.address, 30_000_000n);
    await env.payToken('USDC', env.payer2.address, 30_000_000n);
    const r = await tick();
    expect(r.recorded).toBe(0);
    const i = await env.load(inv.id);
    expect(i.payments).toHaveLength(0);
    expect(i.status).toBe('new');
  });

  it('takes a partial payment and a top-up in another asset, for the amount checkout asks', async () => {
    const inv = await env.invoice('15000.00');
    await env.payToken('USDC', inv.address, inv.atomic['USDC@anvil']! / 2n);
    await tick();
    let i = await env.load(inv.id);
    expect(i).toMatchObject({ status: 'new', additionalStatus: 'paid_partial', amountPaidTiyn: 750_000n });
    const due = checkoutView(i, 'x').paymentOptions.find((o) => o.option === 'ETH@anvil')!;
    expect(BigInt(due.amountDueAtomic)).toBe(inv.atomic['ETH@anvil']! / 2n);
    await env.payNative(inv.address, BigInt(due.amountDueAtomic), env.payer2);
    await tick();
    i = await env.load(inv.id);
    expect(i).toMatchObject({ status: 'settled', additionalStatus: 'none', amountPaidTiyn: inv.amountTiyn });
    expect(i.payments.map((p) => p.option).sort()).toEqual(['ETH@anvil', 'USDC@anvil']);
    expect(await count(inv.id, 'invoice.payment_received')).toBe(2);
  });

  it('marks an overpayment paid_over', async () => {
    const inv = await env.invoice('15000.00');
    await env.payToken('USDT', inv.address, inv.atomic['USDT@anvil']! * 2n);
    await tick();
    const i = await env.load(inv.id);
    expect(i).toMatchObject({ status: 'settled', additionalStatus: 'paid_over', amountPaidTiyn: 3_000_000n });
  });

  it('records a payment after expiry within the monitoring window as paid_late', async () => {
    const inv = await env.invoice('15000.00');
    const past = new Date(Date.now() - 60_000);
    await sql()`update invoices set expires_at = ${past} where id = ${inv.id}`;
    await expireDue(sql(), env.services.state);
    expect((await env.load(inv.id)).status).toBe('expired');
    await env.payNative(inv.address, inv.atomic['ETH@anvil']!);
    const r = await tick();
    expect(r.recorded).toBe(1);
    const i = await env.load(inv.id);
    expect(i).toMatchObject({
      status: 'expired',
      additionalStatus: 'paid_late',
      amountPaidTiyn: inv.amountTiyn,
    });
    expect(i.payments[0]!.seenAt.getTime()).toBeGreaterThan(past.getTime());
    expect(await count(inv.id, 'invoice.payment_received')).toBe(1);
  });

  it('does not credit a payment to an expired invoice after its monitoring window (kept unattributed)', async () => {
    const inv = await env.invoice('15000.00');
    const past = new Date(Date.now() - 60_000);
    await sql()`update invoices set expires_at = ${past}, monitoring_until = ${past} where id = ${inv.id}`;
    await expireDue(sql(), env.services.state);
    await env.payNative(inv.address, inv.atomic['ETH@anvil']!);
    const r = await tick();
    // Recorded and screened (SPEC section 7), never counted.
    expect(r).toMatchObject({ recorded: 1, unattributed: 1 });
    const i = await env.load(inv.id);
    expect(i).toMatchObject({ status: 'expired', additionalStatus: 'none', amountPaidTiyn: 0n });
    expect(i.payments.map((p) => p.unattributed)).toEqual([true]);
    // The coin is still at the deposit address, which can only ever pay the merchant.
    expect(await env.provider.getBalance(inv.address)).toBe(inv.atomic['ETH@anvil']);
  });

  it('credits once when two watchers scan the same blocks at the same time', async () => {
    const inv = await env.invoice('15000.00');
    const a = env.watcher({ holder: 'a' });
    const b = env.watcher({ holder: 'b' });
    await env.payToken('USDC', inv.address, inv.atomic['USDC@anvil']!);
    await env.payNative(inv.address, 1_000_000_000n, env.payer2);
    await Promise.all([a.tick(), b.tick(), tick()]);
    const i = await env.load(inv.id);
    expect(i.payments).toHaveLength(2);
    expect(await count(inv.id, 'invoice.payment_received')).toBe(2);
    expect(await count(inv.id, 'invoice.settled')).toBe(1);
    const screened = await sql()`select payment_id from screenings where invoice_id = ${inv.id}`;
    expect(screened).toHaveLength(2);
  });

  it('lets one process at a time hold the network lease', async () => {
    const a = env.watcher({ holder: 'lease-a', useLease: true });
    const b = env.watcher({ holder: 'lease-b', useLease: true });
    expect((await a.tick()).skipped).toBeUndefined();
    expect((await b.tick()).skipped).toBe('busy');
    await sql()`delete from leases where name = 'evm:anvil'`;
  });

  it('gives the lease back after each tick when told to (a Workers cron run lives for one tick)', async () => {
    const oneShot = env.watcher({ holder: 'cron-run', useLease: true, releaseLeaseAfterTick: true });
    expect((await oneShot.tick()).skipped).toBeUndefined();
    expect(await sql()`select holder from leases where name = 'evm:anvil'`).toEqual([]);
    // So a checkout page's check right after it is not kept out.
    const page = env.watcher({ holder: 'page', useLease: true });
    expect((await page.tick()).skipped).toBeUndefined();
    expect(await sql()`select holder from leases where name = 'evm:anvil'`).toEqual([{ holder: 'page' }]);
    await sql()`delete from leases where name = 'evm:anvil'`;
  });

  it('credits once when the process dies after recording and before saving the cursor', async () => {
    const inv = await env.invoice('15000.00');
    await tick();
    const before = await cursor();
    await env.payNative(inv.address, inv.atomic['ETH@anvil']!);
    const crashing = env.watcher({
      holder: 'crash',
      beforeCursorSave: async () => {
        throw new Error('killed');
      },
    });
    await expect(crashing.tick()).rejects.toThrow('killed');
    expect(await cursor()).toEqual(before);
    expect((await env.load(inv.id)).payments).toHaveLength(1);
    // A new process starts from the stored cursor and re-scans the same block.
    const restarted = env.watcher({ holder: 'restarted' });
    const r = await restarted.tick();
    expect(r.scanned?.from).toBe(before!.next);
    expect(r.recorded).toBe(0);
    const i = await env.load(inv.id);
    expect(i.payments).toHaveLength(1);
    expect(i.status).toBe('settled');
    expect(await count(inv.id, 'invoice.payment_received')).toBe(1);
  });

  it('rolls back a payment that a reorg removes, then counts the payment that replaces it', async () => {
    const inv = await env.invoice('15000.00');
    await tick();
    const snap = await snapshot(env.provider);
    const txid = await env.payToken('USDC', inv.address, inv.atomic['USDC@anvil']!);
    await env.provider.send('evm_mine', []);
    await tick();
    let i = await env.load(inv.id);
    expect(i.status).toBe('settled');
    expect(i.payments[0]!.confirmations).toBe(2);

    // Another branch, longer than the one we saw, without the payment.
    await revertTo(env.provider, snap);
    for (let k = 0; k < 3; k++) await env.provider.send('evm_mine', []);
    const r = await tick();
    expect(r.gone).toBe(1);
    expect(r.reorgDepth).toBeGreaterThanOrEqual(2);
    i = await env.load(inv.id);
    expect(i.payments[0]).toMatchObject({ txid, status: 'reorged', confirmations: 0, blockHash: null });
    expect(i).toMatchObject({ status: 'new', additionalStatus: 'none', amountPaidTiyn: 0n });
    const reorged = (await env.events(inv.id)).filter((e) => e.type === 'payment.reorged');
    expect(reorged).toHaveLength(1);
    expect(reorged[0]!.data).toMatchObject({ paymentId: i.payments[0]!.id, reason: 'reorged' });
    expect(await tick()).toMatchObject({ gone: 0, recorded: 0 });

    // The payer pays again on the new branch: one new payment, settled.
    await env.payToken('USDC', inv.address, inv.atomic['USDC@anvil']!);
    await tick();
    i = await env.load(inv.id);
    expect(i.status).toBe('settled');
    expect(i.payments.filter((p) => p.status === 'confirmed')).toHaveLength(1);
  });

  it('keeps a payment whose transaction is mined again in the replacing block', async () => {
    const inv = await env.invoice('15000.00');
    await tick();
    const txid = await env.payNative(inv.address, inv.atomic['ETH@anvil']!);
    await tick();
    const first = (await env.load(inv.id)).payments[0]!;
    const raw = (await env.provider.send('eth_getTransactionByHash', [txid])) as Record<string, unknown>;
    // Replace the payment's block with one that mines the same transaction again.
    const signed = await env.provider.send('eth_getRawTransactionByHash', [txid]);
    await env.provider.send('anvil_reorg', [1, [[signed, 0]]]);
    const r = await tick();
    expect(r.gone).toBe(0);
    const after = (await env.load(inv.id)).payments[0]!;
    expect(after.status).toBe('confirmed');
    expect(after.txid).toBe(raw['hash']);
    expect(after.blockHash).not.toBe(first.blockHash);
    expect((await env.load(inv.id)).status).toBe('settled');
    expect(await count(inv.id, 'payment.reorged')).toBe(0);
  });
});
