// UTXO option creation: a fresh watch-only address per invoice from the merchant's account key.
import type { Sql } from '../../db/client';
import { ConflictError } from '../../lib/errors';
import { formatUnits } from '../../lib/money';
import type { Merchant } from '../../merchants/repository';
import { NETWORKS, type NetworkId, type PaymentOptionId } from '../networks';
import type { ChainAdapter, CreatedOption, OptionRequest } from '../types';
import { deriveAddress } from './derive';
import { bip21Uri } from './uri';

/**
 * Reserves the next derivation index of each network in one short statement, outside the invoice
 * transaction: like a sequence, an index is never handed out twice, and concurrent invoices of one
 * merchant do not queue behind each other's whole transaction. A rolled-back invoice leaves a gap,
 * which wallets tolerate within their gap limit (README: "Address gaps").
 *
 * The statement commits asynchronously: the row lock is then held for microseconds instead of a
 * WAL flush, which is what 32 concurrent clients queue on. It is still durable where it matters:
 * the invoice that uses the index commits synchronously afterwards, and that flush covers every
 * earlier commit record, so no stored invoice can ever have its index handed out again.
 */
export async function reserveIndexes(
  sql: Sql,
  merchantId: string,
  networks: readonly NetworkId[],
): Promise<Map<NetworkId, number>> {
  if (networks.length === 0) return new Map();
  const rows = await sql<
    { network: NetworkId; idx: number }[]
  >`update derivation_indexes set next_index = next_index + 1
    where merchant_id = ${merchantId} and network in ${sql(networks as NetworkId[])}
      -- Local to this statement's own transaction, read at its commit (before the reset at its end).
      and set_config('synchronous_commit', 'off', true) is not null
    returning network, next_index - 1 as idx`;
  const out = new Map(rows.map((r) => [r.network, r.idx]));
  const missing = networks.filter((n) => !out.has(n));
  if (missing.length)
    throw new ConflictError('option_unavailable', `no account key is set for ${missing.join(', ')}`, 422);
  return out;
}

export function createUtxoAdapter(): ChainAdapter {
  return {
    family: 'utxo',
    unavailableReason(merchant: Merchant, option: PaymentOptionId) {
      return merchant.keys.some((k) => k.network === option.network)
        ? undefined
        : `the merchant has no account key (xpub) for ${option.network}`;
    },
    async createPaymentOption(req: OptionRequest): Promise<CreatedOption> {
      const key = req.merchant.keys.find((k) => k.network === req.option.network);
      if (!key || req.reservedIndex === undefined) {
        throw new ConflictError('option_unavailable', `no account key is set for ${req.option.network}`, 422);
      }
      const { address, scriptPubKeyHex } = deriveAddress(req.option.network, key.keyText, req.reservedIndex);
      const uri = bip21Uri({
        scheme: NETWORKS[req.option.network].uriScheme as 'bitcoin' | 'litecoin',
        address,
        amount: formatUnits(req.amountAtomic, req.decimals),
        ...(req.label ? { label: req.label } : {}),
        ...(req.message ? { message: req.message } : {}),
      });
      return { address, uri, derivationIndex: req.reservedIndex, details: { scriptPubKey: scriptPubKeyHex } };
    },
  };
}
