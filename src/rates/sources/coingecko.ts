// CoinGecko's aggregated prices in USD and directly in KZT. It answers with JSON numbers, which are read
// from the raw text as exact decimals (parseJsonExact), never through a float.
import type { AssetId } from '../../chains/networks';
import type { PairQuote, RateSource, SourceOptions } from '../types';
import { getJson, isRecord, malformed, positiveDecimal, requireSome, trimSlash } from './shared';

const SERVICE = 'coingecko';
export const COINGECKO_IDS: Record<AssetId, string> = {
  BTC: 'bitcoin',
  ETH: 'ethereum',
  LTC: 'litecoin',
  USDT: 'tether',
  USDC: 'usd-coin',
  POL: 'polygon-ecosystem-token',
};
const VS = ['usd', 'kzt'] as const;

/**
 * Parses `/api/v3/simple/price?…&include_last_updated_at=true` (body from parseJsonExact): ASSET/USD and
 * ASSET/KZT. A value older than `maxAgeMs` by its `last_updated_at` is stale and dropped.
 */
export function parseCoinGeckoPrices(
  body: unknown,
  assets: readonly AssetId[],
  nowMs: number,
  maxAgeMs: number,
): { quotes: PairQuote[]; problems: string[] } {
  if (!isRecord(body)) throw malformed(SERVICE, 'the body is not an object');
  const quotes: PairQuote[] = [];
  const problems: string[] = [];
  for (const asset of assets) {
    const coin = body[COINGECKO_IDS[asset]];
    if (!isRecord(coin)) {
      problems.push(`${asset}: missing`);
      continue;
    }
    const updated = coin.last_updated_at;
    const atMs =
      typeof updated === 'string' && /^[0-9]{1,12}$/.test(updated) ? Number(updated) * 1000 : nowMs;
    if (nowMs - atMs > maxAgeMs) {
      problems.push(`${asset}: stale (updated ${new Date(atMs).toISOString()})`);
      continue;
    }
    for (const vs of VS) {
      const value = positiveDecimal(coin[vs]);
      const quote = vs.toUpperCase();
      if (value) quotes.push({ base: asset, quote, value, atMs: Math.min(atMs, nowMs), source: SERVICE });
      else problems.push(`${asset}/${quote}: not a positive number`);
    }
  }
  return { quotes, problems };
}

export interface CoinGeckoSourceOptions extends SourceOptions {
  /** CoinGecko says when each price was last updated; older is stale (default 10 minutes). */
  readonly maxAgeMs?: number;
}

/** `baseUrl` e.g. https://api.coingecko.com. */
export function createCoinGeckoSource(options: CoinGeckoSourceOptions): RateSource {
  const now = options.now ?? Date.now;
  const base = trimSlash(options.baseUrl);
  const maxAgeMs = options.maxAgeMs ?? 10 * 60_000;
  return {
    name: SERVICE,
    async fetchQuotes(assets, signal) {
      if (assets.length === 0) return [];
      const ids = assets.map((a) => COINGECKO_IDS[a]).join(',');
      const url = `${base}/api/v3/simple/price?ids=${ids}&vs_currencies=${VS.join(',')}&include_last_updated_at=true`;
      const body = await getJson(SERVICE, url, options, signal);
      const { quotes, problems } = parseCoinGeckoPrices(body, assets, now(), maxAgeMs);
      return requireSome(SERVICE, quotes, problems);
    },
  };
}
