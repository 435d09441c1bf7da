// The one watcher on real chains (Litecoin Core regtest and anvil) and a real database:
//   - every payment to an address the gateway ever issued is recorded and screened, whatever its
//     invoice's state (SPEC section 7): a cancelled invoice, an expired one with a monitoring window
//     of 0 — kept as unattributed, the status unchanged, a listed sender held;
//   - no payment is lost to downtime (issue 14): paid while no watcher ran, 100 blocks mined, a
//     watcher that starts afterwards (with no cursor, or with an old one) credits it exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { depositFlushBlock } from '../../src/chains/evm/flush-policy';
import { createBitcoindBackend } from '../../src/chains/utxo/backends/bitcoind';
import { cancelInvoice, expireDue } from '../../src/invoices/state';
import { operatorList } from '../aml/support';
import { createEvmTestEnv, type EvmTestEnv } from '../chains/evm/support';
import { createUtxoTestEnv, type UtxoTestEnv } from '../chains/utxo/backends/support';
import { litecoindAvailable, type RegtestNode, startRegtest } from '../helpers/litecoind';

const LTC = 'litecoin-regtest';

/** Cancels a new invoice as the merchant would. */
async function cancel(env: { ctx: UtxoTestEnv['ctx'] | EvmTestEnv['ctx']; merchantId: string }, id: string) {
  const { ctx } = env;
  await ctx.db.sql.begin((tx) => cancelInvoice(tx, ctx.services.state, id, env.merchantId));
}

/** The merchant's monitoring window is 0: the invoice stops taking money when it expires. */
async function expireWithWindowZero(ctx: UtxoTestEnv['ctx'], merchantId: string, id: string) {
  const sql = ctx.db.sql;
  await sql`update merchants set monitoring_window_minutes = 0 where id = ${merchantId}`;
  await sql`update invoices set expires_at = now() - interval '1 minute',
    monitoring_until = now() - interval '1 minute' where id = ${id}`;
  await expireDue(sql, ctx.services.state);
}

async function screeningOf(ctx: UtxoTestEnv['ctx'], paymentId: string) {
  const sql = ctx.db.sql;
  const screened = await sql<{ risk: string }[]>`select risk from screenings where payment_id = ${paymentId}`;
  const cases = await sql<{ hold: boolean }[]>`select hold from aml_cases where payment_id = ${paymentId}`;
  return { risks: screened.map((s) => s.risk), holds: cases.map((c) => c.hold) };
}

describe.runIf(litecoindAvailable())('the one watcher on litecoind regtest', () => {
  let node: RegtestNode;
  let env: UtxoTestEnv;

  beforeAll(async () => {
    [node, env] = await Promise.all([startRegtest(), createUtxoTestEnv()]);
  });
  afterAll(async () => {
    await Promise.all([node?.stop(), env?.close()]);
  });

  const watcher = (maxBlocksPerTick = 500) =>
    env.watcher(createBitcoindBackend({ network: LTC, rpc: node.rpc, maxBlocksPerTick }), {
      screening: env.ctx.services.screening,
      useLease: false,
    });

  /** Ticks until the watcher reaches the node's tip (several ticks when it is far behind). */
  async function catchUp(w: ReturnType<typeof watcher>) {
    const tip = await node.rpc.call<number>('getblockcount');
    let ticks = 0;
    for (;;) {
      ticks++;
      await w.tick();
      const [row] = await env.ctx.db.sql<{ cursor: { height: number } }[]>`
        select cursor from chain_cursors where name = ${`utxo:${LTC}:rpc`}`;
      if (row && row.cursor.height >= tip) return ticks;
      if (ticks > 50) throw new Error('never caught up');
    }
  }

  it('a watcher that starts after a payment and 100 blocks credits it once, from the oldest open invoice', async () => {
    const inv = await env.invoice();
    await node.pay(inv.address, inv.coins);
    await node.mine(100);
    // No cursor yet: before, the scan began 6 blocks under the tip, 94 blocks past the payment.
    const ticks = await catchUp(watcher(40));
    expect(ticks).toBeGreaterThan(1);
    const i = await env.load(inv.id);
    expect(i).toMatchObject({ status: 'settled' });
    expect(i.payments).toHaveLength(1);
    expect(i.payments[0]).toMatchObject({ confirmations: 100 });
    // Once: a second watcher (a restart) finds nothing new.
    expect((await watcher().tick()).recorded).toBe(0);
    const received = (await env.events(inv.id)).filter((e) => e.type === 'invoice.payment_received');
    expect(received).toHaveLength(1);
  });

  it('a gateway down while 100 blocks are mined catches up over several ticks and credits once', async () => {
    await catchUp(watcher()); // the cursor is at the tip: the gateway was running
    const inv = await env.invoice();
    await node.pay(inv.address, inv.coins);
    await node.mine(100); // the gateway is down meanwhile
    const ticks = await catchUp(watcher(30));
    expect(ticks).toBeGreaterThanOrEqual(4);
    const i = await env.load(inv.id);
    expect(i.status).toBe('settled');
    expect(i.payments).toHaveLength(1);
  });

  it('records and screens payments to a cancelled and to an expired (window 0) invoice, unattributed', async () => {
    const w = watcher();
    await catchUp(w);
    const cancelled = await env.invoice();
    const expired = await env.invoice();
    await cancel(env, cancelled.id);
    await expireWithWindowZero(env.ctx, env.merchantId, expired.id);

    const t1 = await node.pay(cancelled.address, cancelled.coins);
    await node.pay(expired.address, expired.coins);
    // The first payment's senders are on the operator's list.
    const tx = await node.rpc.call<{ vin: { txid: string; vout: number }[] }>('getrawtransaction', [
      t1,
      true,
    ]);
    const senders: string[] = [];
    for (const v of tx.vin) {
      const prev = await node.rpc.call<{
        vout: { scriptPubKey: { address?: string; addresses?: string[] } }[];
      }>('getrawtransaction', [v.txid, true]);
      const spk = prev.vout[v.vout]!.scriptPubKey;
      const a = spk.address ?? spk.addresses?.[0];
      if (a) senders.push(a);
    }
    expect(senders.length).toBeGreaterThan(0);
    await operatorList(env.ctx, `address,asset\n${senders.map((a) => `${a},LTC`).join('\n')}\n`);

    const r = await w.tick();
    expect(r).toMatchObject({ recorded: 2, unattributed: 2 });
    await node.mine(1);
    await w.tick();

    const c = await env.load(cancelled.id);
    expect(c).toMatchObject({ status: 'invalid', additionalStatus: 'none', amountPaidTiyn: 0n });
    expect(c.payments).toHaveLength(1);
    expect(c.payments[0]).toMatchObject({ unattributed: true, confirmations: 1 });
    const cs = await screeningOf(env.ctx, c.payments[0]!.id);
    expect(cs.risks).toHaveLength(1);
    expect(cs.risks[0]).not.toBe('none');
    expect(cs.holds).toEqual([true]);

    const e = await env.load(expired.id);
    expect(e).toMatchObject({ status: 'expired', additionalStatus: 'none', amountPaidTiyn: 0n });
    expect(e.payments.map((p) => p.unattributed)).toEqual([true]);
    const es = await screeningOf(env.ctx, e.payments[0]!.id);
    expect(es.risks).toHaveLength(1);
  });
});

describe('the one watcher on anvil', () => {
  let env: EvmTestEnv;

  beforeAll(async () => {
    env = await createEvmTestEnv();
  });
  afterAll(async () => {
    await env?.close();
  });

  const watcher = (maxBlocksPerTick = 100) => env.watcher({ initialLookback: 6, maxBlocksPerTick });

  async function catchUp(w: ReturnType<typeof watcher>) {
    const tip = await env.provider.getBlockNumber();
    for (let ticks = 1; ticks <= 50; ticks++) {
      await w.tick();
      const [row] = await env.ctx.db.sql<{ cursor: { next: number } }[]>`
        select cursor from chain_cursors where name = 'evm:anvil'`;
      if (row && row.cursor.next > tip) return ticks;
    }
    throw new Error('never caught up');
  }

  it('a watcher that starts after a payment and 100 blocks credits it once', async () => {
    await env.provider.send('anvil_mine', ['0x100']); // a chain longer than the look-back
    const inv = await env.invoice('15000.00');
    await env.payNative(inv.address, inv.atomic['ETH@anvil']!);
    await env.provider.send('anvil_mine', ['0x64']);
    const ticks = await catchUp(watcher(40));
    expect(ticks).toBeGreaterThan(1);
    const i = await env.load(inv.id);
    expect(i.status).toBe('settled');
    expect(i.payments).toHaveLength(1);
    expect((await watcher().tick()).recorded).toBe(0);
    const received = (await env.events(inv.id)).filter((e) => e.type === 'invoice.payment_received');
    expect(received).toHaveLength(1);
  });

  it('records and screens payments to a cancelled and to an expired (window 0) invoice; a held deposit is blocked', async () => {
    const w = watcher();
    await catchUp(w);
    const cancelled = await env.invoice('15000.00');
    const expired = await env.invoice('15000.00');
    const clean = await env.invoice('15000.00');
    await cancel(env, cancelled.id);
    await expireWithWindowZero(env.ctx, env.merchantId, expired.id);
    await operatorList(env.ctx, `address,asset\n${env.payer2.address},ETH\n`);

    await env.payNative(cancelled.address, cancelled.atomic['ETH@anvil']!, env.payer2);
    await env.payNative(expired.address, expired.atomic['ETH@anvil']!);
    await env.payNative(clean.address, clean.atomic['ETH@anvil']!);
    const r = await w.tick();
    expect(r).toMatchObject({ recorded: 3, unattributed: 2 });

    const c = await env.load(cancelled.id);
    expect(c).toMatchObject({ status: 'invalid', additionalStatus: 'none', amountPaidTiyn: 0n });
    expect(c.payments.map((p) => p.unattributed)).toEqual([true]);
    const cs = await screeningOf(env.ctx, c.payments[0]!.id);
    expect(cs.risks).toHaveLength(1);
    expect(cs.holds).toEqual([true]);

    const e = await env.load(expired.id);
    expect(e).toMatchObject({ status: 'expired', additionalStatus: 'none', amountPaidTiyn: 0n });
    expect(e.payments.map((p) => p.unattributed)).toEqual([true]);
    expect((await screeningOf(env.ctx, e.payments[0]!.id)).risks).toHaveLength(1);
    expect((await env.load(clean.id)).payments.map((p) => p.unattributed ?? false)).toEqual([false]);

    // For the sweep: the held deposit must not be flushed; the others may.
    const sql = env.ctx.db.sql;
    expect(await depositFlushBlock(sql, 'anvil', cancelled.id)).toBe('held');
    expect(await depositFlushBlock(sql, 'anvil', expired.id)).toBeNull();
    expect(await depositFlushBlock(sql, 'anvil', clean.id)).toBeNull();
  });
});
