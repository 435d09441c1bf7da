import { describe, expect, it } from 'vitest';
import { decimalToString } from '../../../src/lib/money';
import { createFixedSource } from '../../../src/rates/sources/fixed';

describe('createFixedSource', () => {
  it('quotes the sandbox rates against KZT at the current time', async () => {
    const source = createFixedSource({ now: () => 1234 });
    const quotes = await source.fetchQuotes(['BTC', 'LTC', 'ETH', 'POL', 'USDC', 'USDT']);
    expect(quotes.map((q) => [`${q.base}/${q.quote}`, decimalToString(q.value), q.atMs, q.source])).toEqual([
      ['BTC/KZT', '50000000', 1234, 'fixed'],
      ['LTC/KZT', '50000', 1234, 'fixed'],
      ['ETH/KZT', '2000000', 1234, 'fixed'],
      ['POL/KZT', '250', 1234, 'fixed'],
      ['USDC/KZT', '500', 1234, 'fixed'],
      ['USDT/KZT', '500', 1234, 'fixed'],
    ]);
  });

  it('takes configured rates and refuses bad ones', async () => {
    const source = createFixedSource({ rates: { BTC: '45000000.5' } });
    const [btc] = await source.fetchQuotes(['BTC']);
    expect(decimalToString(btc!.value)).toBe('45000000.5');
    expect(() => createFixedSource({ rates: { ETH: '0' } })).toThrow(/ETH/);
    expect(() => createFixedSource({ rates: { ETH: 'lots' } })).toThrow(/ETH/);
  });
});
