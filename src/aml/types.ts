// The screening vocabulary of SPEC section 7: every screener answers with a risk grade and reasons.
import type { AssetId, NetworkId } from '../chains/networks';
import type { Queryable } from '../db/client';

export const RISKS = ['none', 'low', 'medium', 'high', 'severe'] as const;
export type Risk = (typeof RISKS)[number];

export const riskRank = (r: Risk): number => RISKS.indexOf(r);
export const maxRisk = (risks: Iterable<Risk>): Risk => {
  let top: Risk = 'none';
  for (const r of risks) if (riskRank(r) > riskRank(top)) top = r;
  return top;
};

export interface Reason {
  readonly code: string;
  readonly message: string;
}

export interface ScreenerResult {
  readonly screener: string;
  readonly risk: Risk;
  readonly reasons: readonly Reason[];
}

/** What is being screened: a payer before an intent, or the senders of a detected payment. */
export interface ScreenSubject {
  readonly kind: 'payer' | 'payment';
  readonly network: NetworkId;
  readonly asset?: AssetId;
  /** Payer address, or the payment's sender addresses (UTXO inputs, EVM `from`). */
  readonly addresses: readonly string[];
  /** The tenge value: the invoice's amount for a payer, the payment's value for a payment. */
  readonly amountTiyn: bigint;
  readonly invoiceId: string;
  readonly paymentId?: string;
  readonly at: Date;
  /** The connection or transaction to read history from (structuring reads recent payments). */
  readonly q: Queryable;
}

export interface Screener {
  readonly name: string;
  screen(subject: ScreenSubject): Promise<ScreenerResult>;
}

/** A grade with reasons, or nothing to report. */
export const result = (screener: string, risk: Risk, reasons: Reason[] = []): ScreenerResult => ({
  screener,
  risk,
  reasons,
});
