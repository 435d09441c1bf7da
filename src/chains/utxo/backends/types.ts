// What a UTXO backend tells the watcher. Two very different backends sit behind one interface:
// the Core JSON-RPC one scans blocks and the mempool from a cursor; the Esplora one polls the
// addresses of open invoices. Both answer the same question each tick — which outputs pay the
// watched scripts, and what became of the payments already counted — so the watcher (and the state
// machine behind it) cannot tell them apart, and on one chain they must report the same payments.
import type { UtxoNetworkId } from '../params';

/** A transaction as the backends decode it (enough to match outputs and spot conflicts). */
export interface ChainTx {
  readonly txid: string;
  readonly inputs: readonly ChainInput[];
  readonly outputs: readonly ChainOutput[];
}

export interface ChainInput {
  /** The spent output; null for a coinbase input. */
  readonly prevTxid: string | null;
  readonly prevVout: number;
  readonly sequence: number;
  /** The spent output's script, when the backend includes it (Esplora, Core getblock verbosity 3). */
  readonly prevScriptHex?: string;
}

export interface ChainOutput {
  readonly n: number;
  /** Lower-case hex; empty for outputs without a script (Litecoin MWEB). */
  readonly scriptHex: string;
  readonly valueAtomic: bigint;
}

/** An output paying a watched script, as seen now. */
export interface ObservedOutput {
  readonly txid: string;
  readonly vout: number;
  readonly scriptHex: string;
  readonly valueAtomic: bigint;
  /** 0 in the mempool. */
  readonly confirmations: number;
  readonly blockHash: string | null;
  readonly blockHeight: number | null;
  /** BIP125: the transaction (or an unconfirmed ancestor) signals replaceability. */
  readonly rbf: boolean;
  /** Outpoints it spends (`txid:vout`): what a replacement or double spend would spend again. */
  readonly inputs: readonly string[];
  /** Senders (input addresses), for screening; may be empty when the backend cannot resolve them. */
  readonly fromAddresses: readonly string[];
}

/** A payment already counted (seen or confirmed) that the backend must judge again. */
export interface KnownPayment {
  readonly txid: string;
  readonly blockHash: string | null;
  readonly blockHeight: number | null;
  readonly confirmations: number;
  /** Its transaction's inputs as recorded (`txid:vout`), empty if unknown. */
  readonly inputs: readonly string[];
}

export type Verdict =
  | {
      readonly kind: 'confirmed';
      readonly blockHash: string;
      readonly blockHeight: number;
      readonly confirmations: number;
    }
  | { readonly kind: 'mempool' }
  /** Neither in the main chain nor in the mempool. `replaced`: another transaction spent its inputs. */
  | { readonly kind: 'gone'; readonly reason: 'reorged' | 'replaced'; readonly replacedBy?: string }
  /** Not decidable now (the backend has not caught up, or an answer failed): try again next tick. */
  | { readonly kind: 'unknown' };

export interface WatchedScripts {
  /**
   * Scripts (lower-case hex) to match outputs against. With `lookup`: only those issued since the
   * previous observation (what an earlier look-up could not know).
   */
  readonly scripts: ReadonlySet<string>;
  /** The addresses to ask about (address → script), for backends that work by address. */
  readonly addresses: ReadonlyMap<string, string>;
  /**
   * Block scanning over every address ever issued (millions, not held in memory): of these scripts,
   * the watched ones; one indexed query per block or batch.
   */
  readonly lookup?: (scripts: readonly string[]) => Promise<ReadonlySet<string>>;
}

export interface ObserveInput {
  /** The backend's own cursor from the previous tick (JSON), undefined on the first. */
  readonly cursor: unknown;
  readonly watched: WatchedScripts;
  /** Counted payments to judge, by txid. */
  readonly known: ReadonlyMap<string, KnownPayment>;
  /**
   * Without a cursor: when the oldest invoice that still takes money was created. A scanning backend
   * starts at the last block made before it, never only at the tip.
   */
  readonly since?: Date;
}

export interface Observation {
  readonly cursor: unknown;
  readonly tipHeight: number;
  readonly outputs: readonly ObservedOutput[];
  /** One per known txid. */
  readonly verdicts: ReadonlyMap<string, Verdict>;
  /** False while the backend is still catching up with the chain (more blocks to scan). */
  readonly caughtUp: boolean;
  /** For logs and benches. */
  readonly stats: Readonly<Record<string, number>>;
}

export interface UtxoBackend {
  readonly kind: 'rpc' | 'esplora';
  readonly network: UtxoNetworkId;
  observe(input: ObserveInput): Promise<Observation>;
  /** Broadcasts a raw transaction; returns its txid (sandbox and tests). */
  broadcast(hex: string): Promise<string>;
}

export const outpoint = (txid: string, vout: number): string => `${txid}:${vout}`;

/** BIP125 explicit signalling: any input with nSequence below 0xfffffffe. */
export function signalsRbf(tx: Pick<ChainTx, 'inputs'>): boolean {
  return tx.inputs.some((i) => i.sequence < 0xfffffffe);
}
