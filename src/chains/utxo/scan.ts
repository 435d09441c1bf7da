// Matching transactions against the watched scripts: a hash-set lookup per output, so one block of
// thousands of transactions against 100,000 open invoices costs a few milliseconds. The same pass
// notes every input that spends an output a counted payment spent: that is how a replacement or a
// double spend is recognised, whichever backend delivered the transaction.
import type { Decimal } from '../../lib/money';
import { atomicToTiyn } from '../../lib/money';
import type { ChainTx } from './backends/types';
import { outpoint } from './backends/types';

export interface TxMatch {
  readonly tx: ChainTx;
  /** Indexes into tx.outputs of the outputs paying a watched script. */
  readonly outputs: readonly number[];
}

export interface ScanResult {
  readonly matches: TxMatch[];
  /** Watched outpoint → the transaction spending it (only spenders other than the recorded payer). */
  readonly spends: Map<string, string>;
}

/**
 * One pass over `txs`: outputs paying `scripts`, and inputs spending `outpoints`.
 * @param outpoints inputs of counted payments (`txid:vout`); a spender is reported unless it is the
 *   payment transaction itself (`payerOf` maps an outpoint to the txid that spent it when recorded).
 */
export function scanTransactions(
  txs: Iterable<ChainTx>,
  scripts: ReadonlySet<string>,
  payerOf: ReadonlyMap<string, string> = new Map(),
): ScanResult {
  const matches: TxMatch[] = [];
  const spends = new Map<string, string>();
  const checkSpends = payerOf.size > 0;
  for (const tx of txs) {
    let hits: number[] | undefined;
    const outs = tx.outputs;
    for (let i = 0; i < outs.length; i++) {
      if (!scripts.has(outs[i]!.scriptHex)) continue;
      if (hits) hits.push(i);
      else hits = [i];
    }
    if (hits) matches.push({ tx, outputs: hits });
    if (checkSpends) {
      for (const input of tx.inputs) {
        if (input.prevTxid === null) continue;
        const op = outpoint(input.prevTxid, input.prevVout);
        const payer = payerOf.get(op);
        if (payer !== undefined && payer !== tx.txid) spends.set(op, tx.txid);
      }
    }
  }
  return { matches, spends };
}

/** A payment's tenge value (tiyn, rounded down) at the option's quoted rate. */
export function paymentTiyn(amountAtomic: bigint, kztPerUnit: Decimal, decimals: number): bigint {
  return atomicToTiyn(amountAtomic, kztPerUnit, decimals);
}
