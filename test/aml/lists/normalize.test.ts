import { bech32, bech32m } from '@scure/base';
import { describe, expect, it } from 'vitest';
import { mapOfacAsset, normalizeAddress } from '../../../src/aml/lists/normalize';

const words = (version: number, bytes: number) => [version, ...bech32.toWords(new Uint8Array(bytes).fill(7))];

describe('normalizeAddress', () => {
  it('lowercases EVM hex, so the EIP-55 checksum form equals the lowercase form', () => {
    const checksummed = '0x04DBA1194ee10112fE6C3207C0687DEf0e78baCf';
    expect(normalizeAddress(checksummed)).toEqual({
      normalized: '0x04dba1194ee10112fe6c3207c0687def0e78bacf',
      kind: 'evm',
    });
    expect(normalizeAddress('0x04dba1194ee10112fe6c3207c0687def0e78bacf').normalized).toBe(
      normalizeAddress(checksummed).normalized,
    );
    expect(normalizeAddress('  0X04DBA1194EE10112FE6C3207C0687DEF0E78BACF\n').normalized).toBe(
      '0x04dba1194ee10112fe6c3207c0687def0e78bacf',
    );
  });

  it('does not take 39 or 41 hex digits for an EVM address', () => {
    expect(normalizeAddress('0x04DBA1194ee10112fE6C3207C0687DEf0e78baC').kind).toBe('other');
    expect(normalizeAddress('0x04DBA1194ee10112fE6C3207C0687DEf0e78baCf0').kind).toBe('other');
  });

  it('lowercases bech32 and bech32m, upper-case QR form included', () => {
    expect(normalizeAddress('bc1q05aktddf9ce4p7hh3stgsf253m4vweu7nkhtmw')).toEqual({
      normalized: 'bc1q05aktddf9ce4p7hh3stgsf253m4vweu7nkhtmw',
      kind: 'bech32',
    });
    expect(normalizeAddress('BC1Q05AKTDDF9CE4P7HH3STGSF253M4VWEU7NKHTMW')).toEqual({
      normalized: 'bc1q05aktddf9ce4p7hh3stgsf253m4vweu7nkhtmw',
      kind: 'bech32',
    });
    const taproot = 'bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0'; // BIP350 vector
    expect(normalizeAddress(taproot.toUpperCase())).toEqual({ normalized: taproot, kind: 'bech32' });
  });

  it('knows the Bitcoin and Litecoin hrps of every network', () => {
    for (const hrp of ['bc', 'tb', 'bcrt', 'ltc', 'tltc', 'rltc']) {
      const address = bech32.encode(hrp, words(0, 20));
      expect(normalizeAddress(address.toUpperCase())).toEqual({ normalized: address, kind: 'bech32' });
    }
  });

  it('takes another hrp as bech32 only with a valid checksum', () => {
    const bnb = 'bnb136ns6lfw4zs5hg4n85vdthaad7hq5m4gtkgf23'; // listed by OFAC under BNB
    expect(normalizeAddress(bnb.toUpperCase())).toEqual({ normalized: bnb, kind: 'bech32' });
    expect(normalizeAddress(bech32m.encode('zz', words(1, 32)).toUpperCase()).kind).toBe('bech32');
    const broken = 'BNB136NS6LFW4ZS5HG4N85VDTHAAD7HQ5M4GTKGF24';
    expect(normalizeAddress(broken).kind).not.toBe('bech32');
    expect(normalizeAddress(broken).normalized).toBe(broken);
  });

  it('does not take mixed-case strings for bech32', () => {
    expect(normalizeAddress('bc1Q05aktddf9ce4p7hh3stgsf253m4vweu7nkhtmw').kind).not.toBe('bech32');
  });

  it('keeps base58 exactly: Bitcoin, Litecoin and Tron legacy addresses', () => {
    for (const address of [
      '12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h',
      '3F6bbvS1krsc1qR8FsbTDfYQyvkMm3QvmR',
      'LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb',
      'M8yFL6SFC6TreATegTyuSYkDfDRbisdpT3',
      'TAYhjpL8pPs8T84FSM329nffQpc6jD8GBM',
    ]) {
      expect(normalizeAddress(` ${address}\t`)).toEqual({ normalized: address, kind: 'base58' });
    }
    // A different case is a different base58 address.
    expect(normalizeAddress('12qtD5BFwRsdNsAZY76UVE1xyCGNTojH9h').normalized).toBe(
      '12qtD5BFwRsdNsAZY76UVE1xyCGNTojH9h',
    );
  });

  it('keeps anything else as given, only trimmed', () => {
    expect(normalizeAddress('  bitcoincash:qpf2cphc5dkuclkqur7lhj2yuqq9pk3hmukle77vhq ')).toEqual({
      normalized: 'bitcoincash:qpf2cphc5dkuclkqur7lhj2yuqq9pk3hmukle77vhq',
      kind: 'other',
    });
    expect(normalizeAddress('Not An Address')).toEqual({ normalized: 'Not An Address', kind: 'other' });
    expect(normalizeAddress('   ')).toEqual({ normalized: '', kind: 'other' });
  });
});

describe('mapOfacAsset', () => {
  it('maps OFAC codes to ours and passes the others through upper-cased', () => {
    expect(mapOfacAsset('XBT')).toBe('BTC');
    expect(mapOfacAsset(' xbt ')).toBe('BTC');
    for (const code of ['ETH', 'LTC', 'USDT', 'USDC', 'TRX', 'XMR']) expect(mapOfacAsset(code)).toBe(code);
    expect(mapOfacAsset('usdc')).toBe('USDC');
    expect(mapOfacAsset('BTC')).toBe('BTC');
  });
});
