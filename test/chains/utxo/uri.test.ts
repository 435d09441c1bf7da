import { describe, expect, it } from 'vitest';
import { bip21Uri } from '../../../src/chains/utxo/uri';
import { ValidationError } from '../../../src/lib/errors';

const ADDRESS = 'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu';

function refusedAt(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).errors?.[0]?.path;
  }
  throw new Error('expected ValidationError');
}

describe('bip21Uri', () => {
  it("writes BIP21's own examples", () => {
    const address = '175tWpb8K1S7NmH4Zx6rewF9WQrcZv245W';
    expect(bip21Uri({ scheme: 'bitcoin', address })).toBe(`bitcoin:${address}`);
    expect(bip21Uri({ scheme: 'bitcoin', address, amount: '20.30', label: 'Luke-Jr' })).toBe(
      `bitcoin:${address}?amount=20.3&label=Luke-Jr`,
    );
    expect(
      bip21Uri({
        scheme: 'bitcoin',
        address,
        amount: '50',
        label: 'Luke-Jr',
        message: 'Donation for project xyz',
      }),
    ).toBe(`bitcoin:${address}?amount=50&label=Luke-Jr&message=Donation%20for%20project%20xyz`);
  });

  it('keeps the address as given and percent-encodes label and message', () => {
    const uri = bip21Uri({
      scheme: 'litecoin',
      address: ADDRESS.toUpperCase(),
      amount: '0.00010000',
      label: 'Café & Co',
      message: 'Order #12 = 50%?',
    });
    expect(uri).toBe(
      `litecoin:${ADDRESS.toUpperCase()}?amount=0.0001&label=Caf%C3%A9%20%26%20Co` +
        '&message=Order%20%2312%20%3D%2050%25%3F',
    );
    const parsed = new URL(uri);
    expect(parsed.protocol).toBe('litecoin:');
    expect(parsed.searchParams.get('label')).toBe('Café & Co');
    expect(parsed.searchParams.get('message')).toBe('Order #12 = 50%?');
    expect(uri).not.toContain('+');
  });

  it('writes amounts canonically without changing their value', () => {
    const amountOf = (amount: string) =>
      new URL(bip21Uri({ scheme: 'bitcoin', address: ADDRESS, amount })).searchParams.get('amount');
    expect(amountOf('1.00000000')).toBe('1');
    expect(amountOf('0.10')).toBe('0.1');
    expect(amountOf('0.00000001')).toBe('0.00000001');
    expect(amountOf('21000000')).toBe('21000000');
    expect(amountOf('123.45678900')).toBe('123.456789');
  });

  it('refuses amounts that are not plain positive decimals of at most 8 places', () => {
    for (const amount of ['1e-4', '-1', '0.000000001', '.5', '1.', '0', '0.00', '1,5', ' 1', '01', 'NaN']) {
      expect(refusedAt(() => bip21Uri({ scheme: 'bitcoin', address: ADDRESS, amount }))).toBe('amount');
    }
  });

  it('refuses what is not an address or a known scheme', () => {
    for (const address of ['', `${ADDRESS}?amount=1`, `${ADDRESS}#x`, 'bc1 q']) {
      expect(refusedAt(() => bip21Uri({ scheme: 'bitcoin', address }))).toBe('address');
    }
    const scheme = 'ethereum' as 'bitcoin';
    expect(refusedAt(() => bip21Uri({ scheme, address: ADDRESS }))).toBe('scheme');
    expect(refusedAt(() => bip21Uri({ scheme: 'bitcoin', address: ADDRESS, label: '\ud800' }))).toBe('label');
  });

  it('leaves out empty label and message', () => {
    expect(bip21Uri({ scheme: 'bitcoin', address: ADDRESS, label: '', message: '' })).toBe(
      `bitcoin:${ADDRESS}`,
    );
  });
});
