// Fixed tenge rates for the sandbox: invoices on local chains need rates without any network.
import type { AssetId } from '../../chains/networks';
import type { PairQuote, RateSource } from '../types';
import { positiveDecimal } from './shared';

export const SANDBOX_KZT_RATES: Readonly<Record<AssetId, string>> = {
  BTC: '50000000',
  LTC: '50000',
  ETH: '2000000',
  POL: '250',
  USDC: '500',
  USDT: '500',
};

export interface FixedSourceOptions {
  /** KZT per unit as decimal strings; replaces the defaults per asset. */
  readonly rates?: Partial<Record<AssetId, string>>;
  readonly now?: () => number;
}

export function createFixedSource(options: FixedSourceOptions = {}): RateSource {
  const now = options.now ?? Date.now;
  const merged = { ...SANDBOX_KZT_RATES, ...options.rates };
  const rates = new Map(
    Object.entries(merged).map(([asset, text]) => {
      const value = positiveDecimal(text);
      if (!value) throw new RangeError(`fixed rate for ${asset} must be a positive decimal, got "${text}"`);
      return [asset, value] as const;
    }),
  );
  return {
    name: 'fixed',
    async fetchQuotes(assets) {
      const atMs = now();
      return assets.flatMap((asset): PairQuote[] => {
        const value = rates.get(asset);
        return value ? [{ base: asset, quote: 'KZT', value, atMs, source: 'fixed' }] : [];
      });
    },
  };
}
