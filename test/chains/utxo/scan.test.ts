// Matching transactions against watched scripts, and reading Core's transaction JSON (including
// Litecoin's MWEB outputs, which have no script) into the backends' common shape.
import { describe, expect, it } from 'vitest';
import { coreTxToChainTx } from '../../../src/chains/utxo/backends/bitcoind';
import { parseRpcJson } from '../../../src/chains/utxo/backends/rpc';
import { type ChainTx, signalsRbf } from '../../../src/chains/utxo/backends/types';
import { paymentTiyn, scanTransactions } from '../../../src/chains/utxo/scan';
import { parseDecimal } from '../../../src/lib/money';

const S1 = '0014d0c4a3ef09e997b6e99e397e518fe3e41a118ca1';
const S2 = '00146fa016500a3c6a737ebb260e2ddca78ba9234558';
const OTHER = '001424c28869dd0eae5e309e93cdfcc32e538ea04df1';

const tx = (txid: string, outs: string[], ins: [string, number][] = [], sequence = 0xffffffff): ChainTx => ({
  txid,
  inputs: ins.map(([t, v]) => ({ prevTxid: t, prevVout: v, sequence })),
  outputs: outs.map((s, n) => ({ n, scriptHex: s, valueAtomic: BigInt(1000 + n) })),
});

describe('scanTransactions', () => {
  it('finds every output paying a watched script, two in one transaction included', () => {
    const r = scanTransactions(
      [tx('a', [OTHER, S1, S1]), tx('b', [OTHER]), tx('c', [S2, OTHER])],
      new Set([S1, S2]),
    );
    expect(r.matches.map((m) => [m.tx.txid, m.outputs])).toEqual([
      ['a', [1, 2]],
      ['c', [0]],
    ]);
    expect(r.spends.size).toBe(0);
  });

  it('reports other transactions spending the inputs of a counted payment, not the payment itself', () => {
    const payerOf = new Map([
      ['p:0', 'pay'],
      ['p:1', 'pay'],
    ]);
    const r = scanTransactions(
      [tx('pay', [S1], [['p', 0]]), tx('thief', [OTHER], [['p', 1]]), tx('x', [OTHER], [['q', 0]])],
      new Set(),
      payerOf,
    );
    expect([...r.spends]).toEqual([['p:1', 'thief']]);
  });
});

describe('Core transaction JSON', () => {
  it('reads a Litecoin block transaction list: coinbase, MWEB outputs without script, exact values', () => {
    const block = parseRpcJson(`{"tx":[
      {"txid":"c1","vin":[{"ismweb":false,"coinbase":"02b4010101","sequence":4294967295}],
       "vout":[{"ismweb":false,"value":12.50000553,"n":0,"scriptPubKey":{"hex":"${S1}"}}]},
      {"txid":"h1","vin":[{"ismweb":false,"txid":"h0","vout":0,"sequence":4294967295}],
       "vout":[{"ismweb":false,"value":12.4999447,"n":0,"scriptPubKey":{"hex":"5820d848","type":"witness_mweb_hogaddr"}},
               {"ismweb":true,"value":0.5,"n":1}]}]}`) as { tx: Parameters<typeof coreTxToChainTx>[0][] };
    const [cb, hog] = block.tx.map((t) => coreTxToChainTx(t));
    expect(cb!.inputs).toEqual([{ prevTxid: null, prevVout: 0, sequence: 4294967295 }]);
    expect(cb!.outputs[0]!.valueAtomic).toBe(1_250_000_553n);
    expect(hog!.outputs.map((o) => [o.scriptHex, o.valueAtomic])).toEqual([
      ['5820d848', 1_249_994_470n],
      ['', 50_000_000n],
    ]);
    expect(scanTransactions([cb!, hog!], new Set([S1])).matches).toHaveLength(1);
  });

  it('takes prevout scripts when the node includes them (getblock verbosity 3)', () => {
    const t = coreTxToChainTx({
      txid: 't',
      vin: [{ txid: 'p', vout: 2, sequence: 1, prevout: { scriptPubKey: { hex: OTHER } } }],
      vout: [],
    });
    expect(t.inputs[0]).toEqual({ prevTxid: 'p', prevVout: 2, sequence: 1, prevScriptHex: OTHER });
  });
});

describe('BIP125 signalling and tenge values', () => {
  it('signals RBF when any input has nSequence below 0xfffffffe', () => {
    expect(signalsRbf(tx('a', [], [['p', 0]], 0xfffffffd))).toBe(true);
    expect(signalsRbf(tx('a', [], [['p', 0]], 0xfffffffe))).toBe(false);
    expect(signalsRbf(tx('a', [], [['p', 0]], 0xffffffff))).toBe(false);
    expect(
      signalsRbf({
        inputs: [...tx('a', [], [['p', 0]]).inputs, { prevTxid: 'q', prevVout: 0, sequence: 0 }],
      }),
    ).toBe(true);
  });

  it('values a payment at the quoted rate, rounded down to the tiyn', () => {
    // 0.3 LTC at 50,000 KZT = 15,000.00 KZT; one litoshi less is 14,999.99 (rounded down).
    expect(paymentTiyn(30_000_000n, parseDecimal('50000'), 8)).toBe(1_500_000n);
    expect(paymentTiyn(29_999_999n, parseDecimal('50000'), 8)).toBe(1_499_999n);
  });
});
