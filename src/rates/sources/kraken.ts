// Kraken spot prices against USD. Its result keys are Kraken's own names (XXBTZUSD for XBTUSD), so each
// pair is asked alone and the one result entry is taken, whatever it is called.
import type { AssetId } from '../../chains/networks';
import type { Decimal } from '../../lib/money';
import type { PairQuote, RateSource, SourceOptions } from '../types';
import { getJson, isRecord, malformed, positiveDecimal, requireSome, trimSlash } from './shared';

const SERVICE = 'kraken';
export const KRAKEN_PAIRS: Partial<Record<AssetId, string>> = {
  BTC: 'XBTUSD',
  ETH: 'ETHUSD',
  LTC: 'LTCUSD',
  POL: 'POLUSD',
  USDC: 'USDCUSD',
  USDT: 'USDTUSD',
};

/** Parses `/0/public/Ticker?pair=…` for one pair: the last trade price `c[0]`. */
export function parseKrakenTicker(body: unknown): Decimal {
  if (!isRecord(body)) throw malformed(SERVICE, 'the body is not an object');
  if (!Array.isArray(body.error)) throw malformed(SERVICE, 'the body has no error list');
  if (body.error.length > 0) throw malformed(SERVICE, body.error.map(String).join(', '));
  const entries = isRecord(body.result) ? Object.values(body.result) : [];
  if (entries.length !== 1) throw malformed(SERVICE, `expected one result entry, got ${entries.length}`);
  const last = entries[0];
  const price = isRecord(last) && Array.isArray(last.c) ? positiveDecimal(last.c[0]) : undefined;
  if (!price) throw malformed(SERVICE, 'the last trade price c[0] is not a positive number');
  return price;
}

/** `baseUrl` e.g. https://api.kraken.com. */
export function createKrakenSource(options: SourceOptions): RateSource {
  const now = options.now ?? Date.now;
  const base = trimSlash(options.baseUrl);
  return {
    name: SERVICE,
    async fetchQuotes(assets, signal) {
      const wanted = assets.flatMap((a) => {
        const pair = KRAKEN_PAIRS[a];
        return pair ? [{ asset: a, pair }] : [];
      });
      if (wanted.length === 0) return [];
      const results = await Promise.allSettled(
        wanted.map(async ({ pair }) =>
          parseKrakenTicker(await getJson(SERVICE, `${base}/0/public/Ticker?pair=${pair}`, options, signal)),
        ),
      );
      const atMs = now();
      const quotes: PairQuote[] = [];
      const problems: string[] = [];
      results.forEach((r, i) => {
        const { asset, pair } = wanted[i]!;
        if (r.status === 'fulfilled')
          quotes.push({ base: asset, quote: 'USD', value: r.value, atMs, source: SERVICE });
        else problems.push(`${pair}: ${(r.reason as Error).message}`);
      });
      return requireSome(SERVICE, quotes, problems);
    },
  };
}
