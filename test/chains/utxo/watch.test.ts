// The UTXO watcher end to end on a real Litecoin Core regtest node and a real database: from the
// mempool to settlement, partial/over/late payments, RBF, reorgs, double spends, restarts and
// concurrent watchers — every payment counted exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../src/app';
import { createBitcoindBackend } from '../../../src/chains/utxo/backends/bitcoind';
import { coinsToAtomic } from '../../../src/chains/utxo/backends/rpc';
import type { UtxoWatcher } from '../../../src/chains/utxo/watcher';
import { loadConfig } from '../../../src/config';
import { expireDue } from '../../../src/invoices/state';
import { silentLogger } from '../../../src/lib/log';
import { createServices } from '../../../src/services';
import { runTick } from '../../../src/watch/tick';
import { litecoindAvailable, type RegtestNode, startRegtest } from '../../helpers/litecoind';
import {
  coins,
  createUtxoTestEnv,
  FEE,
  signedTx,
  txInputs,
  type UtxoTestEnv,
  walletUtxo,
} from './backends/support';

const NETWORK = 'litecoin-regtest';

describe.runIf(litecoindAvailable())('UTXO watcher on litecoind regtest (JSON-RPC backend)', () => {
  let node: RegtestNode;
  let env: UtxoTestEnv;
  let watcher: UtxoWatcher;
  const backend = () =>
    createBitcoindBackend({ network: NETWORK, rpc: node.rpc, initialLookback: 0, maxBlocksPerTick: 500 });
  const tick = () => watcher.tick();

  beforeAll(async () => {
    [node, env] = await Promise.all([startRegtest(), createUtxoTestEnv()]);
    watcher = env.watcher(backend(), { holder: 'main' });
    await tick();
  });
  afterAll(async () => {
    await Promise.all([node?.stop(), env?.close()]);
  });

  it('sees a payment in the mempool (processing) and settles it at one confirmation (medium)', async () => {
    const inv = await env.invoice();
    const txid = await node.pay(inv.address, inv.coins);
    const r = await tick();
    expect(r.recorded).toBe(1);
    let i = await env.load(inv.id);
    expect(i.status).toBe('processing');
    expect(i.payments).toHaveLength(1);
    const p = i.payments[0]!;
    expect(p).toMatchObject({ txid, confirmations: 0, status: 'seen', rbf: false, blockHash: null });
    expect(p.amountAtomic).toBe(inv.amountAtomic);
    expect(p.amountTiyn).toBe(inv.amountTiyn);
    // The sender is one of the wallet's own addresses (resolved from the spent outputs).
    expect(p.fromAddresses.length).toBeGreaterThan(0);
    for (const a of p.fromAddresses) {
      const info = await node.wallet.call<{ ismine: boolean }>('getaddressinfo', [a]);
      expect(info.ismine).toBe(true);
    }

    const [hash] = await node.mine(1);
    await tick();
    i = await env.load(inv.id);
    expect(i.status).toBe('settled');
    expect(i.payments[0]).toMatchObject({ confirmations: 1, status: 'confirmed', blockHash: hash });
    expect((await env.events(inv.id)).map((e) => e.type)).toEqual([
      'invoice.created',
      'invoice.payment_received',
      'invoice.processing',
      'invoice.settled',
    ]);
  });

  it('settles at zero confirmations (high) only when the transaction does not signal RBF', async () => {
    const plain = await env.invoice('15000.00', { speed: 'high' });
    const rbf = await env.invoice('15000.00', { speed: 'high' });
    await node.pay(plain.address, plain.coins);
    await node.pay(rbf.address, rbf.coins, { rbf: true });
    await tick();
    expect((await env.load(plain.id)).status).toBe('settled');
    const held = await env.load(rbf.id);
    expect(held.status).toBe('processing');
    expect(held.payments[0]!.rbf).toBe(true);
    await node.mine(1);
    await tick();
    expect((await env.load(rbf.id)).status).toBe('settled');
  });

  it('waits for 2 (low-medium) and 6 (low) confirmations', async () => {
    const two = await env.invoice('15000.00', { speed: 'low-medium' });
    const six = await env.invoice('15000.00', { speed: 'low' });
    await node.pay(two.address, two.coins);
    await node.pay(six.address, six.coins);
    await tick();
    await node.mine(1);
    await tick();
    expect((await env.load(two.id)).status).toBe('processing');
    await node.mine(1);
    await tick();
    expect((await env.load(two.id)).status).toBe('settled');
    expect((await env.load(six.id)).status).toBe('processing');
    await node.mine(3);
    await tick();
    const five = await env.load(six.id);
    expect(five.status).toBe('processing');
    expect(five.payments[0]!.confirmations).toBe(5);
    await node.mine(1);
    await tick();
    expect((await env.load(six.id)).status).toBe('settled');
  });

  it('counts partial payments together, flags over-payments, and records late ones', async () => {
    const partial = await env.invoice('10000.00');
    const half = partial.amountAtomic / 2n;
    await node.pay(partial.address, coins(half));
    await tick();
    let i = await env.load(partial.id);
    expect(i).toMatchObject({ status: 'new', additionalStatus: 'paid_partial' });
    await node.pay(partial.address, coins(partial.amountAtomic - half));
    await tick();
    i = await env.load(partial.id);
    expect(i).toMatchObject({ status: 'processing', additionalStatus: 'none' });
    expect(i.payments).toHaveLength(2);
    expect(i.amountPaidTiyn).toBe(partial.amountTiyn);

    const over = await env.invoice('10000.00');
    await node.pay(over.address, coins(over.amountAtomic * 2n));
    await tick();
    expect(await env.load(over.id)).toMatchObject({ status: 'processing', additionalStatus: 'paid_over' });

    const late = await env.invoice('10000.00');
    const gone = await env.invoice('10000.00');
    const sql = env.ctx.db.sql;
    await sql`update invoices set expires_at = now() - interval '1 minute' where id in ${sql([late.id, gone.id])}`;
    await sql`update invoices set monitoring_until = now() - interval '1 second' where id = ${gone.id}`;
    await expireDue(sql, env.ctx.services.state);
    await node.pay(late.address, late.coins);
    await node.pay(gone.address, gone.coins);
    await tick();
    const l = await env.load(late.id);
    expect(l).toMatchObject({ status: 'expired', additionalStatus: 'paid_late' });
    expect(l.payments).toHaveLength(1);
    // Past its monitoring window the payment is kept, unattributed: the invoice stays as it was.
    const g = await env.load(gone.id);
    expect(g).toMatchObject({ status: 'expired', additionalStatus: 'none', amountPaidTiyn: 0n });
    expect(g.payments.map((p) => p.unattributed)).toEqual([true]);
  });

  it('credits one transaction paying two invoices, and two outputs to one address', async () => {
    const a = await env.invoice('12000.00');
    const b = await env.invoice('8000.00');
    const txid = await node.wallet.call<string>('sendmany', [
      '',
      { [a.address]: a.coins, [b.address]: b.coins },
    ]);
    await tick();
    const [ia, ib] = [await env.load(a.id), await env.load(b.id)];
    expect(ia.status).toBe('processing');
    expect(ib.status).toBe('processing');
    expect(ia.payments[0]!.txid).toBe(txid);
    expect(ib.payments[0]!.txid).toBe(txid);
    expect(ia.payments[0]!.outputIndex).not.toBe(ib.payments[0]!.outputIndex);

    const c = await env.invoice('9000.00');
    const first = c.amountAtomic / 3n;
    const utxo = await walletUtxo(node, c.amountAtomic + FEE);
    const change = await node.wallet.call<string>('getnewaddress');
    const hex = await signedTx(
      node,
      [utxo],
      [
        [c.address, first],
        [c.address, c.amountAtomic - first],
        [change, coinsToAtomic(utxo.amount) - c.amountAtomic - FEE],
      ],
    );
    const two = await node.rpc.call<string>('sendrawtransaction', [hex]);
    await tick();
    const ic = await env.load(c.id);
    expect(ic.status).toBe('processing');
    expect(ic.payments.map((p) => [p.txid, p.outputIndex]).sort()).toEqual([
      [two, 0],
      [two, 1],
    ]);
    expect(ic.amountPaidTiyn).toBe(c.amountTiyn);
  });

  it('follows an RBF replacement: the old payment is replaced, the invoice follows the new one', async () => {
    const inv = await env.invoice();
    const old = await node.pay(inv.address, inv.coins, { rbf: true });
    await tick();
    expect((await env.load(inv.id)).status).toBe('processing');
    // A fee bump: the same inputs, the same payment, a higher fee.
    const inputs = await txInputs(node, old);
    const total = inputs.reduce((s, x) => s + x.atomic, 0n);
    const change = await node.wallet.call<string>('getnewaddress');
    const hex = await signedTx(
      node,
      inputs,
      [
        [inv.address, inv.amountAtomic],
        [change, total - inv.amountAtomic - FEE],
      ],
      { rbf: true },
    );
    const bumped = { txid: await node.rpc.call<string>('sendrawtransaction', [hex]) };
    expect(await node.rpc.call<string[]>('getrawmempool')).not.toContain(old);
    await tick();
    let i = await env.load(inv.id);
    expect(i.status).toBe('processing');
    const byTx = new Map(i.payments.map((p) => [p.txid, p]));
    expect(byTx.get(old)!.status).toBe('replaced');
    expect(byTx.get(bumped.txid)!.status).toBe('seen');
    expect(i.amountPaidTiyn).toBe(inv.amountTiyn);
    const reorged = (await env.events(inv.id)).filter((e) => e.type === 'payment.reorged');
    expect(reorged).toHaveLength(1);
    expect(reorged[0]!.data).toMatchObject({ reason: 'replaced', replacedBy: bumped.txid });
    await node.mine(1);
    await tick();
    i = await env.load(inv.id);
    expect(i.status).toBe('settled');
    expect(i.amountPaidTiyn).toBe(inv.amountTiyn);
  });

  it('marks a double-spent mempool payment replaced and moves the invoice back', async () => {
    const peer = await node.startPeer();
    try {
      const inv = await env.invoice();
      await peer.disconnect();
      const txid = await node.pay(inv.address, inv.coins);
      await tick();
      expect((await env.load(inv.id)).status).toBe('processing');
      // The same inputs spent back to the wallet, mined on the other side of the network.
      const inputs = await txInputs(node, txid);
      const total = inputs.reduce((s, x) => s + x.atomic, 0n);
      const back = await node.wallet.call<string>('getnewaddress');
      const hex = await signedTx(node, inputs, [[back, total - FEE]]);
      const spender = await peer.rpc.call<string>('sendrawtransaction', [hex]);
      await peer.rpc.call('generatetoaddress', [1, back]);
      await peer.connect();
      expect(await node.rpc.call<string[]>('getrawmempool')).not.toContain(txid);
      await tick();
      const i = await env.load(inv.id);
      expect(i).toMatchObject({ status: 'new', additionalStatus: 'none', amountPaidTiyn: 0n });
      expect(i.payments[0]).toMatchObject({ txid, status: 'replaced' });
      const ev = (await env.events(inv.id)).filter((e) => e.type === 'payment.reorged');
      expect(ev.map((e) => e.data)).toMatchObject([{ reason: 'replaced', replacedBy: spender }]);
    } finally {
      await peer.stop();
    }
  });

  it('drops a payment to the mempool when its block is invalidated, and back when reconsidered', async () => {
    const inv = await env.invoice();
    await node.pay(inv.address, inv.coins);
    await tick();
    const [hash] = await node.mine(1);
    await tick();
    expect((await env.load(inv.id)).payments[0]).toMatchObject({ confirmations: 1, blockHash: hash });
    await node.rpc.call('invalidateblock', [hash]);
    await tick();
    let i = await env.load(inv.id);
    expect(i.payments[0]).toMatchObject({ confirmations: 0, status: 'seen', blockHash: null });
    await node.rpc.call('reconsiderblock', [hash]);
    await tick();
    i = await env.load(inv.id);
    expect(i.payments).toHaveLength(1);
    expect(i.payments[0]).toMatchObject({ confirmations: 1, status: 'confirmed', blockHash: hash });
    expect(i.status).toBe('settled');
  });

  it('marks a payment reorged when its transaction leaves the chain, and counts it once when re-mined', async () => {
    const inv = await env.invoice();
    // Spend a coinbase output as soon as it matures (101 confirmations): invalidating its block
    // takes the payment out of the chain and out of the mempool (its input no longer exists).
    const cb = await walletUtxo(node, inv.amountAtomic + FEE, 101, 101);
    const tx = await node.rpc.call<{
      blockhash: string;
      confirmations: number;
      vin: { coinbase?: string }[];
    }>('getrawtransaction', [cb.txid, true]);
    expect(tx.vin[0]!.coinbase).toBeDefined();
    const change = await node.wallet.call<string>('getnewaddress');
    const hex = await signedTx(
      node,
      [cb],
      [
        [inv.address, inv.amountAtomic],
        [change, coinsToAtomic(cb.amount) - inv.amountAtomic - FEE],
      ],
    );
    const txid = await node.rpc.call<string>('sendrawtransaction', [hex]);
    const [mined] = await node.mine(1);
    await tick();
    expect((await env.load(inv.id)).status).toBe('settled');

    await node.rpc.call('invalidateblock', [tx.blockhash]);
    expect(await node.rpc.call<string[]>('getrawmempool')).not.toContain(txid);
    await tick();
    let i = await env.load(inv.id);
    expect(i.status).toBe('new');
    expect(i.payments[0]).toMatchObject({ txid, status: 'reorged', confirmations: 0 });
    expect((await env.events(inv.id)).filter((e) => e.type === 'payment.reorged')).toHaveLength(1);

    await node.rpc.call('reconsiderblock', [tx.blockhash]);
    await tick();
    i = await env.load(inv.id);
    expect(i.status).toBe('settled');
    expect(i.payments).toHaveLength(1);
    expect(i.payments[0]).toMatchObject({ txid, status: 'confirmed', blockHash: mined });
    expect(i.amountPaidTiyn).toBe(inv.amountTiyn);
    const types = (await env.events(inv.id)).map((e) => e.type);
    expect(types.filter((t) => t === 'invoice.payment_received')).toHaveLength(1);
  });

  it('counts exactly once across a crash mid-tick and a restart', async () => {
    const a = await env.invoice('11000.00');
    const b = await env.invoice('7000.00');
    await node.pay(a.address, a.coins);
    await tick();
    await node.pay(b.address, b.coins);
    await node.mine(2);
    const crashing = env.watcher(backend(), {
      holder: 'main',
      beforeCursorSave: async () => {
        throw new Error('crash');
      },
    });
    await expect(crashing.tick()).rejects.toThrow('crash');
    // A new process: fresh memory, the same database and cursor as before the crash.
    const restarted = env.watcher(backend(), { holder: 'main' });
    await restarted.tick();
    await restarted.tick();
    for (const inv of [a, b]) {
      const i = await env.load(inv.id);
      expect(i.payments).toHaveLength(1);
      expect(i.status).toBe('settled');
      const received = (await env.events(inv.id)).filter((e) => e.type === 'invoice.payment_received');
      expect(received).toHaveLength(1);
    }
  });

  it('never double counts with two watchers at once, and the lease lets only one scan', async () => {
    const inv = await env.invoice();
    await node.pay(inv.address, inv.coins);
    const w1 = env.watcher(backend(), { useLease: false });
    const w2 = env.watcher(backend(), { useLease: false });
    await Promise.all([w1.tick(), w2.tick(), w1.tick(), w2.tick()]);
    const i = await env.load(inv.id);
    expect(i.payments).toHaveLength(1);
    expect(i.amountPaidTiyn).toBe(inv.amountTiyn);
    expect((await env.events(inv.id)).filter((e) => e.type === 'invoice.payment_received')).toHaveLength(1);

    await env.ctx.db.sql`delete from leases`;
    const l1 = env.watcher(backend(), { holder: 'one' });
    const l2 = env.watcher(backend(), { holder: 'two' });
    const results = await Promise.all([l1.tick(), l2.tick()]);
    expect(results.filter((r) => r.skipped === 'busy')).toHaveLength(1);
  });

  it('gives the lease back after each tick when told to (a Workers cron run lives for one tick)', async () => {
    await env.ctx.db.sql`delete from leases`;
    const oneShot = env.watcher(backend(), { holder: 'cron-run', releaseLeaseAfterTick: true });
    expect((await oneShot.tick()).skipped).toBeUndefined();
    expect(await env.ctx.db.sql`select holder from leases`).toEqual([]);
    const loop = env.watcher(backend(), { holder: 'loop' });
    expect((await loop.tick()).skipped).toBeUndefined();
    // A loop keeps its lease between ticks, so the one-shot watcher now finds the chain busy.
    expect(await env.ctx.db.sql`select holder from leases`).toEqual([{ holder: 'loop' }]);
    expect((await oneShot.tick()).skipped).toBe('busy');
    await env.ctx.db.sql`delete from leases`;
  });

  it('runs from the gateway tick when <NETWORK>_RPC_URL is configured, screening each new payment', async () => {
    const config = loadConfig({
      NETWORK_MODE: 'sandbox',
      PUBLIC_URL: 'http://gateway.test',
      LOG_LEVEL: 'silent',
      LITECOIN_REGTEST_RPC_URL: node.node.rpcUrl,
    });
    const services = createServices(config, env.ctx.db.sql, {
      logger: silentLogger,
      rates: env.ctx.services.rates,
    });
    expect(services.utxo?.watchers.map((w) => [w.network, w.backend.kind])).toEqual([[NETWORK, 'rpc']]);
    await env.ctx.db.sql`delete from leases`;
    const inv = await env.invoice();
    await node.pay(inv.address, inv.coins);
    const result = await runTick(services);
    expect(result.utxo?.watchers[0]).toMatchObject({ network: NETWORK, recorded: 1 });
    const i = await env.load(inv.id);
    expect(i.status).toBe('processing');
    const screened = await env.ctx.db.sql`select 1 from screenings where payment_id = ${i.payments[0]!.id}`;
    expect(screened).toHaveLength(1);
  });

  it('lets an open checkout page scan for its invoice, at most once per gap', async () => {
    const config = loadConfig({
      NETWORK_MODE: 'sandbox',
      PUBLIC_URL: 'http://gateway.test',
      LOG_LEVEL: 'silent',
      LITECOIN_REGTEST_RPC_URL: node.node.rpcUrl,
    });
    const services = createServices(config, env.ctx.db.sql, {
      logger: silentLogger,
      rates: env.ctx.services.rates,
    });
    const app = createApp(config, services);
    await env.ctx.db.sql`delete from leases`;
    await env.ctx.db.sql`update chain_cursors set updated_at = now() - interval '1 minute'`;
    const inv = await env.invoice();
    await node.pay(inv.address, inv.coins);
    // No gateway tick: the page's own request finds the payment.
    const res = await app.request(`/v1/checkout/${inv.id}`);
    expect(((await res.json()) as { status: string }).status).toBe('processing');
    // A scan covers every invoice, so another page right after does not scan again.
    expect(await services.utxo!.watchers[0]!.checkInvoice(inv.id)).toBeUndefined();
  });
});
