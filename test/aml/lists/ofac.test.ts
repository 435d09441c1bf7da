import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Bz2Decoder, openSdnAdvancedBz2, parseSdnAdvanced } from '../../../src/aml/lists/ofac';
import type { ListEntry } from '../../../src/aml/lists/types';
import { ValidationError } from '../../../src/lib/errors';
import { FIXTURE_DIR } from './data';

const FIXTURE = join(FIXTURE_DIR, 'sdn_advanced_small.xml');
const FIXTURE_BZ2 = join(FIXTURE_DIR, 'sdn_advanced_small.xml.bz2');
const fixtureBytes = readFileSync(FIXTURE);

const IVANOV = { partyName: 'IVANOV Ivan & Co', programs: ['IRAN', 'SDGT'], sourceId: '101' };
const EXCHANGE = { partyName: '加密 交易所', programs: ['CYBER2'], sourceId: '103' };
const EXPECTED: ListEntry[] = [
  { address: '12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h', asset: 'BTC', kind: 'base58', ...IVANOV },
  { address: 'bc1q05aktddf9ce4p7hh3stgsf253m4vweu7nkhtmw', asset: 'BTC', kind: 'bech32', ...IVANOV },
  { address: '0x04dba1194ee10112fe6c3207c0687def0e78bacf', asset: 'ETH', kind: 'evm', ...IVANOV },
  { address: 'TAYhjpL8pPs8T84FSM329nffQpc6jD8GBM', asset: 'USDT', kind: 'base58', ...EXCHANGE },
  {
    address:
      '49HqitRzdnhYjgTEAhgGpCfsjdTeMbUTU6cyR4JV1R7k2Eej9rGT8JpFiYDa4tZM6RZiFrHmMzgSrhHEqpDYKBe5B2ufNsL',
    asset: 'XMR',
    kind: 'base58',
    ...EXCHANGE,
  },
  {
    address: 'LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb',
    asset: 'LTC',
    kind: 'base58',
    partyName: 'LITE',
    sourceId: '104',
  },
];

async function collect(entries: AsyncIterable<ListEntry>): Promise<ListEntry[]> {
  const out: ListEntry[] = [];
  for await (const entry of entries) out.push(entry);
  return out;
}

async function* inChunks(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

const tmp = mkdtempSync(join(tmpdir(), 'sdn-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('parseSdnAdvanced', () => {
  it('finds the digital-currency feature types by name and yields each address with its party', async () => {
    expect(await collect(parseSdnAdvanced(createReadStream(FIXTURE)))).toEqual(EXPECTED);
  });

  it('gives the same entries whatever the chunking, UTF-8 split across chunks included', async () => {
    expect(await collect(parseSdnAdvanced(inChunks(fixtureBytes, 7)))).toEqual(EXPECTED);
    const text = fixtureBytes.toString('utf8');
    async function* strings() {
      for (let i = 0; i < text.length; i += 1000) yield text.slice(i, i + 1000);
    }
    expect(await collect(parseSdnAdvanced(strings()))).toEqual(EXPECTED);
  });

  it('reports progress in bytes and the date of issue', async () => {
    const progress: number[] = [];
    const dates: string[] = [];
    await collect(
      parseSdnAdvanced(inChunks(fixtureBytes, 4096), {
        onProgress: (bytes) => progress.push(bytes),
        onDateOfIssue: (date) => dates.push(date),
      }),
    );
    expect(progress).toEqual([4096, 8192, fixtureBytes.length]);
    expect(dates).toEqual(['2025-03-07']);
  });

  it('holds entries until the programmes are read, or streams them party by party without', async () => {
    const text = fixtureBytes.toString('utf8');
    const cut = text.indexOf('</DistinctParties>') + '</DistinctParties>'.length;
    let secondPartRead = false;
    async function* twoParts() {
      yield text.slice(0, cut);
      secondPartRead = true;
      yield text.slice(cut);
    }
    const early: boolean[] = [];
    const streamed: ListEntry[] = [];
    for await (const entry of parseSdnAdvanced(twoParts(), { programs: false })) {
      early.push(!secondPartRead);
      streamed.push(entry);
    }
    expect(early).toEqual(EXPECTED.map(() => true));
    expect(streamed).toEqual(EXPECTED.map(({ programs: _, ...entry }) => entry));

    secondPartRead = false;
    const late: boolean[] = [];
    for await (const _ of parseSdnAdvanced(twoParts())) late.push(secondPartRead);
    expect(late).toEqual(EXPECTED.map(() => true));
  });

  it('refuses a document whose parties come before the feature types', async () => {
    const xml =
      '<Sanctions><DistinctParties></DistinctParties><ReferenceValueSets><FeatureTypeValues/></ReferenceValueSets></Sanctions>';
    const error = await collect(parseSdnAdvanced(inChunks(Buffer.from(xml), 64))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({
      code: 'sdn_invalid',
      message: expect.stringContaining('FeatureTypeValues'),
    });
  });

  it('refuses a truncated or malformed document', async () => {
    const truncated = fixtureBytes.subarray(0, fixtureBytes.length - 200);
    await expect(collect(parseSdnAdvanced(inChunks(truncated, 1024)))).rejects.toMatchObject({
      code: 'sdn_invalid',
    });
    const bad = Buffer.from(fixtureBytes.toString('utf8').replace('</Profile>', '</Profil>'));
    await expect(collect(parseSdnAdvanced(inChunks(bad, 1024)))).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('openSdnAdvancedBz2', () => {
  it.each<Bz2Decoder>(['auto', 'bzip2', 'js'])('decompresses with the %s decoder', async (decoder) => {
    expect(await collect(parseSdnAdvanced(openSdnAdvancedBz2(FIXTURE_BZ2, decoder)))).toEqual(EXPECTED);
  });

  it.each<Bz2Decoder>(['bzip2', 'js'])('fails on a truncated file with the %s decoder', async (decoder) => {
    const path = join(tmp, `truncated-${decoder}.xml.bz2`);
    const bz2 = readFileSync(FIXTURE_BZ2);
    writeFileSync(path, bz2.subarray(0, bz2.length - 100));
    await expect(collect(parseSdnAdvanced(openSdnAdvancedBz2(path, decoder)))).rejects.toThrow();
  });

  it('fails on a missing file', async () => {
    const missing = join(tmp, 'missing.xml.bz2');
    await expect(collect(parseSdnAdvanced(openSdnAdvancedBz2(missing, 'js')))).rejects.toThrow(/ENOENT/);
    await expect(collect(parseSdnAdvanced(openSdnAdvancedBz2(missing, 'bzip2')))).rejects.toThrow(/bzip2/);
  });

  it('falls back to the JS decoder when no bzip2 binary is on PATH', async () => {
    const path = process.env.PATH;
    process.env.PATH = join(tmp, 'empty-bin');
    try {
      expect(await collect(parseSdnAdvanced(openSdnAdvancedBz2(FIXTURE_BZ2)))).toEqual(EXPECTED);
      await expect(collect(parseSdnAdvanced(openSdnAdvancedBz2(FIXTURE_BZ2, 'bzip2')))).rejects.toThrow(
        /ENOENT/,
      );
    } finally {
      process.env.PATH = path;
    }
  });
});
