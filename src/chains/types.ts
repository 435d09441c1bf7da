// The chain adapter of DESIGN section 2 (the BTCPay payment-handler idea): one per chain family,
// stateless; the caller keeps cursors in PostgreSQL. Option creation is here; scanning and
// refreshing arrive with the UTXO and EVM watchers.
import type { Queryable } from '../db/client';
import type { Merchant } from '../merchants/repository';
import type { Family, NetworkId, PaymentOptionId } from './networks';

export interface OptionRequest {
  /** Where the option may read; creation itself is one statement written by the caller. */
  readonly tx: Queryable;
  readonly merchant: Merchant;
  readonly invoiceId: string;
  readonly option: PaymentOptionId;
  readonly amountAtomic: bigint;
  readonly decimals: number;
  /** Shown by wallets that support it (BIP21 label/message). */
  readonly label?: string;
  readonly message?: string;
  /** UTXO: the address reserved and derived before the write (see reserveAddressBatch). */
  readonly reserved?: ReservedAddress;
}

export interface ReservedAddress {
  readonly index: number;
  readonly address: string;
  readonly scriptPubKeyHex: string;
}

export interface CreatedOption {
  readonly address: string;
  readonly uri: string;
  readonly derivationIndex: number | null;
  readonly details: Record<string, unknown>;
}

export interface ChainAdapter {
  readonly family: Family;
  /** Why this merchant cannot be offered this option (undefined when it can). */
  unavailableReason(merchant: Merchant, option: PaymentOptionId): string | undefined;
  createPaymentOption(req: OptionRequest): Promise<CreatedOption>;
}

/** A payment as a scanner reports it, before it is matched to an invoice option. */
export interface ScannedPayment {
  readonly network: NetworkId;
  readonly address: string;
  readonly txid: string;
  readonly outputIndex: number;
  readonly fromAddresses: readonly string[];
  readonly amountAtomic: bigint;
  readonly asset: string;
  readonly confirmations: number;
  readonly blockHash: string | null;
  readonly blockHeight: bigint | null;
  readonly rbf: boolean;
}
