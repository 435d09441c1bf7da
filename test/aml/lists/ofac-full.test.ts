// The whole SDN_ADVANCED.XML of 2025-11-19 (121 MB decompressed), cross-checked against the per-asset
// lists extracted from it by an independent tool. About 5 s with the bzip2 binary on this machine.
import { describe, expect, it } from 'vitest';
import { parsePlainList } from '../../../src/aml/lists/csv';
import { mapOfacAsset } from '../../../src/aml/lists/normalize';
import { openSdnAdvancedBz2, parseSdnAdvanced } from '../../../src/aml/lists/ofac';
import type { ListEntry } from '../../../src/aml/lists/types';
import { OFAC_TXT_ASSETS, readOfacTxt, SDN_BZ2, TORNADO_ROUTER } from './data';

describe('parseSdnAdvanced on the real SDN_ADVANCED.XML', () => {
  it('yields the same (asset, address) set as the per-asset lists, and no delisted address', async () => {
    const entries: ListEntry[] = [];
    const dates: string[] = [];
    let bytes = 0;
    const input = openSdnAdvancedBz2(SDN_BZ2);
    for await (const entry of parseSdnAdvanced(input, {
      onDateOfIssue: (date) => dates.push(date),
      onProgress: (n) => {
        bytes = n;
      },
    })) {
      entries.push(entry);
    }
    expect(dates).toEqual(['2025-11-19']);
    expect(bytes).toBe(120_977_559);

    for (const ofacAsset of OFAC_TXT_ASSETS) {
      const asset = mapOfacAsset(ofacAsset);
      const fromTxt = new Set(parsePlainList(readOfacTxt(ofacAsset), ofacAsset).map((e) => e.address));
      const fromXml = new Set(entries.filter((e) => e.asset === asset).map((e) => e.address));
      expect({ asset, addresses: [...fromXml].sort() }).toEqual({ asset, addresses: [...fromTxt].sort() });
    }
    // A few addresses sit on two parties (e.g. 1H939dom7i4WDLCKyGbXUp3fs9CSTNRzgL), hence more entries
    // than distinct addresses; the XML also carries assets the .txt files leave out (XMR, BCH, ZEC…).
    const keys = new Set(entries.map((e) => `${e.asset} ${e.address}`));
    expect(entries.length).toBeGreaterThan(keys.size);
    expect([...new Set(entries.map((e) => e.asset))]).toEqual(expect.arrayContaining(['XMR', 'BCH', 'ZEC']));

    const tornado = TORNADO_ROUTER.toLowerCase();
    expect(entries.filter((e) => e.address.toLowerCase() === tornado)).toEqual([]);

    for (const entry of entries) {
      expect(entry.sourceId).toMatch(/^\d+$/);
      expect(entry.partyName).toBeTruthy();
      expect(entry.programs?.length).toBeGreaterThan(0);
    }
    expect(entries.find((e) => e.address === '12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h')).toEqual({
      address: '12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h',
      asset: 'BTC',
      kind: 'base58',
      sourceId: '25308',
      partyName: 'YAN Xiaobing',
      programs: ['SDNTK'],
    });
    expect(entries.filter((e) => e.address === '1H939dom7i4WDLCKyGbXUp3fs9CSTNRzgL')).toHaveLength(2);
  }, 180_000);
});
