import { describe, expect, it } from 'vitest';
import { parseCsvList, parsePlainList } from '../../../src/aml/lists/csv';
import { ValidationError } from '../../../src/lib/errors';

const EVM = '0x04DBA1194ee10112fE6C3207C0687DEf0e78baCf';
const EVM_LOWER = EVM.toLowerCase();
const BTC = '12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h';
const BECH32 = 'bc1q05aktddf9ce4p7hh3stgsf253m4vweu7nkhtmw';

function errorOf(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('parsePlainList', () => {
  it('reads one address a line, skipping comments and blank lines, mapping the OFAC asset code', () => {
    const text = `\uFEFF# OFAC XBT\r\n${BTC}\r\n\r\n  ${BECH32.toUpperCase()}  # upper case from a QR\n${BTC}\n`;
    expect(parsePlainList(text, 'XBT')).toEqual([
      { address: BTC, asset: 'BTC', kind: 'base58' },
      { address: BECH32, asset: 'BTC', kind: 'bech32' },
    ]);
  });

  it('keeps the asset of a list it does not map', () => {
    expect(parsePlainList(`${EVM}\n`, 'usdc')).toEqual([{ address: EVM_LOWER, asset: 'USDC', kind: 'evm' }]);
  });

  it('names the line of a line holding two words', () => {
    const error = errorOf(() => parsePlainList(`${BTC}\n${BTC} ${BECH32}\n`, 'XBT'));
    expect(error.code).toBe('list_invalid');
    expect(error.errors).toEqual([
      { path: 'line 2', message: expect.stringContaining('more than one word') },
    ]);
  });

  it('refuses a bad asset code', () => {
    expect(() => parsePlainList(BTC, 'bit coin')).toThrow(ValidationError);
  });
});

describe('parseCsvList', () => {
  it('reads the header columns and rows; an empty asset means every asset', () => {
    const csv = [
      'address,asset,name,reason',
      `${EVM},ETH,Mixer Ltd,Court order 12/2025`,
      `${BTC},,,`,
      `${BECH32.toUpperCase()},XBT,"Doe, John","said ""hi"""`,
    ].join('\n');
    expect(parseCsvList(csv)).toEqual([
      {
        address: EVM_LOWER,
        asset: 'ETH',
        kind: 'evm',
        partyName: 'Mixer Ltd',
        reason: 'Court order 12/2025',
      },
      { address: BTC, asset: '*', kind: 'base58' },
      { address: BECH32, asset: 'BTC', kind: 'bech32', partyName: 'Doe, John', reason: 'said "hi"' },
    ]);
  });

  it('takes the columns in any order, only address being required, with CRLF, a BOM and no final newline', () => {
    const csv = `\uFEFFReason , ADDRESS\r\n"two\r\nlines",${BTC}\r\n\r\nplain,${EVM}`;
    expect(parseCsvList(csv)).toEqual([
      { address: BTC, asset: '*', kind: 'base58', reason: 'two\r\nlines' },
      { address: EVM_LOWER, asset: '*', kind: 'evm', reason: 'plain' },
    ]);
  });

  it('accepts ANY and * for every asset and keeps a repeated (asset, address) once', () => {
    const csv = `address,asset\n${BTC},any\n${BTC},*\n${BTC},BTC\n${EVM},ETH\n${EVM_LOWER},eth\n`;
    expect(parseCsvList(csv)).toEqual([
      { address: BTC, asset: '*', kind: 'base58' },
      { address: BTC, asset: 'BTC', kind: 'base58' },
      { address: EVM_LOWER, asset: 'ETH', kind: 'evm' },
    ]);
  });

  it('reports every bad row with its physical line number', () => {
    const csv = [
      'address,asset,name,reason', // 1
      `${EVM},ETH,ok,ok`, // 2
      `${BTC},BTC,"a name`, // 3: the quoted name runs on to line 4
      `on two lines",too,many`, // 4
      ',ETH,,', // 5
      `${BTC},BT C,,`, // 6
      `${BTC},ETH,,`, // 7
      `${EVM},LTC,,`, // 8
      `${BTC} x,BTC,,`, // 9
      `${EVM},USDC,fine,`, // 10
    ].join('\n');
    const error = errorOf(() => parseCsvList(csv));
    expect(error.code).toBe('list_invalid');
    expect(error.status).toBe(422);
    expect(error.errors).toEqual([
      { path: 'line 3', message: '5 fields where the header has 4' },
      { path: 'line 5.address', message: 'the address is empty' },
      { path: 'line 6.asset', message: '"BT C" is not an asset code' },
      { path: 'line 7.address', message: `"${BTC}" is not an address of ETH (evm)` },
      { path: 'line 8.address', message: `"${EVM}" is not an address of LTC (utxo)` },
      { path: 'line 9.address', message: `"${BTC} x" holds spaces or control characters` },
    ]);
    expect(error.message).toContain('6 bad line(s)');
    expect(error.message).toContain('line 3');
  });

  it('lists at most 50 errors and says how many more there are', () => {
    const csv = ['address,asset', ...Array.from({ length: 60 }, () => ',BTC')].join('\n');
    const error = errorOf(() => parseCsvList(csv));
    expect(error.errors).toHaveLength(50);
    expect(error.errors?.[49]?.path).toBe('line 51.address');
    expect(error.message).toContain('and 10 more');
  });

  it('names the line of an unclosed quote and of a stray quote', () => {
    const unclosed = errorOf(() =>
      parseCsvList(`address,name\n${BTC},ok\n${BTC},"never closed\nstill open\n`),
    );
    expect(unclosed.errors).toEqual([{ path: 'line 3', message: 'a quoted field is never closed' }]);
    const stray = errorOf(() => parseCsvList(`address,name\n${BTC},Joe "the" Doe\n`));
    expect(stray.errors).toEqual([
      { path: 'line 2', message: expect.stringContaining('quote inside an unquoted') },
    ]);
    const after = errorOf(() => parseCsvList(`address,name\n${BTC},"Joe"x\n`));
    expect(after.errors).toEqual([
      { path: 'line 2', message: expect.stringContaining('after a closing quote') },
    ]);
  });

  it('refuses a missing, unknown or repeated header column and an empty file', () => {
    expect(errorOf(() => parseCsvList(`${BTC},BTC\n`)).errors).toEqual([
      { path: 'line 1', message: expect.stringContaining(`unknown column "${BTC}"`) },
      { path: 'line 1', message: expect.stringContaining('unknown column "BTC"') },
      { path: 'line 1', message: expect.stringContaining('must name an address column') },
    ]);
    expect(errorOf(() => parseCsvList('address,adress\n')).errors).toEqual([
      { path: 'line 1', message: expect.stringContaining('unknown column "adress"') },
    ]);
    expect(errorOf(() => parseCsvList('address,Address\n')).errors).toEqual([
      { path: 'line 1', message: 'column "address" appears twice' },
    ]);
    expect(errorOf(() => parseCsvList('\n\n')).message).toContain('empty');
  });
});
