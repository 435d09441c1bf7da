// UTXO option creation: a fresh watch-only address per invoice from the merchant's account key.

import type { Sql } from '../../db/client';
import { ConflictError } from '../../lib/errors';
import { formatUnits } from '../../lib/money';
import type { Merchant } from '../../merchants/repository';
import { NETWORKS, type NetworkId, type PaymentOptionId } from '../networks';
import type { ChainAdapter, CreatedOption, OptionRequest, ReservedAddress } from '../types';
import { utxoVar } from './backends/env';
import { type DeriveMany, deriveInline } from './derive';
import { bip21Uri } from './uri';

export interface IndexRequest {
  readonly merchantId: string;
  readonly networks: readonly NetworkId[];
}

/**
 * Reserves the next derivation index of each network for each request, all in one short statement
 * outside the invoice's own write: like a sequence, an index is never handed out twice, and
 * concurrent invoices of one merchant do not queue behind each other's whole transaction. Requests
 * for the same merchant and network get consecutive indexes in their order. A rolled-back invoice
 * leaves a gap, which wallets tolerate within their gap limit (README: "Address gaps").
 *
 * Rows are locked in key order, so two such statements never deadlock. The statement commits
 * asynchronously: the row locks are then held for microseconds instead of a WAL flush, which is what
 * concurrent clients queue on. It is still durable where it matters: the invoice that uses the index
 * commits synchronously afterwards, and that flush covers every earlier commit record, so no stored
 * invoice can ever have its index handed out again.
 */
export async function reserveIndexBatch(
  sql: Sql,
  requests: readonly IndexRequest[],
): Promise<(Map<NetworkId, number> | ConflictError)[]> {
  const wanted = new Map<string, { merchant_id: string; network: NetworkId; n: number }>();
  for (const r of requests) {
    for (const network of r.networks) {
      const k = `${r.merchantId} ${network}`;
      const w = wanted.get(k) ?? { merchant_id: r.merchantId, network, n: 0 };
      w.n++;
      wanted.set(k, w);
    }
  }
  const next = new Map<string, number>();
  if (wanted.size > 0) {
    const rows = await sql<{ merchant_id: string; network: NetworkId; first: number }[]>`
      with wanted as (
        select * from jsonb_to_recordset(${sql.json([...wanted.values()])}::jsonb)
          as w(merchant_id text, network text, n int)),
      locked as (
        select d.merchant_id, d.network from derivation_indexes d
          join wanted w on w.merchant_id = d.merchant_id and w.network = d.network
        order by d.merchant_id, d.network for update of d)
      update derivation_indexes d set next_index = d.next_index + w.n
      from locked l join wanted w on w.merchant_id = l.merchant_id and w.network = l.network
      where d.merchant_id = l.merchant_id and d.network = l.network
        -- Local to this statement's own transaction, read at its commit (before the reset at its end).
        and set_config('synchronous_commit', 'off', true) is not null
      returning d.merchant_id, d.network, d.next_index - w.n as first`;
    for (const r of rows) next.set(`${r.merchant_id} ${r.network}`, r.first);
  }
  // Handed out in request order; a network without a key fails its request alone.
  return requests.map((r) => {
    const missing = r.networks.filter((n) => !next.has(`${r.merchantId} ${n}`));
    if (missing.length)
      return new ConflictError('option_unavailable', `no account key is set for ${missing.join(', ')}`, 422);
    return new Map(
      r.networks.map((n) => {
        const k = `${r.merchantId} ${n}`;
        const idx = next.get(k)!;
        next.set(k, idx + 1);
        return [n, idx];
      }),
    );
  });
}

export interface AddressRequest {
  readonly merchantId: string;
  readonly keys: readonly { readonly network: NetworkId; readonly keyText: string }[];
}

/**
 * reserveIndexBatch, then the addresses at those indexes, all derived in one pass (one shared field
 * inversion, see deriveAddresses), on the derivation thread where there is one (derive-pool.ts).
 */
export async function reserveAddressBatch(
  sql: Sql,
  requests: readonly AddressRequest[],
  derive: DeriveMany = deriveInline,
): Promise<(Map<NetworkId, ReservedAddress> | ConflictError)[]> {
  const indexes = await reserveIndexBatch(
    sql,
    requests.map((r) => ({ merchantId: r.merchantId, networks: r.keys.map((k) => k.network) })),
  );
  const jobs = indexes.flatMap((got, i) =>
    got instanceof Error
      ? []
      : requests[i]!.keys.map((k) => ({
          network: k.network,
          keyText: k.keyText,
          index: got.get(k.network)!,
        })),
  );
  const derived = await derive(jobs);
  let next = 0;
  return indexes.map((got, i) =>
    got instanceof Error
      ? got
      : new Map(
          requests[i]!.keys.map((k) => [k.network, { index: got.get(k.network)!, ...derived[next++]! }]),
        ),
  );
}

export interface UtxoAdapterOptions {
  /** The networks a watcher follows; when given, no other network is offered. */
  readonly watched?: ReadonlySet<string>;
}

export function createUtxoAdapter(options: UtxoAdapterOptions = {}): ChainAdapter {
  return {
    family: 'utxo',
    unavailableReason(merchant: Merchant, option: PaymentOptionId) {
      if (options.watched && !options.watched.has(option.network)) {
        return `nothing watches ${option.network} on this gateway (no node: set ${utxoVar(option.network, 'RPC_URL')} or ${utxoVar(option.network, 'ESPLORA_URL')})`;
      }
      return merchant.keys.some((k) => k.network === option.network)
        ? undefined
        : `the merchant has no account key (xpub) for ${option.network}`;
    },
    async createPaymentOption(req: OptionRequest): Promise<CreatedOption> {
      if (!req.reserved) {
        throw new ConflictError(
          'option_unavailable',
          `no address was reserved for ${req.option.network}`,
          422,
        );
      }
      const { address, scriptPubKeyHex } = req.reserved;
      const uri = bip21Uri({
        scheme: NETWORKS[req.option.network].uriScheme as 'bitcoin' | 'litecoin',
        address,
        amount: formatUnits(req.amountAtomic, req.decimals),
        ...(req.label ? { label: req.label } : {}),
        ...(req.message ? { message: req.message } : {}),
      });
      return {
        address,
        uri,
        derivationIndex: req.reserved.index,
        details: { scriptPubKey: scriptPubKeyHex },
      };
    },
  };
}
