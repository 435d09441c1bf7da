import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamError } from '../../src/lib/errors';
import { decimalToString, parseDecimal } from '../../src/lib/money';
import {
  createRateSourcesFromConfig,
  createRatesService,
  DEFAULT_RATE_URLS,
  type RatesServiceOptions,
} from '../../src/rates/aggregate';
import { createFixedSource } from '../../src/rates/sources/fixed';
import { type PairQuote, type RateSource, RateUnavailableError } from '../../src/rates/types';
import { type FixtureServer, fixture, json, startServer, xml } from './server';

const T0 = Date.UTC(2026, 6, 31, 10);

interface FakeSource extends RateSource {
  calls: number;
  quotes: [pair: string, value: string, atMs?: number][];
  error?: Error;
  gate?: Promise<void>;
}

function fake(name: string, quotes: FakeSource['quotes'], maxAgeMs?: number): FakeSource {
  const source: FakeSource = {
    name,
    maxAgeMs,
    calls: 0,
    quotes,
    async fetchQuotes() {
      source.calls++;
      await source.gate;
      if (source.error) throw source.error;
      return source.quotes.map(([pair, value, atMs]): PairQuote => {
        const [base, quote] = pair.split('/') as [string, string];
        return { base, quote, value: parseDecimal(value), atMs: atMs ?? clock.now, source: name };
      });
    },
  };
  return source;
}

const clock = { now: T0 };
afterEach(() => {
  clock.now = T0;
});

function service(sources: RateSource[], extra: Partial<RatesServiceOptions> = {}) {
  const warnings: Record<string, unknown>[] = [];
  const rates = createRatesService({
    sources,
    maxAgeMs: 5 * 60_000,
    cacheTtlMs: 60_000,
    now: () => clock.now,
    logger: { warn: (_msg, ctx) => warnings.push(ctx ?? {}) },
    ...extra,
  });
  return { rates, warnings };
}

const NBK = () => fake('nbk', [['USD/KZT', '474.2', T0 - 10 * 3_600_000]], 8 * 86_400_000);

async function rateOf(sources: RateSource[], asset: 'BTC' | 'USDT' | 'USDC' | 'POL' = 'BTC') {
  const snapshot = (await service(sources).rates.getRates([asset])).get(asset)!;
  return { ...snapshot, kzt: decimalToString(snapshot.kztPerUnit) };
}

describe('pair medians', () => {
  it('takes the median of three sources', async () => {
    const r = await rateOf([
      NBK(),
      fake('a', [['BTC/USD', '100']]),
      fake('b', [['BTC/USD', '103']]),
      fake('c', [['BTC/USD', '101']]),
    ]);
    expect(r.kzt).toBe('47894.2');
    expect(r.sources.filter((s) => s.pair === 'BTC/USD').map((s) => s.value)).toEqual(['100', '103', '101']);
  });

  it('takes the mean of the middle two of two sources, exactly', async () => {
    const r = await rateOf([NBK(), fake('a', [['BTC/USD', '100']]), fake('b', [['BTC/USD', '101']])]);
    expect(r.kzt).toBe('47657.1');
  });

  it('counts one value per source (its newest), so a source cannot outvote the others', async () => {
    const chatty = fake('a', [
      ['BTC/USD', '500', T0 - 2000],
      ['BTC/USD', '100', T0 - 1000],
    ]);
    const r = await rateOf([NBK(), chatty, fake('b', [['BTC/USD', '102']])]);
    // median(100, 102) × 474.2: the 500 from the same source is not counted
    expect(r.kzt).toBe('47894.2');
  });

  it('ignores stale, zero and negative quotes', async () => {
    const r = await rateOf([
      NBK(),
      fake('old', [['BTC/USD', '90', T0 - 5 * 60_000 - 1]]),
      fake('zero', [['BTC/USD', '0']]),
      fake('neg', [['BTC/USD', '-100']]),
      fake('ok', [['BTC/USD', '100']]),
    ]);
    expect(r.kzt).toBe('47420');
    expect(r.sources.map((s) => s.name)).toEqual(['ok', 'nbk']);
  });
});

describe('path policy', () => {
  it('prefers ASSET/USD × USD/KZT and records every leg', async () => {
    const r = await rateOf([
      NBK(),
      fake('kraken', [['BTC/USD', '97140.1', T0 - 5000]]),
      fake('binance', [['BTC/USDT', '97150.12']]),
      fake('cg', [['BTC/KZT', '46056003.29']]),
    ]);
    expect(r.chain).toEqual(['BTC/USD', 'USD/KZT']);
    expect(r.kzt).toBe('46063835.42');
    expect(r.atMs).toBe(T0);
    expect(r.sources).toEqual([
      { name: 'kraken', pair: 'BTC/USD', value: '97140.1', atMs: T0 - 5000 },
      { name: 'nbk', pair: 'USD/KZT', value: '474.2', atMs: T0 - 36_000_000 },
    ]);
  });

  it('goes through USDT/USD when only Binance quotes the asset', async () => {
    const r = await rateOf(
      [NBK(), fake('binance', [['POL/USDT', '0.5241']]), fake('k', [['USDT/USD', '1.00012']])],
      'POL',
    );
    expect(r.chain).toEqual(['POL/USDT', 'USDT/USD', 'USD/KZT']);
    expect(r.kzt).toBe('248.5580433864');
  });

  it('uses USDT/KZT when there is no USD/KZT', async () => {
    const r = await rateOf([
      fake('binance', [['BTC/USDT', '97150.12']]),
      fake('cg', [['USDT/KZT', '474.25']]),
    ]);
    expect(r.chain).toEqual(['BTC/USDT', 'USDT/KZT']);
    expect(r.kzt).toBe('46073444.41');
  });

  it('falls back to a direct KZT quote last', async () => {
    const r = await rateOf([
      fake('cg', [
        ['BTC/KZT', '46056003.29'],
        ['BTC/USDT', '97150.12'],
      ]),
    ]);
    expect(r.chain).toEqual(['BTC/KZT']);
    expect(r.kzt).toBe('46056003.29');
  });

  it('treats a leg from an asset to itself as 1 (USDT, USDC)', async () => {
    const usdt = await rateOf([NBK(), fake('k', [['USDT/USD', '1.00012']])], 'USDT');
    expect(usdt.chain).toEqual(['USDT/USD', 'USD/KZT']);
    expect(usdt.kzt).toBe('474.256904');
    const direct = await rateOf([fake('cg', [['USDT/KZT', '474.25']])], 'USDT');
    expect(direct.chain).toEqual(['USDT/KZT']);
    const usdc = await rateOf(
      [NBK(), fake('b', [['USDC/USDT', '0.9998']]), fake('k', [['USDT/USD', '1.00012']])],
      'USDC',
    );
    expect(usdc.chain).toEqual(['USDC/USDT', 'USDT/USD', 'USD/KZT']);
    expect(usdc.kzt).toBe('474.1620526192');
  });

  it('caps the rate at 12 decimals, rounding down', async () => {
    const r = await rateOf([NBK(), fake('a', [['BTC/USD', '0.1234567890123']])]);
    expect(r.kzt).toBe('58.543209349632');
  });

  it('skips a path whose product rounds to zero', async () => {
    const r = await rateOf([
      NBK(),
      fake('a', [
        ['BTC/USD', '1e-20'],
        ['BTC/KZT', '7'],
      ]),
    ]);
    expect(r.chain).toEqual(['BTC/KZT']);
  });

  it('honours a source’s own age limit (the daily official rate)', async () => {
    clock.now = T0 + 3 * 86_400_000;
    const r = await rateOf([NBK(), fake('a', [['BTC/USD', '100']])]);
    expect(r.chain).toEqual(['BTC/USD', 'USD/KZT']);
    clock.now = T0 + 9 * 86_400_000;
    await expect(rateOf([NBK(), fake('a', [['BTC/USD', '100']])])).rejects.toBeInstanceOf(
      RateUnavailableError,
    );
  });
});

describe('createRatesService', () => {
  it('uses the others when a source fails, and logs the failure', async () => {
    const broken = fake('kraken', []);
    broken.error = new UpstreamError('upstream_status', 'kraken answered HTTP 500');
    const { rates, warnings } = service([NBK(), broken, fake('cg', [['BTC/USD', '100']])]);
    const btc = (await rates.getRates(['BTC'])).get('BTC')!;
    expect(decimalToString(btc.kztPerUnit)).toBe('47420');
    expect(warnings).toEqual([{ source: 'kraken', error: 'kraken answered HTTP 500' }]);
  });

  it('throws RateUnavailableError naming every asset without a rate', async () => {
    const { rates } = service([NBK(), fake('a', [['BTC/USD', '100']])]);
    const err = await rates.getRates(['BTC', 'ETH', 'LTC']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateUnavailableError);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).toMatchObject({ code: 'rate_unavailable', status: 503, assets: ['ETH', 'LTC'] });
    expect((err as Error).name).toBe('RateUnavailableError');
    expect((err as Error).message).toContain('ETH, LTC');
  });

  it('serves from its cache until cacheTtlMs, then asks again', async () => {
    const a = fake('a', [['BTC/USD', '100']]);
    const { rates } = service([NBK(), a]);
    await rates.getRates(['BTC']);
    clock.now += 59_999;
    await rates.getRates(['BTC']);
    expect(a.calls).toBe(1);
    clock.now += 1;
    a.quotes = [['BTC/USD', '200']];
    const btc = (await rates.getRates(['BTC'])).get('BTC')!;
    expect(a.calls).toBe(2);
    expect(decimalToString(btc.kztPerUnit)).toBe('94840');
    expect(btc.atMs).toBe(T0 + 60_000);
  });

  it('shares one refresh between concurrent callers', async () => {
    const a = fake('a', [['BTC/USD', '100']]);
    let open!: () => void;
    a.gate = new Promise((resolve) => {
      open = resolve;
    });
    const { rates } = service([NBK(), a]);
    const both = Promise.all([rates.getRates(['BTC']), rates.getRates(['BTC']), rates.refresh()]);
    open();
    const [first, second] = await both;
    expect(a.calls).toBe(1);
    expect(decimalToString(first.get('BTC')!.kztPerUnit)).toBe(
      decimalToString(second.get('BTC')!.kztPerUnit),
    );
  });

  it('keeps a failed source’s earlier quotes until they are stale', async () => {
    const a = fake('a', [['BTC/USD', '100']]);
    const b = fake('b', [['BTC/USD', '102']]);
    const { rates } = service([NBK(), a, b]);
    await rates.getRates(['BTC']);
    clock.now += 60_000;
    b.error = new Error('down');
    const mid = (await rates.getRates(['BTC'])).get('BTC')!;
    expect(decimalToString(mid.kztPerUnit)).toBe('47894.2');
    clock.now += 4 * 60_000 + 1;
    const late = (await rates.getRates(['BTC'])).get('BTC')!;
    expect(decimalToString(late.kztPerUnit)).toBe('47420');
  });

  it('does not cache a refresh in which every source failed', async () => {
    const a = fake('a', [['BTC/KZT', '46000000']]);
    const b = fake('b', [['BTC/KZT', '46000002']]);
    a.error = new Error('down');
    b.error = new Error('down too');
    const { rates, warnings } = service([a, b], { cacheTtlMs: 3_600_000, maxAgeMs: 3_600_000 });
    await expect(rates.getRates(['BTC'])).rejects.toBeInstanceOf(RateUnavailableError);
    expect(warnings.map((w) => w.source)).toEqual(['a', 'b']);
    a.error = undefined;
    b.error = undefined;
    const btc = (await rates.getRates(['BTC'])).get('BTC')!;
    expect(decimalToString(btc.kztPerUnit)).toBe('46000001');
    expect([a.calls, b.calls]).toEqual([2, 2]);
  });

  it('refuses a cache that outlives the quotes', () => {
    expect(() => service([NBK()], { cacheTtlMs: 10 * 60_000 })).toThrow(/cacheTtlMs/);
  });

  it('gives the sandbox its fixed rates', async () => {
    const sources = createRateSourcesFromConfig({
      mode: 'sandbox',
      urls: DEFAULT_RATE_URLS,
      timeoutMs: 1000,
      now: () => clock.now,
    });
    expect(sources.map((s) => s.name)).toEqual(['fixed']);
    const { rates } = service(sources);
    const all = await rates.getRates(['BTC', 'LTC', 'ETH', 'POL', 'USDC', 'USDT']);
    expect(
      [...all.values()].map((s) => [s.asset, decimalToString(s.kztPerUnit), s.chain.join(' × ')]),
    ).toEqual([
      ['BTC', '50000000', 'BTC/KZT'],
      ['LTC', '50000', 'LTC/KZT'],
      ['ETH', '2000000', 'ETH/KZT'],
      ['POL', '250', 'POL/KZT'],
      ['USDC', '500', 'USDC/KZT'],
      ['USDT', '500', 'USDT/KZT'],
    ]);
    expect(all.get('BTC')!.sources).toEqual([
      { name: 'fixed', pair: 'BTC/KZT', value: '50000000', atMs: T0 },
    ]);
  });

  it('is not confused by a fixed source beside live ones', async () => {
    const r = await rateOf([
      createFixedSource({ now: () => clock.now }),
      NBK(),
      fake('k', [['BTC/USD', '100']]),
    ]);
    expect(r.chain).toEqual(['BTC/USD', 'USD/KZT']);
  });
});

describe('the live sources together, against recorded responses', () => {
  let server: FixtureServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('composes BTC, POL and USDT from NBK, Binance, Kraken and CoinGecko', async () => {
    server = await startServer((url) => {
      const p = url.pathname;
      if (p === '/nbk/rss/get_rates.cfm') return xml(fixture('nbk-get_rates-31.07.2026.xml'));
      if (p === '/binance/api/v3/ticker/price') return json(fixture('binance-ticker-price-symbols.json'));
      if (p === '/kraken/0/public/Ticker')
        return json(fixture(`kraken-ticker-${url.searchParams.get('pair')}.json`));
      if (p === '/cg/api/v3/simple/price') return json(fixture('coingecko-simple-price.json'));
      return undefined;
    });
    const base = server.baseUrl;
    const sources = createRateSourcesFromConfig({
      mode: 'testnet',
      urls: {
        nbk: `${base}/nbk`,
        binance: `${base}/binance`,
        kraken: `${base}/kraken`,
        coingecko: `${base}/cg`,
      },
      timeoutMs: 2000,
      now: () => clock.now,
    });
    expect(sources.map((s) => s.name)).toEqual(['nbk', 'binance', 'kraken', 'coingecko']);
    const { rates, warnings } = service(sources);
    const all = await rates.getRates(['BTC', 'POL', 'USDT']);
    expect(warnings).toEqual([]);
    const btc = all.get('BTC')!;
    expect(btc.chain).toEqual(['BTC/USD', 'USD/KZT']);
    // median(97140.1, 97123.456789012345) × 474.2 = 46059889.3146748269995, floored to 12 places
    expect(decimalToString(btc.kztPerUnit)).toBe('46059889.314674826999');
    expect(btc.sources).toEqual([
      { name: 'kraken', pair: 'BTC/USD', value: '97140.1', atMs: T0 },
      { name: 'coingecko', pair: 'BTC/USD', value: '97123.456789012345', atMs: T0 - 60_000 },
      { name: 'nbk', pair: 'USD/KZT', value: '474.2', atMs: Date.UTC(2026, 6, 30, 19) },
    ]);
    expect(decimalToString(all.get('POL')!.kztPerUnit)).toBe('248.3888052');
    expect(decimalToString(all.get('USDT')!.kztPerUnit)).toBe('474.252162');
  });
});
