// Binance spot prices against USDT (the deepest crypto order books). Prices come as decimal strings.
import type { AssetId } from '../../chains/networks';
import type { Decimal } from '../../lib/money';
import type { PairQuote, RateSource, SourceOptions } from '../types';
import { getJson, isRecord, malformed, positiveDecimal, requireSome, trimSlash } from './shared';

const SERVICE = 'binance';
export const BINANCE_SYMBOLS: Partial<Record<AssetId, string>> = {
  BTC: 'BTCUSDT',
  ETH: 'ETHUSDT',
  LTC: 'LTCUSDT',
  POL: 'POLUSDT',
  USDC: 'USDCUSDT',
};

/** Parses `/api/v3/ticker/price` (one object, or an array for `symbols=[...]`): symbol → price. */
export function parseBinancePrices(body: unknown): { prices: Map<string, Decimal>; problems: string[] } {
  const entries = Array.isArray(body) ? body : [body];
  const prices = new Map<string, Decimal>();
  const problems: string[] = [];
  for (const e of entries) {
    if (!isRecord(e) || typeof e.symbol !== 'string') throw malformed(SERVICE, 'a ticker has no symbol');
    const price = positiveDecimal(e.price);
    if (price) prices.set(e.symbol, price);
    else problems.push(`${e.symbol}: the price is not a positive number`);
  }
  return { prices, problems };
}

/** `baseUrl` e.g. https://api.binance.com. One request for all symbols. */
export function createBinanceSource(options: SourceOptions): RateSource {
  const now = options.now ?? Date.now;
  const base = trimSlash(options.baseUrl);
  return {
    name: SERVICE,
    async fetchQuotes(assets, signal) {
      const wanted = assets.flatMap((a) => {
        const symbol = BINANCE_SYMBOLS[a];
        return symbol ? [{ asset: a, symbol }] : [];
      });
      if (wanted.length === 0) return [];
      const symbols = encodeURIComponent(JSON.stringify(wanted.map((w) => w.symbol)));
      const body = await getJson(SERVICE, `${base}/api/v3/ticker/price?symbols=${symbols}`, options, signal);
      const { prices, problems } = parseBinancePrices(body);
      const atMs = now();
      const quotes: PairQuote[] = [];
      for (const { asset, symbol } of wanted) {
        const value = prices.get(symbol);
        if (value) quotes.push({ base: asset, quote: 'USDT', value, atMs, source: SERVICE });
        else if (!problems.some((p) => p.startsWith(symbol))) problems.push(`${symbol}: missing`);
      }
      return requireSome(SERVICE, quotes, problems);
    },
  };
}
