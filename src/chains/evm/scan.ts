// Matching one range of blocks against the watched invoices: pure functions over what the node
// returned, so they are cheap (a hash-map lookup per transaction or log) and tested on their own.
//   - native coin: transactions whose `to` is a deposit address (value > 0, receipt status 1);
//   - tokens: ERC-20 Transfer logs of the configured token contracts whose `to` is a deposit address;
//   - router: InvoicePaid events of our PaymentRouter, matched by the invoice key.
// Limit: native coin that reaches a deposit address through an internal call (a contract wallet, a
// batched withdrawal) has no transaction `to` and no log, so it is not credited automatically; it is
// still swept to the merchant. Checkout asks for a direct transfer, or the router.
import { getAddress, id, ZeroAddress } from 'ethers';
import type { Decimal } from '../../lib/money';
import type { AssetId } from '../networks';
import { routerInterface } from './intents';
import type { RpcBlock, RpcLog, RpcTransaction } from './rpc';

export const TRANSFER_TOPIC = id('Transfer(address,address,uint256)');
export const INVOICE_PAID_TOPIC = routerInterface.getEvent('InvoicePaid')!.topicHash;

export interface WatchedOption {
  readonly invoiceId: string;
  readonly merchantId: string;
  readonly option: string;
  readonly asset: AssetId;
  readonly decimals: number;
  readonly kztPerUnit: Decimal;
  /** The deposit address, checksummed. */
  readonly address: string;
  /** bytes32 invoice key (lowercase hex). */
  readonly invoiceKey: string;
}

export interface WatchedSet {
  /** Lowercase deposit address → the invoice's options there (one per asset). */
  readonly byAddress: ReadonlyMap<string, readonly WatchedOption[]>;
  /** Lowercase invoice key → the invoice's options on this network. */
  readonly byKey: ReadonlyMap<string, readonly WatchedOption[]>;
}

export type PaymentPath = 'deposit' | 'router';

export interface Observation {
  readonly path: PaymentPath;
  readonly txid: string;
  /** Log index, or -1 for a native transfer (the payments table's output_index). */
  readonly index: number;
  readonly blockNumber: number;
  readonly blockHash: string;
  readonly from: string;
  readonly asset: AssetId;
  /** The token contract; null for the native coin. */
  readonly token: string | null;
  readonly amountAtomic: bigint;
  readonly option: WatchedOption;
}

const topicAddress = (topic: string): string => getAddress(`0x${topic.slice(-40)}`);
const forAsset = (opts: readonly WatchedOption[] | undefined, asset: AssetId) =>
  opts?.find((o) => o.asset === asset);

/** Direct native transfers to deposit addresses. */
export function matchNativeTransfers(
  block: RpcBlock<RpcTransaction>,
  watched: WatchedSet,
  nativeAsset: AssetId,
): Observation[] {
  const out: Observation[] = [];
  for (const tx of block.transactions) {
    if (!tx.to) continue;
    const opts = watched.byAddress.get(tx.to.toLowerCase());
    if (!opts) continue;
    const value = BigInt(tx.value);
    const option = forAsset(opts, nativeAsset);
    if (value <= 0n || !option) continue;
    out.push({
      path: 'deposit',
      txid: tx.hash,
      index: -1,
      blockNumber: Number(BigInt(block.number)),
      blockHash: block.hash,
      from: getAddress(tx.from),
      asset: nativeAsset,
      token: null,
      amountAtomic: value,
      option,
    });
  }
  return out;
}

/** Transfer logs of the configured tokens (`tokens`: lowercase address → asset) to deposit addresses. */
export function matchTokenTransfers(
  logs: readonly RpcLog[],
  watched: WatchedSet,
  tokens: ReadonlyMap<string, AssetId>,
): Observation[] {
  const out: Observation[] = [];
  for (const log of logs) {
    // ERC-721 shares the signature but indexes the id (four topics): not a fungible payment.
    if (log.removed || log.topics.length !== 3 || log.topics[0] !== TRANSFER_TOPIC) continue;
    const asset = tokens.get(log.address.toLowerCase());
    if (!asset) continue;
    const to = topicAddress(log.topics[2]!).toLowerCase();
    const option = forAsset(watched.byAddress.get(to), asset);
    const value = log.data === '0x' ? 0n : BigInt(log.data.slice(0, 66));
    if (!option || value <= 0n) continue;
    out.push({
      path: 'deposit',
      txid: log.transactionHash,
      index: Number(BigInt(log.logIndex)),
      blockNumber: Number(BigInt(log.blockNumber)),
      blockHash: log.blockHash,
      from: topicAddress(log.topics[1]!),
      asset,
      token: getAddress(log.address),
      amountAtomic: value,
      option,
    });
  }
  return out;
}

/** InvoicePaid events of the router, by invoice key and the asset paid. */
export function matchRouterPayments(
  logs: readonly RpcLog[],
  router: string,
  watched: WatchedSet,
  tokens: ReadonlyMap<string, AssetId>,
  nativeAsset: AssetId,
): Observation[] {
  const out: Observation[] = [];
  const routerLc = router.toLowerCase();
  for (const log of logs) {
    if (log.removed || log.address.toLowerCase() !== routerLc || log.topics[0] !== INVOICE_PAID_TOPIC)
      continue;
    const opts = watched.byKey.get(log.topics[1]!.toLowerCase());
    if (!opts) continue;
    const token = topicAddress(log.topics[3]!);
    const asset = token === ZeroAddress ? nativeAsset : tokens.get(token.toLowerCase());
    const option = asset ? forAsset(opts, asset) : undefined;
    if (!asset || !option) continue;
    const parsed = routerInterface.decodeEventLog('InvoicePaid', log.data, log.topics as string[]);
    const amount = parsed.getValue('amount') as bigint;
    if (amount <= 0n) continue;
    out.push({
      path: 'router',
      txid: log.transactionHash,
      index: Number(BigInt(log.logIndex)),
      blockNumber: Number(BigInt(log.blockNumber)),
      blockHash: log.blockHash,
      from: topicAddress(log.topics[2]!),
      asset,
      token: token === ZeroAddress ? null : token,
      amountAtomic: amount,
      option,
    });
  }
  return out;
}

/** The `to` topic filter for a set of addresses (32-byte left-padded). */
export const addressTopic = (address: string): string =>
  `0x${address.slice(2).toLowerCase().padStart(64, '0')}`;
