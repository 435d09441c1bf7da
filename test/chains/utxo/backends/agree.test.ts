// Both backends on one real chain: a Litecoin Core regtest node read directly over JSON-RPC by one
// gateway, and through the sandbox's Esplora facade by another (each with its own database, the same
// merchant key, so the same invoice addresses). After every step of a scripted run — mempool,
// confirmations, a partial payment, one transaction paying two invoices, an RBF replacement, a reorg
// and its undoing — both must have recorded exactly the same payments and invoice states.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEsploraFacade } from '../../../../sandbox/esplora';
import { createBitcoindBackend } from '../../../../src/chains/utxo/backends/bitcoind';
import { createEsploraBackend, createEsploraClient } from '../../../../src/chains/utxo/backends/esplora';
import type { UtxoWatcher } from '../../../../src/chains/utxo/watcher';
import { DEMO_VPUB } from '../../../../src/seed';
import { litecoindAvailable, type RegtestNode, startRegtest } from '../../../helpers/litecoind';
import {
  coins,
  createUtxoTestEnv,
  FEE,
  type LtcInvoice,
  signedTx,
  txInputs,
  type UtxoTestEnv,
} from './support';

const NETWORK = 'litecoin-regtest';

describe.runIf(litecoindAvailable())('JSON-RPC and Esplora backends agree on one chain', () => {
  let node: RegtestNode;
  let rpcEnv: UtxoTestEnv;
  let esploraEnv: UtxoTestEnv;
  let rpcWatcher: UtxoWatcher;
  let esploraWatcher: UtxoWatcher;
  let server: ReturnType<typeof serve>;
  const invoices: { rpc: LtcInvoice; esplora: LtcInvoice }[] = [];

  beforeAll(async () => {
    [node, rpcEnv, esploraEnv] = await Promise.all([
      startRegtest(),
      createUtxoTestEnv({ key: DEMO_VPUB }),
      createUtxoTestEnv({ key: DEMO_VPUB }),
    ]);
    const facade = createEsploraFacade({ rpc: node.rpc, network: NETWORK });
    await facade.sync();
    server = serve({ fetch: facade.app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise<void>((r) => server.once('listening', () => r()));
    const port = (server.address() as AddressInfo).port;
    rpcWatcher = rpcEnv.watcher(
      createBitcoindBackend({ network: NETWORK, rpc: node.rpc, initialLookback: 0, maxBlocksPerTick: 500 }),
    );
    esploraWatcher = esploraEnv.watcher(
      createEsploraBackend({
        network: NETWORK,
        client: createEsploraClient({ baseUrl: `http://127.0.0.1:${port}`, retries: 0 }),
      }),
    );
  });
  afterAll(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await Promise.all([node?.stop(), rpcEnv?.close(), esploraEnv?.close()]);
  });

  /** The same invoice in both gateways (same key, same order: the same address). */
  async function invoice(amount = '15000.00'): Promise<LtcInvoice> {
    const pair = { rpc: await rpcEnv.invoice(amount), esplora: await esploraEnv.invoice(amount) };
    expect(pair.esplora.address).toBe(pair.rpc.address);
    invoices.push(pair);
    return pair.rpc;
  }

  async function snapshot(env: UtxoTestEnv, side: 'rpc' | 'esplora') {
    const out = [];
    for (const pair of invoices) {
      const i = await env.load(pair[side].id);
      out.push({
        status: i.status,
        additionalStatus: i.additionalStatus,
        amountPaidTiyn: i.amountPaidTiyn,
        payments: i.payments
          .map((p) => ({
            txid: p.txid,
            index: p.outputIndex,
            amountAtomic: p.amountAtomic,
            amountTiyn: p.amountTiyn,
            confirmations: p.confirmations,
            status: p.status,
            blockHash: p.blockHash,
            rbf: p.rbf,
            from: [...p.fromAddresses].sort(),
          }))
          .sort((a, b) => (a.txid + a.index).localeCompare(b.txid + b.index)),
      });
    }
    return out;
  }

  /** Ticks both and checks they agree; returns the (common) view. */
  async function step() {
    await Promise.all([rpcWatcher.tick(), esploraWatcher.tick()]);
    const [a, b] = [await snapshot(rpcEnv, 'rpc'), await snapshot(esploraEnv, 'esplora')];
    expect(b).toEqual(a);
    return a;
  }

  it('report the same payments through a scripted run', async () => {
    await step();
    const full = await invoice();
    const partial = await invoice('20000.00');
    const two = await invoice('5000.00');
    const rbf = await invoice();

    await node.pay(full.address, full.coins);
    await node.pay(partial.address, coins(partial.amountAtomic / 4n));
    await node.wallet.call('sendmany', [
      '',
      { [two.address]: coins(two.amountAtomic / 2n), [rbf.address]: '0.01' },
    ]);
    let view = await step();
    expect(view.map((v) => v.status)).toEqual(['processing', 'new', 'new', 'new']);
    expect(view[1]!.additionalStatus).toBe('paid_partial');

    await node.mine(1);
    view = await step();
    expect(view[0]!.status).toBe('settled');
    expect(view[0]!.payments[0]!.confirmations).toBe(1);

    // An RBF payment, then its replacement (same payment, higher fee).
    const old = await node.pay(rbf.address, rbf.coins, { rbf: true });
    view = await step();
    expect(view[3]!.payments.find((p) => p.txid === old)!.rbf).toBe(true);
    const inputs = await txInputs(node, old);
    const total = inputs.reduce((s, x) => s + x.atomic, 0n);
    const change = await node.wallet.call<string>('getnewaddress');
    const hex = await signedTx(
      node,
      inputs,
      [
        [rbf.address, rbf.amountAtomic],
        [change, total - rbf.amountAtomic - FEE],
      ],
      { rbf: true },
    );
    const replacement = await node.rpc.call<string>('sendrawtransaction', [hex]);
    view = await step();
    const byTx = new Map(view[3]!.payments.map((p) => [p.txid, p]));
    expect(byTx.get(old)!.status).toBe('replaced');
    expect(byTx.get(replacement)!.status).toBe('seen');

    const [first] = await node.mine(2);
    view = await step();
    expect(view[3]!.status).toBe('settled');

    // A reorg: both blocks leave (their transactions go back to the mempool), then return.
    await node.rpc.call('invalidateblock', [first]);
    await step();
    await node.rpc.call('reconsiderblock', [first]);
    view = await step();
    expect(view[3]!.payments.find((p) => p.txid === replacement)!.confirmations).toBe(2);
    expect(
      view.flatMap((v) => v.payments).filter((p) => p.status === 'seen' || p.status === 'confirmed'),
    ).toHaveLength(5);
  });
});
