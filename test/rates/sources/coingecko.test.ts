import { afterEach, describe, expect, it } from 'vitest';
import { decimalToString } from '../../../src/lib/money';
import { parseJsonExact } from '../../../src/rates/json';
import { createCoinGeckoSource, parseCoinGeckoPrices } from '../../../src/rates/sources/coingecko';
import { type FixtureServer, fixture, json, startServer } from '../server';

const BODY = fixture('coingecko-simple-price.json');
/** The fixture's prices were last updated a minute before this. */
const NOW = Date.UTC(2026, 6, 31, 10);
const UPDATED = NOW - 60_000;
const ALL = ['BTC', 'ETH', 'LTC', 'USDT', 'USDC', 'POL'] as const;

let server: FixtureServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const show = (quotes: { base: string; quote: string; value: { value: bigint; scale: number } }[]) =>
  Object.fromEntries(quotes.map((q) => [`${q.base}/${q.quote}`, decimalToString(q.value)]));

describe('parseCoinGeckoPrices', () => {
  it('reads the JSON numbers exactly, in USD and KZT', () => {
    const { quotes, problems } = parseCoinGeckoPrices(parseJsonExact(BODY), ALL, NOW, 600_000);
    expect(problems).toEqual([]);
    expect(show(quotes)).toEqual({
      'BTC/USD': '97123.456789012345',
      'BTC/KZT': '46056003.29',
      'ETH/USD': '3649.88',
      'ETH/KZT': '1730773.09',
      'LTC/USD': '84.3',
      'LTC/KZT': '39975.06',
      'USDT/USD': '1.0001',
      'USDT/KZT': '474.25',
      'USDC/USD': '0.999904',
      'USDC/KZT': '474.17',
      'POL/USD': '0.523812',
      'POL/KZT': '248.39',
    });
    expect(quotes.every((q) => q.atMs === UPDATED && q.source === 'coingecko')).toBe(true);
  });

  it('handles exponents and drops zero, negative and non-numeric values', () => {
    const body = parseJsonExact(
      '{"bitcoin":{"usd":1e-7,"kzt":4.742E-5},"ethereum":{"usd":0,"kzt":-5},"tether":{"usd":"abc","kzt":null}}',
    );
    const { quotes, problems } = parseCoinGeckoPrices(body, ['BTC', 'ETH', 'USDT', 'LTC'], NOW, 600_000);
    expect(quotes.map((q) => [`${q.base}/${q.quote}`, q.value])).toEqual([
      ['BTC/USD', { value: 1n, scale: 7 }],
      ['BTC/KZT', { value: 4742n, scale: 8 }],
    ]);
    expect(problems).toEqual([
      'ETH/USD: not a positive number',
      'ETH/KZT: not a positive number',
      'USDT/USD: not a positive number',
      'USDT/KZT: not a positive number',
      'LTC: missing',
    ]);
  });

  it('drops a coin whose last_updated_at is older than the allowed age', () => {
    const body = parseJsonExact(
      BODY.replace(/("tether":\{[^}]*"last_updated_at":)1785491940/, '$11785491000'),
    );
    const { quotes, problems } = parseCoinGeckoPrices(body, ['BTC', 'USDT'], NOW, 600_000);
    expect(quotes.map((q) => q.base)).toEqual(['BTC', 'BTC']);
    expect(problems).toEqual(['USDT: stale (updated 2026-07-31T09:43:20.000Z)']);
  });

  it('rejects a body that is not an object', () => {
    expect(() => parseCoinGeckoPrices(parseJsonExact('[1,2]'), ['BTC'], NOW, 1)).toThrow(/not an object/);
  });
});

describe('createCoinGeckoSource', () => {
  it('asks for the ids in USD and KZT with update times', async () => {
    server = await startServer((url) => (url.pathname === '/api/v3/simple/price' ? json(BODY) : undefined));
    const source = createCoinGeckoSource({ baseUrl: server.baseUrl, timeoutMs: 2000, now: () => NOW });
    const quotes = await source.fetchQuotes(['BTC', 'POL']);
    expect(server.requests).toEqual([
      '/api/v3/simple/price?ids=bitcoin,polygon-ecosystem-token&vs_currencies=usd,kzt&include_last_updated_at=true',
    ]);
    expect(show(quotes)).toEqual({
      'BTC/USD': '97123.456789012345',
      'BTC/KZT': '46056003.29',
      'POL/USD': '0.523812',
      'POL/KZT': '248.39',
    });
  });

  it('fails when every value is stale', async () => {
    server = await startServer(() => json(BODY));
    const source = createCoinGeckoSource({
      baseUrl: server.baseUrl,
      timeoutMs: 2000,
      maxAgeMs: 30_000,
      now: () => NOW,
    });
    await expect(source.fetchQuotes(['BTC'])).rejects.toThrow(/BTC: stale/);
  });

  it('fails on HTTP 429/500, malformed bodies and timeouts', async () => {
    let reply = json('{"status":{"error_code":429,"error_message":"You\'ve exceeded the Rate Limit."}}', 429);
    server = await startServer(() => reply);
    const source = createCoinGeckoSource({ baseUrl: server.baseUrl, timeoutMs: 50, now: () => NOW });
    await expect(source.fetchQuotes(['BTC'])).rejects.toMatchObject({ code: 'upstream_status' });
    reply = json('{"bitcoin":{"usd":97123.4', 200);
    await expect(source.fetchQuotes(['BTC'])).rejects.toMatchObject({ code: 'upstream_malformed' });
    reply = { hang: true };
    await expect(source.fetchQuotes(['BTC'])).rejects.toMatchObject({ code: 'upstream_unavailable' });
  });
});
