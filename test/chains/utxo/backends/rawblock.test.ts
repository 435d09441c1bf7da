// Reading blocks from their bytes must give exactly what the node's verbose JSON gives: checked on
// every block of a real Litecoin regtest chain (coinbases, P2PKH/P2SH/P2WPKH outputs, multi-input
// transactions, MWEB peg-ins and HogEx transactions after activation).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CoreBlock, coreTxToChainTx } from '../../../../src/chains/utxo/backends/bitcoind';
import { parseRawBlock, RawBlockError } from '../../../../src/chains/utxo/backends/rawblock';
import { litecoindAvailable, type RegtestNode, startRegtest } from '../../../helpers/litecoind';

describe.runIf(litecoindAvailable())('raw block parsing on litecoind regtest', () => {
  let node: RegtestNode;
  beforeAll(async () => {
    node = await startRegtest({ height: 460 });
    // A little of everything in the last blocks: address types, many inputs, an MWEB peg-in.
    for (const type of ['legacy', 'p2sh-segwit', 'bech32']) {
      const a = await node.wallet.call<string>('getnewaddress', ['', type]);
      await node.pay(a, '1.5');
    }
    const sweep = await node.wallet.call<string>('getnewaddress');
    await node.pay(sweep, '60');
    const mweb = await node.wallet.call<string>('getnewaddress', ['', 'mweb']);
    await node.pay(mweb, '0.25');
    await node.mine(1);
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('matches the verbose JSON on every block', async () => {
    const tip = await node.rpc.call<number>('getblockcount');
    let compared = 0;
    for (let h = 0; h <= tip; h++) {
      const hash = await node.rpc.call<string>('getblockhash', [h]);
      const [info, raw, verbose] = await node.rpc.batch<unknown>([
        ['getblock', [hash, 1]],
        ['getblock', [hash, 0]],
        ['getblock', [hash, 2]],
      ]);
      const fromJson = (verbose as CoreBlock).tx.map((t) => coreTxToChainTx(t));
      const fromBytes = parseRawBlock(raw as string, (info as { tx: string[] }).tx);
      expect(fromBytes).toEqual(fromJson);
      compared += fromJson.length;
    }
    expect(compared).toBeGreaterThan(tip + 5);
  });

  it('refuses what it cannot read instead of guessing', () => {
    expect(() => parseRawBlock('00'.repeat(80) + '02', ['a'])).toThrow(RawBlockError);
    expect(() => parseRawBlock('00'.repeat(80) + '01' + '02000000', ['a'])).toThrow(/ends early/);
  });
});
