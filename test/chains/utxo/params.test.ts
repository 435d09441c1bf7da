import { describe, expect, it } from 'vitest';
import { NETWORK_IDS, NETWORKS } from '../../../src/chains/networks';
import { isUtxoNetwork, UTXO_PARAMS, utxoParams } from '../../../src/chains/utxo/params';

describe('UTXO network parameters', () => {
  it('cover exactly the UTXO networks of the catalogue, with its bech32 prefixes', () => {
    const utxo = NETWORK_IDS.filter((n) => NETWORKS[n].family === 'utxo');
    expect(Object.keys(UTXO_PARAMS).sort()).toEqual([...utxo].sort());
    for (const n of utxo) expect(UTXO_PARAMS[n as keyof typeof UTXO_PARAMS].hrp).toBe(NETWORKS[n].bech32);
    expect(utxoParams('anvil')).toBeUndefined();
    expect(isUtxoNetwork('ethereum')).toBe(false);
  });

  it('use the BIP44 coin types and the expected prefixes', () => {
    const table = Object.values(UTXO_PARAMS).map((p) => [p.network, p.hrp, p.coinType]);
    expect(table).toEqual([
      ['bitcoin', 'bc', 0],
      ['bitcoin-testnet4', 'tb', 1],
      ['bitcoin-signet', 'tb', 1],
      ['bitcoin-regtest', 'bcrt', 1],
      ['litecoin', 'ltc', 2],
      ['litecoin-testnet', 'tltc', 1],
      ['litecoin-regtest', 'rltc', 1],
    ]);
  });

  it('accept only mainnet key versions on mainnets and testnet versions on test networks', () => {
    const watch = (n: keyof typeof UTXO_PARAMS) =>
      UTXO_PARAMS[n].publicVersions.filter((v) => v.use === 'watch').map((v) => v.version);
    expect(watch('bitcoin')).toEqual([0x0488b21e, 0x04b24746]);
    expect(watch('litecoin')).toEqual([0x0488b21e, 0x04b24746, 0x019da462]);
    for (const n of [
      'bitcoin-testnet4',
      'bitcoin-signet',
      'bitcoin-regtest',
      'litecoin-testnet',
      'litecoin-regtest',
    ] as const) {
      expect(watch(n)).toEqual([0x043587cf, 0x045f1cf6]);
    }
  });
});
