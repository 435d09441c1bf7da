// Turns the sources' pair quotes into tenge rates. Per pair the median of fresh values from different
// sources (one bad source cannot move the price alone); per asset the first complete path of the policy.
import { ASSET_IDS, type AssetId, type NetworkMode } from '../chains/networks';
import { type Decimal, decimalToString, floorScale, medianDecimal, mulDecimal } from '../lib/money';
import { createBinanceSource } from './sources/binance';
import { createCoinGeckoSource } from './sources/coingecko';
import { createFixedSource } from './sources/fixed';
import { createKrakenSource } from './sources/kraken';
import { createNbkSource } from './sources/nbk';
import {
  type PairQuote,
  type RateSnapshot,
  type RateSource,
  type RatesLogger,
  RateUnavailableError,
} from './types';

/** Rates keep at most 12 decimals, rounded down: a lower rate asks for more crypto, safe for the merchant. */
export const RATE_SCALE = 12;

const A = '$ASSET';
/**
 * The policy, tried in order. USD/KZT is the National Bank's official rate: a tenge-first city anchors on
 * it, so paths through USD come first; USDT paths cover assets only Binance quotes; a direct KZT quote
 * (CoinGecko, or the sandbox's fixed rates) is the last resort. A leg from an asset to itself is 1.
 */
export const RATE_PATHS: readonly (readonly (readonly [string, string])[])[] = [
  [
    [A, 'USD'],
    ['USD', 'KZT'],
  ],
  [
    [A, 'USDT'],
    ['USDT', 'USD'],
    ['USD', 'KZT'],
  ],
  [
    [A, 'USDT'],
    ['USDT', 'KZT'],
  ],
  [[A, 'KZT']],
];

export interface RatesService {
  /** Tenge rates for `assets`, from a cache younger than `cacheTtlMs`; throws RateUnavailableError. */
  getRates(assets: readonly AssetId[]): Promise<Map<AssetId, RateSnapshot>>;
  /** Asks every source again (concurrent callers share one refresh). */
  refresh(): Promise<void>;
}

export interface RatesServiceOptions {
  readonly sources: readonly RateSource[];
  /** Quotes older than this are stale and ignored (a source may declare its own, see RateSource). */
  readonly maxAgeMs: number;
  readonly cacheTtlMs: number;
  readonly now?: () => number;
  readonly logger?: RatesLogger;
}

interface Leg {
  pair: string;
  value: Decimal;
  quotes: PairQuote[];
}

export function createRatesService(options: RatesServiceOptions): RatesService {
  if (options.cacheTtlMs > options.maxAgeMs) {
    // Cached quotes would go stale before the cache asks again: every rate would vanish in between.
    throw new RangeError('cacheTtlMs must not exceed maxAgeMs');
  }
  const now = options.now ?? Date.now;
  // Each source's last good answer: a source failing now keeps its earlier quotes until they go stale.
  const held = new Map<string, PairQuote[]>();
  let refreshedAtMs: number | undefined;
  let inflight: Promise<void> | undefined;

  async function load(): Promise<void> {
    const results = await Promise.allSettled(options.sources.map(async (s) => s.fetchQuotes(ASSET_IDS)));
    let answered = 0;
    results.forEach((r, i) => {
      const source = options.sources[i]!;
      if (r.status === 'fulfilled') {
        held.set(source.name, r.value);
        answered++;
      } else {
        const error = r.reason instanceof Error ? r.reason.message : String(r.reason);
        options.logger?.warn('rate source failed', { source: source.name, error });
      }
    });
    // When every source failed nothing is cached, so the next caller tries again.
    if (answered > 0) refreshedAtMs = now();
  }

  function refresh(): Promise<void> {
    inflight ??= load().finally(() => {
      inflight = undefined;
    });
    return inflight;
  }

  function currentLegs(): Map<string, Leg> {
    const t = now();
    const byPair = new Map<string, Map<string, PairQuote>>();
    for (const source of options.sources) {
      const maxAgeMs = source.maxAgeMs ?? options.maxAgeMs;
      for (const q of held.get(source.name) ?? []) {
        if (q.value.value <= 0n || t - q.atMs > maxAgeMs) continue;
        const pair = `${q.base}/${q.quote}`;
        const bySource = byPair.get(pair) ?? new Map<string, PairQuote>();
        // One value per source and pair (its newest), so a source cannot outvote the others.
        const seen = bySource.get(source.name);
        if (!seen || q.atMs > seen.atMs) bySource.set(source.name, q);
        byPair.set(pair, bySource);
      }
    }
    const legs = new Map<string, Leg>();
    for (const [pair, bySource] of byPair) {
      const quotes = [...bySource.values()];
      legs.set(pair, { pair, quotes, value: medianDecimal(quotes.map((q) => q.value)) });
    }
    return legs;
  }

  return {
    refresh,
    async getRates(assets) {
      if (refreshedAtMs === undefined || now() - refreshedAtMs >= options.cacheTtlMs) await refresh();
      const legs = currentLegs();
      const atMs = refreshedAtMs ?? now();
      const rates = new Map<AssetId, RateSnapshot>();
      const missing: AssetId[] = [];
      for (const asset of new Set(assets)) {
        const snapshot = compose(asset, legs, atMs);
        if (snapshot) rates.set(asset, snapshot);
        else missing.push(asset);
      }
      if (missing.length > 0) throw new RateUnavailableError(missing);
      return rates;
    },
  };
}

/** The first policy path whose every leg has a value, multiplied out; undefined when none has. */
function compose(asset: AssetId, legs: ReadonlyMap<string, Leg>, atMs: number): RateSnapshot | undefined {
  for (const path of RATE_PATHS) {
    const chain = path
      .map(([base, quote]) => [base === A ? asset : base, quote] as const)
      .filter(([base, quote]) => base !== quote)
      .map(([base, quote]) => `${base}/${quote}`);
    const found = chain.map((pair) => legs.get(pair));
    if (chain.length === 0 || found.some((leg) => !leg)) continue;
    const used = found as Leg[];
    const product = used.reduce<Decimal>((acc, leg) => mulDecimal(acc, leg.value), { value: 1n, scale: 0 });
    const kztPerUnit = floorScale(product, RATE_SCALE);
    if (kztPerUnit.value <= 0n) continue;
    const sources = used.flatMap((leg) =>
      leg.quotes.map((q) => ({
        name: q.source,
        pair: leg.pair,
        value: decimalToString(q.value),
        atMs: q.atMs,
      })),
    );
    return { asset, kztPerUnit, atMs, chain, sources };
  }
  return undefined;
}

/** Where the live sources answer; config may override each. */
export const DEFAULT_RATE_URLS = {
  nbk: 'https://nationalbank.kz',
  binance: 'https://api.binance.com',
  kraken: 'https://api.kraken.com',
  coingecko: 'https://api.coingecko.com',
} as const;

export interface RateSourcesConfig {
  readonly mode: NetworkMode;
  readonly urls: {
    readonly nbk: string;
    readonly binance: string;
    readonly kraken: string;
    readonly coingecko: string;
  };
  readonly timeoutMs: number;
  readonly fetchImpl?: typeof fetch;
  readonly now?: () => number;
}

/** Sandbox: the fixed rates alone. Testnet and mainnet: the live sources (real prices either way). */
export function createRateSourcesFromConfig(config: RateSourcesConfig): RateSource[] {
  const { now, fetchImpl, timeoutMs } = config;
  if (config.mode === 'sandbox') return [createFixedSource({ now })];
  const common = { timeoutMs, fetchImpl, now };
  return [
    createNbkSource({ ...common, baseUrl: config.urls.nbk }),
    createBinanceSource({ ...common, baseUrl: config.urls.binance }),
    createKrakenSource({ ...common, baseUrl: config.urls.kraken }),
    createCoinGeckoSource({ ...common, baseUrl: config.urls.coingecko }),
  ];
}
