import { afterEach, describe, expect, it } from 'vitest';
import { decimalToString } from '../../../src/lib/money';
import { createKrakenSource, parseKrakenTicker } from '../../../src/rates/sources/kraken';
import { type FixtureServer, fixture, json, startServer } from '../server';

const NOW = Date.UTC(2026, 6, 31, 10);

let server: FixtureServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('parseKrakenTicker', () => {
  it('takes the last trade price c[0] of the one result entry, whatever its key', () => {
    expect(decimalToString(parseKrakenTicker(JSON.parse(fixture('kraken-ticker-XBTUSD.json'))))).toBe(
      '97140.1',
    );
    expect(decimalToString(parseKrakenTicker(JSON.parse(fixture('kraken-ticker-USDTUSD.json'))))).toBe(
      '1.00012',
    );
    expect(decimalToString(parseKrakenTicker(JSON.parse(fixture('kraken-ticker-POLUSD.json'))))).toBe(
      '0.5238',
    );
  });

  it('fails on a Kraken error list', () => {
    expect(() => parseKrakenTicker(JSON.parse(fixture('kraken-ticker-unknown-pair.json')))).toThrow(
      /EQuery:Unknown asset pair/,
    );
  });

  it('fails unless there is exactly one entry with a positive price', () => {
    const one = JSON.parse(fixture('kraken-ticker-XBTUSD.json'));
    const two = { error: [], result: { ...one.result, XETHZUSD: one.result.XXBTZUSD } };
    expect(() => parseKrakenTicker(two)).toThrow(/one result entry, got 2/);
    expect(() => parseKrakenTicker({ error: [], result: {} })).toThrow(/got 0/);
    one.result.XXBTZUSD.c = ['0.00000', '1'];
    expect(() => parseKrakenTicker(one)).toThrow(/c\[0\]/);
    one.result.XXBTZUSD.c = ['-5', '1'];
    expect(() => parseKrakenTicker(one)).toThrow(/c\[0\]/);
    expect(() => parseKrakenTicker({ result: {} })).toThrow(/no error list/);
  });
});

describe('createKrakenSource', () => {
  it('asks each pair alone and quotes ASSET/USD', async () => {
    server = await startServer((url) => {
      const pair = url.searchParams.get('pair');
      return url.pathname === '/0/public/Ticker' ? json(fixture(`kraken-ticker-${pair}.json`)) : undefined;
    });
    const kraken = createKrakenSource({ baseUrl: server.baseUrl, timeoutMs: 2000, now: () => NOW });
    const quotes = await kraken.fetchQuotes(['BTC', 'ETH', 'LTC', 'POL', 'USDC', 'USDT']);
    expect(quotes.map((q) => [`${q.base}/${q.quote}`, decimalToString(q.value), q.atMs])).toEqual([
      ['BTC/USD', '97140.1', NOW],
      ['ETH/USD', '3650.45', NOW],
      ['LTC/USD', '84.27', NOW],
      ['POL/USD', '0.5238', NOW],
      ['USDC/USD', '0.9999', NOW],
      ['USDT/USD', '1.00012', NOW],
    ]);
    expect([...server.requests].sort()).toEqual(
      ['XBTUSD', 'ETHUSD', 'LTCUSD', 'POLUSD', 'USDCUSD', 'USDTUSD']
        .map((p) => `/0/public/Ticker?pair=${p}`)
        .sort(),
    );
  });

  it('drops the pairs that fail and keeps the others', async () => {
    server = await startServer((url) => {
      const pair = url.searchParams.get('pair');
      if (pair === 'XBTUSD') return json(fixture('kraken-ticker-XBTUSD.json'));
      if (pair === 'ETHUSD') return json('{"error":["EGeneral:Internal error"]}', 500);
      return json(fixture('kraken-ticker-unknown-pair.json'));
    });
    const kraken = createKrakenSource({ baseUrl: server.baseUrl, timeoutMs: 2000, now: () => NOW });
    const quotes = await kraken.fetchQuotes(['BTC', 'ETH', 'POL']);
    expect(quotes.map((q) => `${q.base}/${q.quote}=${decimalToString(q.value)}`)).toEqual([
      'BTC/USD=97140.1',
    ]);
  });

  it('fails when every pair fails, naming them', async () => {
    server = await startServer(() => ({ hang: true }));
    const kraken = createKrakenSource({ baseUrl: server.baseUrl, timeoutMs: 50, now: () => NOW });
    const err = await kraken.fetchQuotes(['BTC', 'ETH']).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'rate_source_empty' });
    expect((err as Error).message).toMatch(/XBTUSD: kraken: timed out.*ETHUSD: kraken: timed out/);
  });

  it('fails on malformed bodies', async () => {
    server = await startServer(() => json('{"error":[],"result":'));
    const kraken = createKrakenSource({ baseUrl: server.baseUrl, timeoutMs: 2000, now: () => NOW });
    await expect(kraken.fetchQuotes(['BTC'])).rejects.toThrow(/not JSON/);
  });
});
