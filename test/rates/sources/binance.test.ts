import { afterEach, describe, expect, it } from 'vitest';
import { decimalToString } from '../../../src/lib/money';
import { createBinanceSource, parseBinancePrices } from '../../../src/rates/sources/binance';
import { type FixtureServer, fixture, json, type Reply, startServer } from '../server';

const SYMBOLS = fixture('binance-ticker-price-symbols.json');
const NOW = Date.UTC(2026, 6, 31, 10);

let server: FixtureServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function binance(reply: Reply, timeoutMs = 2000) {
  server = await startServer((url) => (url.pathname === '/api/v3/ticker/price' ? reply : undefined));
  return createBinanceSource({ baseUrl: server.baseUrl, timeoutMs, now: () => NOW });
}

const show = (m: Map<string, { value: bigint; scale: number }>) =>
  Object.fromEntries([...m].map(([k, v]) => [k, decimalToString(v)]));

describe('parseBinancePrices', () => {
  it('reads the array of the symbols= form exactly', () => {
    const { prices, problems } = parseBinancePrices(JSON.parse(SYMBOLS));
    expect(problems).toEqual([]);
    expect(show(prices)).toEqual({
      BTCUSDT: '97150.12',
      ETHUSDT: '3651.27',
      LTCUSDT: '84.31',
      POLUSDT: '0.5241',
      USDCUSDT: '0.9998',
    });
  });

  it('reads the single-symbol form', () => {
    const { prices } = parseBinancePrices(JSON.parse(fixture('binance-ticker-price-BTCUSDT.json')));
    expect(show(prices)).toEqual({ BTCUSDT: '97150.12' });
  });

  it('drops zero, negative and non-numeric prices', () => {
    const body = [
      { symbol: 'BTCUSDT', price: '0.00000000' },
      { symbol: 'ETHUSDT', price: '-1' },
      { symbol: 'LTCUSDT', price: 'NaN' },
      { symbol: 'POLUSDT', price: 0.5 },
      { symbol: 'USDCUSDT', price: '1.0001' },
    ];
    const { prices, problems } = parseBinancePrices(body);
    expect(show(prices)).toEqual({ USDCUSDT: '1.0001' });
    expect(problems).toHaveLength(4);
  });

  it('rejects tickers without a symbol', () => {
    expect(() => parseBinancePrices({ code: -1121, msg: 'Invalid symbol.' })).toThrow(/no symbol/);
  });
});

describe('createBinanceSource', () => {
  it('asks for all symbols at once and quotes ASSET/USDT', async () => {
    const source = await binance(json(SYMBOLS));
    const quotes = await source.fetchQuotes(['BTC', 'ETH', 'LTC', 'POL', 'USDC', 'USDT']);
    expect(server!.requests).toEqual([
      '/api/v3/ticker/price?symbols=["BTCUSDT","ETHUSDT","LTCUSDT","POLUSDT","USDCUSDT"]',
    ]);
    expect(quotes.map((q) => [`${q.base}/${q.quote}`, decimalToString(q.value), q.atMs, q.source])).toEqual([
      ['BTC/USDT', '97150.12', NOW, 'binance'],
      ['ETH/USDT', '3651.27', NOW, 'binance'],
      ['LTC/USDT', '84.31', NOW, 'binance'],
      ['POL/USDT', '0.5241', NOW, 'binance'],
      ['USDC/USDT', '0.9998', NOW, 'binance'],
    ]);
  });

  it('fails when nothing usable comes back', async () => {
    const source = await binance(json('[{"symbol":"BTCUSDT","price":"0"}]'));
    await expect(source.fetchQuotes(['BTC', 'ETH'])).rejects.toMatchObject({ code: 'rate_source_empty' });
  });

  it('fails on HTTP 500', async () => {
    const source = await binance(json('{"code":-1000,"msg":"An unknown error occurred"}', 500));
    await expect(source.fetchQuotes(['BTC'])).rejects.toMatchObject({ code: 'upstream_status' });
  });

  it('fails on a body that is not JSON', async () => {
    const source = await binance(json('<html>502 Bad Gateway</html>'));
    await expect(source.fetchQuotes(['BTC'])).rejects.toMatchObject({ code: 'upstream_malformed' });
  });

  it('times out on a server that never answers', async () => {
    const source = await binance({ hang: true }, 50);
    await expect(source.fetchQuotes(['BTC'])).rejects.toMatchObject({ code: 'upstream_unavailable' });
  });
});
