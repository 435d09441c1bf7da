import { getAddress } from 'ethers';
import { describe, expect, it } from 'vitest';
import { parsePlainList } from '../../../src/aml/lists/csv';
import { AddressIndex, diff, entryKey } from '../../../src/aml/lists/lookup';
import { mapOfacAsset } from '../../../src/aml/lists/normalize';
import type { ListEntry } from '../../../src/aml/lists/types';
import { OFAC_TXT_ASSETS, readOfacTxt, TORNADO_ROUTER } from './data';

const rawLines = (asset: string) =>
  readOfacTxt(asset)
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);

const ofacEntries = OFAC_TXT_ASSETS.flatMap((asset) => parsePlainList(readOfacTxt(asset), asset));

function ofacIndex(): AddressIndex {
  const index = new AddressIndex();
  index.addAll(ofacEntries, 'ofac-sdn');
  return index;
}

const flipCase = (c: string) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase());

describe('AddressIndex on the OFAC per-asset lists', () => {
  const index = ofacIndex();

  it('holds every listed address once per asset', () => {
    const perFile = OFAC_TXT_ASSETS.map((asset) => new Set(rawLines(asset)).size);
    expect(index.size).toBe(perFile.reduce((a, b) => a + b, 0));
    expect(index.addressCount).toBeLessThanOrEqual(index.size);
  });

  it.each(OFAC_TXT_ASSETS)(
    'flags the first, middle and last %s addresses, in their normalized form',
    (asset) => {
      const lines = rawLines(asset);
      for (const raw of [lines[0]!, lines[Math.floor(lines.length / 2)]!, lines.at(-1)!]) {
        const hits = index.match(raw);
        expect(hits.length).toBeGreaterThan(0);
        const expected = raw.startsWith('0x') || raw.startsWith('bc1') ? raw.toLowerCase() : raw;
        expect(hits).toContainEqual({
          listId: 'ofac-sdn',
          entry: expect.objectContaining({ address: expected, asset: mapOfacAsset(asset) }),
          assetMatch: true,
        });
      }
    },
  );

  it('does not flag the delisted Tornado Cash router, in any case', () => {
    for (const form of [
      TORNADO_ROUTER,
      TORNADO_ROUTER.toLowerCase(),
      TORNADO_ROUTER.toUpperCase().replace('0X', '0x'),
    ]) {
      expect(index.match(form)).toEqual([]);
    }
    for (const asset of OFAC_TXT_ASSETS)
      expect(readOfacTxt(asset).toLowerCase()).not.toContain(TORNADO_ROUTER.toLowerCase());
  });

  it('compares base58 exactly: one letter in another case is another address', () => {
    const listed = rawLines('XBT').find((a) => a.startsWith('1') || a.startsWith('3'))!;
    const at = [...listed].findIndex((c, i) => i > 0 && /[a-zA-Z]/.test(c));
    const flipped = listed.slice(0, at) + flipCase(listed[at]!) + listed.slice(at + 1);
    expect(index.match(listed)).toHaveLength(1);
    expect(index.match(flipped)).toEqual([]);
    expect(index.has(flipped)).toBe(false);
  });

  it('matches bech32 in upper case (QR form)', () => {
    const listed = rawLines('XBT').find((a) => a.startsWith('bc1'))!;
    const hits = index.match(` ${listed.toUpperCase()} `);
    expect(hits.map((h) => h.entry.address)).toEqual([listed.toLowerCase()]);
  });

  it('matches EVM addresses in checksum and lowercase forms', () => {
    const checksummed = rawLines('ETH').find((a) => a !== a.toLowerCase())!;
    const lowercase = rawLines('USDT').find((a) => a.startsWith('0x') && a === a.toLowerCase())!;
    expect(index.match(checksummed.toLowerCase())).toHaveLength(index.match(checksummed).length);
    expect(index.match(checksummed).length).toBeGreaterThan(0);
    expect(index.match(getAddress(lowercase)).map((h) => h.entry.address)).toContain(lowercase);
  });

  it('applies an EVM listing to every EVM asset, and says when a UTXO listing is for another asset', () => {
    const eth = rawLines('ETH')[0]!;
    expect(index.match(eth, { asset: 'USDC', family: 'evm' }).every((h) => h.assetMatch)).toBe(true);
    const usdtEvm = rawLines('USDT').find((a) => a.startsWith('0x'))!;
    expect(index.match(usdtEvm, { asset: 'ETH', family: 'evm' })).toContainEqual(
      expect.objectContaining({ entry: expect.objectContaining({ asset: 'USDT' }), assetMatch: true }),
    );

    const btc = rawLines('XBT')[0]!;
    expect(index.match(btc, { asset: 'BTC', family: 'utxo' }).map((h) => h.assetMatch)).toEqual([true]);
    expect(index.match(btc, { asset: 'LTC', family: 'utxo' }).map((h) => h.assetMatch)).toEqual([false]);
    expect(index.match(btc, { family: 'evm' }).map((h) => h.assetMatch)).toEqual([false]);
    expect(index.match(btc, { family: 'utxo' }).map((h) => h.assetMatch)).toEqual([true]);
  });
});

describe('AddressIndex', () => {
  const EVM = '0x04dba1194ee10112fe6c3207c0687def0e78bacf';

  it('returns every list naming an address, with the entry details, once per identical listing', () => {
    const index = new AddressIndex();
    const ofac: ListEntry = {
      address: EVM,
      asset: 'ETH',
      kind: 'evm',
      partyName: 'IVANOV',
      programs: ['CYBER2'],
      sourceId: '101',
    };
    const operator: ListEntry = { address: getAddress(EVM), asset: '*', kind: 'evm', reason: 'court order' };
    index.add(ofac, 'ofac');
    index.add({ ...ofac }, 'ofac');
    index.add(operator, 'operator');
    expect(index.size).toBe(2);
    const hits = index.match(EVM, { asset: 'USDT' });
    expect(hits).toEqual([
      { listId: 'operator', entry: { ...operator, address: EVM }, assetMatch: true },
      { listId: 'ofac', entry: ofac, assetMatch: true },
    ]);
    hits[1]!.entry.programs!.push('changed');
    expect(index.match(EVM)[1]!.entry.programs).toEqual(['CYBER2']);
  });

  it('keeps two parties listing the same address apart', () => {
    const index = new AddressIndex();
    const base: ListEntry = { address: 'LeKvNdNEzgQkzVVnRdV3fAu2DSF1nLsNw6', asset: 'LTC', kind: 'base58' };
    index.add({ ...base, sourceId: '30518' }, 'ofac');
    index.add({ ...base, sourceId: '30520' }, 'ofac');
    expect(
      index
        .match(base.address)
        .map((h) => h.entry.sourceId)
        .sort(),
    ).toEqual(['30518', '30520']);
  });

  it('grows past its initial capacity', () => {
    const index = new AddressIndex(16);
    for (let i = 0; i < 5000; i++) {
      index.add({ address: `0x${i.toString(16).padStart(40, '0')}`, asset: 'ETH', kind: 'evm' }, 'synthetic');
    }
    expect(index.size).toBe(5000);
    expect(index.match(`0x${(4321).toString(16).padStart(40, '0')}`)).toHaveLength(1);
    expect(index.match(`0x${(5000).toString(16).padStart(40, '0')}`)).toEqual([]);
  });
});

describe('diff', () => {
  it('finds the delisting of the Tornado Cash router between two versions', () => {
    const tornado: ListEntry = { address: TORNADO_ROUTER.toLowerCase(), asset: 'ETH', kind: 'evm' };
    const before = [...ofacEntries, tornado];
    expect(diff(before, ofacEntries)).toEqual({ added: [], removed: [tornado] });
    expect(diff(ofacEntries, before)).toEqual({ added: [tornado], removed: [] });
  });

  it('keys on asset and normalized address, not on case or party details', () => {
    const a: ListEntry = {
      address: getAddress('0x04dba1194ee10112fe6c3207c0687def0e78bacf'),
      asset: 'ETH',
      kind: 'evm',
    };
    const b: ListEntry = { ...a, address: a.address.toLowerCase(), partyName: 'renamed' };
    const c: ListEntry = { ...b, asset: 'USDT' };
    expect(diff([a], [b])).toEqual({ added: [], removed: [] });
    expect(diff([a, a], [b, c])).toEqual({ added: [c], removed: [] });
    expect(entryKey(a)).toBe(entryKey(b));
  });
});
