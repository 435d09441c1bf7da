// The contracts of the exchange-rate layer: sources quote pairs, the service composes tenge rates.
import type { AssetId } from '../chains/networks';
import { UpstreamError } from '../lib/errors';
import type { Decimal } from '../lib/money';

/** One price from one source: 1 `base` costs `value` `quote` (e.g. BTC/USD = 97123.45). */
export interface PairQuote {
  base: string;
  quote: string;
  value: Decimal;
  /** When the source says the value was true (its own timestamp, or the fetch time if it gives none). */
  atMs: number;
  source: string;
}

export interface RateSource {
  readonly name: string;
  /**
   * How old this source's quotes may be before they are ignored, when the source has a cadence of its own
   * (the National Bank publishes once a day). Unset: the service's `maxAgeMs` applies.
   */
  readonly maxAgeMs?: number;
  /** The pairs this source can quote for `assets`; throws when it yields nothing usable. */
  fetchQuotes(assets: readonly AssetId[], signal?: AbortSignal): Promise<PairQuote[]>;
}

export interface RateSourceRecord {
  name: string;
  pair: string;
  value: string;
  atMs: number;
}

/** A tenge rate and how it was made: stored with every quote (SPEC section 3). */
export interface RateSnapshot {
  asset: AssetId;
  kztPerUnit: Decimal;
  /** When the quotes behind this rate were gathered. */
  atMs: number;
  /** The legs multiplied, e.g. ['BTC/USD', 'USD/KZT']. */
  chain: string[];
  /** Every source value behind every leg. */
  sources: RateSourceRecord[];
}

export interface RatesLogger {
  warn(message: string, context?: Record<string, unknown>): void;
}

/** What every network source factory takes. */
export interface SourceOptions {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly fetchImpl?: typeof fetch;
  readonly now?: () => number;
}

export class RateUnavailableError extends UpstreamError {
  readonly assets: readonly string[];

  constructor(assets: readonly string[], cause?: unknown) {
    super('rate_unavailable', `no exchange rate is available for ${assets.join(', ')}`, cause, { assets });
    this.assets = assets;
    // UpstreamError types `name` as its own literal; at run time the name still says what failed.
    Object.defineProperty(this, 'name', { value: 'RateUnavailableError' });
  }
}
