import { bech32, bech32m } from '@scure/base';
import fc from 'fast-check';
import * as ecc from 'tiny-secp256k1';
import { describe, expect, it } from 'vitest';
import { addressToScriptHex, InvalidAddressError, scriptHexToAddress } from '../../../src/chains/utxo/derive';
import { UTXO_PARAMS, type UtxoNetworkId } from '../../../src/chains/utxo/params';
import { type RefNetwork, refAddressFromScript, refOutputScriptHex } from './reference';

const NETWORK_IDS = Object.keys(UTXO_PARAMS) as UtxoNetworkId[];

function refused(fn: () => unknown): InvalidAddressError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidAddressError);
    return err as InvalidAddressError;
  }
  throw new Error('expected InvalidAddressError');
}

const hexOf = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const segwit = (
  hrp: string,
  version: number,
  program: Uint8Array,
  coder = version === 0 ? bech32 : bech32m,
) => coder.encode(hrp, [version, ...bech32.toWords(program)]);

describe('addressToScriptHex', () => {
  it('decodes the BIP173/BIP350 vectors', () => {
    const vectors: [UtxoNetworkId, string, string][] = [
      [
        'bitcoin',
        'BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4',
        '0014751e76e8199196d454941c45d1b3a323f1433bd6',
      ],
      [
        'bitcoin-testnet4',
        'tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7',
        '00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262',
      ],
      [
        'bitcoin',
        'bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0',
        '512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798',
      ],
      [
        'bitcoin-signet',
        'tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c',
        '5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433',
      ],
    ];
    for (const [network, address, script] of vectors) {
      expect(addressToScriptHex(network, address)).toBe(script);
      expect(refOutputScriptHex(network as RefNetwork, address)).toBe(script);
    }
  });

  it('decodes base58 P2PKH and P2SH', () => {
    for (const address of ['1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', '3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy']) {
      expect(addressToScriptHex('bitcoin', address)).toBe(refOutputScriptHex('bitcoin', address));
    }
    expect(addressToScriptHex('bitcoin', '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa')).toBe(
      '76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac',
    );
  });

  it("accepts Litecoin's old-style 3… P2SH and writes it back as M…", () => {
    const script = addressToScriptHex('litecoin', '3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy');
    expect(script).toBe(refOutputScriptHex('bitcoin', '3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy'));
    const modern = scriptHexToAddress('litecoin', script)!;
    expect(modern).toMatch(/^M/);
    expect(modern).toBe(refAddressFromScript('litecoin', script));
    expect(addressToScriptHex('litecoin', modern)).toBe(script);
  });

  it('refuses addresses of another network', () => {
    const cases: [UtxoNetworkId, string][] = [
      ['bitcoin', 'tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7'],
      ['bitcoin-testnet4', 'BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4'],
      ['bitcoin-regtest', segwit('tb', 0, new Uint8Array(20))],
      ['bitcoin', segwit('ltc', 0, new Uint8Array(20))],
      ['litecoin', 'BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4'],
      ['litecoin-regtest', segwit('tltc', 1, new Uint8Array(32))],
      ['bitcoin-testnet4', '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa'],
      ['bitcoin', scriptHexToAddress('litecoin', `76a914${'11'.repeat(20)}88ac`)!], // L…
      ['bitcoin', scriptHexToAddress('litecoin', `a914${'11'.repeat(20)}87`)!], // M…
      ['litecoin', '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa'],
    ];
    for (const [network, address] of cases) {
      const err = refused(() => addressToScriptHex(network, address));
      expect(err.reason).toBe('network');
      expect(err.code).toBe('invalid_address');
      expect(err.errors?.[0]?.path).toBe('address');
    }
  });

  it('refuses malformed addresses', () => {
    const good = 'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu';
    const cases = [
      '',
      'hello',
      `${good.slice(0, -1)}v`, // checksum
      'bc1qCR8te4kr609gcawutmrza0j4xv80jy8z306fyu', // mixed case
      segwit('bc', 0, new Uint8Array(20), bech32m), // v0 must be bech32
      segwit('bc', 1, new Uint8Array(32), bech32), // v1+ must be bech32m
      segwit('bc', 0, new Uint8Array(21)), // v0 is 20 or 32 bytes
      segwit('bc', 1, new Uint8Array(1)),
      '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb',
    ];
    for (const address of cases) {
      expect(refused(() => addressToScriptHex('bitcoin', address)).reason).toBe('malformed');
    }
  });
});

describe('scriptHexToAddress', () => {
  it('is undefined for scripts without an address', () => {
    for (const script of [
      '6a04deadbeef', // OP_RETURN
      `21${'02'.padEnd(66, 'a')}ac`, // P2PK
      `0015${'00'.repeat(21)}`, // v0 of 21 bytes
      `5101${'00'}`, // v1 program of 1 byte
      `0014${'00'.repeat(19)}`, // push longer than the script
      'zz',
      '',
    ]) {
      expect(scriptHexToAddress('bitcoin', script)).toBeUndefined();
    }
  });

  it('round-trips every standard script on every network, as the reference does', () => {
    const script = fc.oneof(
      fc.uint8Array({ minLength: 20, maxLength: 20 }).map((h) => `76a914${hexOf(h)}88ac`),
      fc.uint8Array({ minLength: 20, maxLength: 20 }).map((h) => `a914${hexOf(h)}87`),
      fc.uint8Array({ minLength: 20, maxLength: 20 }).map((h) => `0014${hexOf(h)}`),
      fc.uint8Array({ minLength: 32, maxLength: 32 }).map((h) => `0020${hexOf(h)}`),
      // bitcoinjs only accepts taproot keys that are points.
      fc
        .uint8Array({ minLength: 32, maxLength: 32 })
        .filter((d) => ecc.isPrivate(d))
        .map((d) => `5120${hexOf(ecc.xOnlyPointFromScalar(d))}`),
    );
    fc.assert(
      fc.property(fc.constantFrom(...NETWORK_IDS), script, (network, hex) => {
        const address = scriptHexToAddress(network, hex)!;
        expect(address).toBeDefined();
        expect(addressToScriptHex(network, address)).toBe(hex);
        expect(refOutputScriptHex(network as RefNetwork, address)).toBe(hex);
        if (address.startsWith(`${UTXO_PARAMS[network].hrp}1`)) {
          expect(addressToScriptHex(network, address.toUpperCase())).toBe(hex);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('encodes future witness versions with bech32m (BIP350)', () => {
    const program = Uint8Array.from({ length: 40 }, (_, i) => i);
    const hex = `5828${hexOf(program)}`; // OP_8, 40 bytes
    const address = scriptHexToAddress('bitcoin', hex)!;
    expect(bech32m.decode(address as `${string}1${string}`).words[0]).toBe(8);
    expect(addressToScriptHex('bitcoin', address)).toBe(hex);
    expect(addressToScriptHex('bitcoin', address.toUpperCase())).toBe(hex);
  });

  it('uses each network prefix', () => {
    const hex = `0014${'ab'.repeat(20)}`;
    expect(NETWORK_IDS.map((n) => scriptHexToAddress(n, hex)!.split('1')[0])).toEqual(
      NETWORK_IDS.map((n) => UTXO_PARAMS[n].hrp),
    );
  });
});
