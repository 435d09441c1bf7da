// What every chain backend tells the one watcher (watch/watcher.ts): given its cursor, the watched
// addresses and the payments already counted, which payments it sees, which counted ones left the
// chain or moved, and the next cursor. Backends only read the chain; the watcher alone writes
// (records, screens, applies the state machine), the same way for every family.

import type { AssetId, NetworkId } from '../chains/networks';
import type { Tx } from '../db/client';
import type { Decimal } from '../lib/money';

/** An issued payment option: an address the gateway gave out, for one invoice and asset. */
export interface WatchedOption {
  readonly invoiceId: string;
  readonly merchantId: string;
  readonly option: string;
  readonly asset: AssetId;
  readonly address: string;
  readonly decimals: number;
  readonly kztPerUnit: Decimal;
  /** The option's family details (UTXO `scriptPubKey`; EVM `invoiceKey`, `payout`). */
  readonly details?: Readonly<Record<string, string>>;
}

/**
 * How a backend names what it saw: the address as issued (Esplora's polled addresses), an EVM address
 * in lower case (as nodes print it), a UTXO output script (lower-case hex), or an EVM invoice key.
 */
export type WatchKey = 'address' | 'evmAddress' | 'scriptPubKey' | 'invoiceKey';

/** Options by the key they were found under. */
export type WatchedIndex = ReadonlyMap<string, readonly WatchedOption[]>;

/**
 * The watched addresses of one network: every address the gateway ever issued (SPEC section 7), so
 * possibly millions. They are not held in memory: a backend looks up what a block, a range of logs
 * or a poll round shows, one indexed query per batch (`find`). Outgoing transactions fit the same
 * look-up: a backend that sees a transaction's inputs asks about the addresses (or scripts) they
 * spend, and reports a match as `direction: 'out'`.
 */
export interface WatchedLookup {
  /** The issued options among `values` (deduplicated, any number), keyed as `key` names them. */
  find(key: WatchKey, values: Iterable<string>): Promise<WatchedIndex>;
  /** The options of one invoice (a checkout page's check). */
  ofInvoice(invoiceId: string): Promise<readonly WatchedOption[]>;
  /**
   * Options issued since the previous tick (overlapping it a little): what a look-up made then
   * could not find. A backend that keeps matches from earlier look-ups (a node's mempool, a poll
   * schedule's rows) adds these instead of looking everything up again.
   */
  readonly issued: readonly WatchedOption[];
  /**
   * Set on a process's first tick and now and then after (`watchedReloadMs`): `issued` may have
   * missed an invoice committed out of order, so what a backend keeps from earlier rounds (the poll
   * schedule's rows) is reconciled with every issued address again, in SQL.
   */
  readonly reconcile: boolean;
  /** Whether anything was ever issued on this network. */
  any(): Promise<boolean>;
  /** Every watched EVM address (lower case) when there are at most `max` (a node's log filter can name them). */
  evmAddressesUpTo(max: number): Promise<readonly string[] | undefined>;
  /**
   * Every issued option. Only for a backend that must name every address to a node each tick (Esplora
   * without a poll schedule: a node of one's own or the sandbox); it does not scale, by design.
   */
  all(): Promise<readonly WatchedOption[]>;
}

/**
 * `in`: money paid to a watched address. `out`: money leaving one (a refund from the merchant's
 * wallet, SPEC section 10) — the shape carries it; nothing produces it yet.
 */
export type Direction = 'in' | 'out';

/** A payment as a backend sees it now. */
export interface SeenPayment {
  readonly direction: Direction;
  readonly option: WatchedOption;
  readonly txid: string;
  /** Output index (UTXO), log index (EVM token or router), or -1 (EVM native transfer). */
  readonly index: number;
  readonly from: readonly string[];
  readonly asset: AssetId;
  readonly amountAtomic: bigint;
  /** 0 in the mempool. */
  readonly confirmations: number;
  readonly blockHash: string | null;
  readonly blockHeight: number | null;
  /** When its block was made, when the backend knows it (a catching-up watcher must not make it late). */
  readonly blockTimeMs?: number;
  readonly rbf: boolean;
  /** Family data the backend wants written with it (UTXO: spent outpoints; EVM: the path). */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** A payment already counted (seen or confirmed, not yet final) that the backend judges again. */
export interface KnownPayment {
  readonly id: string;
  readonly invoiceId: string;
  readonly txid: string;
  readonly index: number;
  readonly address: string | null;
  readonly blockHash: string | null;
  readonly blockHeight: number | null;
  readonly confirmations: number;
  /** UTXO: the outpoints its transaction spent (`txid:vout`); empty when unknown or on EVM. */
  readonly inputs: readonly string[];
}

export interface GonePayment {
  readonly payment: KnownPayment;
  readonly reason: 'reorged' | 'replaced';
  readonly replacedBy?: string;
}

export interface MovedPayment {
  readonly payment: KnownPayment;
  readonly confirmations: number;
  readonly blockHash: string | null;
  readonly blockHeight: number | null;
}

export interface ObserveInput {
  /** The backend's cursor from the last tick (JSON), undefined on the first. */
  readonly cursor: unknown;
  readonly watched: WatchedLookup;
  readonly known: readonly KnownPayment[];
  /**
   * With no cursor: when the oldest invoice that still takes money was created. A scanning backend
   * starts below it, never at the tip, so nothing paid while no watcher ran is lost.
   */
  readonly since?: Date | undefined;
  /** A checkout page's check of one invoice (backends that poll by address ask only about it). */
  readonly invoiceId?: string | undefined;
  /** The chain's height read by `readTip` at the start of the tick. */
  readonly tip?: number | undefined;
  readonly now: Date;
}

export interface ObserveResult {
  /** Saved for the next tick; undefined keeps the stored one (backends without a cursor). */
  readonly cursor: unknown;
  readonly payments: readonly SeenPayment[];
  readonly gone: readonly GonePayment[];
  /** Counted payments whose confirmations or block changed. */
  readonly moved: readonly MovedPayment[];
  /** Set when the backend could not give a consistent answer; nothing is written this tick. */
  readonly skipped?: string;
  /** Family figures merged into the tick's result (tip, scanned range, stats…). */
  readonly report?: Readonly<Record<string, unknown>>;
}

export interface ChainBackend {
  readonly network: NetworkId;
  /** The chain-cursor row name (one per network and backend kind). */
  readonly cursorName: string;
  /** The lease that keeps two processes from scanning one network at once. */
  readonly leaseName: string;
  /**
   * Whether one observation covers every invoice (block scanning): a checkout page's check then runs
   * a whole tick. False for backends that ask by address (they answer about one invoice).
   */
  readonly scansAll: boolean;
  /** For backends that ask by address: a page's check of one invoice runs at most once per this. */
  readonly checkGapMs?: number;
  /** The chain's height, read once at the start of a tick (before the counted payments are loaded). */
  readTip?(): Promise<number>;
  observe(input: ObserveInput): Promise<ObserveResult>;
  /** Writes, in the payment's transaction, what the family keeps beside a new payment. */
  onRecorded?(tx: Tx, p: SeenPayment, now: Date): Promise<void>;
}

export const paymentKey = (txid: string, index: number): string => `${txid}:${index}`;
