// An EVM JSON-RPC node in the one watcher's shape. One observation:
//   1. checks that the blocks it scanned last are still the chain (block hashes kept in the cursor)
//      and, after a reorg, steps back to the last common block;
//   2. fetches the next range of blocks and the logs of the token contracts and the router (with
//      many watched addresses, every Transfer log of the tokens, matched here: one filter, however
//      many addresses), and looks up the addresses and invoice keys they name among every address
//      ever issued (one indexed query each per range: nothing holds them all in memory);
//   3. re-judges counted payments: one whose block left the chain is kept if its transaction was mined
//      again, else it is gone.
// A fresh watcher (no cursor) starts below the oldest invoice that still takes money.
import { getAddress } from 'ethers';
import type { Tx } from '../../db/client';
import type { Logger } from '../../lib/log';
import type {
  ChainBackend,
  GonePayment,
  WatchedOption as IssuedOption,
  KnownPayment,
  MovedPayment,
  ObserveInput,
  ObserveResult,
  SeenPayment,
  WatchedIndex,
  WatchedLookup,
} from '../../watch/observe';
import { firstBlockAtOrAfter } from '../../watch/start';
import { type AssetId, NETWORKS } from '../networks';
import type { EvmNetworkConfig } from './config';
import {
  blockNumber,
  type EvmRpc,
  getBlockHeader,
  getBlockWithTxs,
  getLogs,
  getReceipt,
  mapLimit,
  type RpcBlock,
  type RpcLog,
  type RpcTransaction,
} from './rpc';
import {
  addressTopic,
  INVOICE_PAID_TOPIC,
  matchNativeTransfers,
  matchRouterPayments,
  matchTokenTransfers,
  type Observation,
  TRANSFER_TOPIC,
  type WatchedOption,
  type WatchedSet,
} from './scan';

export interface EvmSourceOptions {
  readonly net: EvmNetworkConfig;
  readonly rpc: EvmRpc;
  readonly logger?: Logger | undefined;
  /** Blocks scanned per tick at most (catching up takes several ticks); default 100. */
  readonly maxBlocksPerTick?: number | undefined;
  /** Without a cursor, the first scan starts at least this far below the tip. */
  readonly initialLookback?: number | undefined;
  /** Block hashes kept for reorg detection; default 128 (at least finality + 1). */
  readonly hashWindow?: number | undefined;
  readonly finalityDepth?: number | undefined;
  /** RPC calls in flight at once while fetching a range; default 8. */
  readonly concurrency?: number | undefined;
  /** Up to this many watched addresses go into the logs filter; above it, Transfer logs are matched here. */
  readonly topicFilterMax?: number | undefined;
}

interface Cursor {
  /** The next block to scan. */
  readonly next: number;
  /** [height, hash] of the last scanned blocks, ascending. */
  readonly recent: readonly (readonly [number, string])[];
}

/** Block timestamps only ascend on EVM chains; a little room for a node's clock. */
const START_SLACK_MS = 15 * 60_000;

function parseCursor(v: unknown): Cursor | undefined {
  const c = v as Partial<Cursor> | null | undefined;
  if (!c || typeof c.next !== 'number' || !Array.isArray(c.recent)) return undefined;
  return { next: c.next, recent: c.recent.filter((e) => Array.isArray(e) && e.length === 2) };
}

export function createEvmSource(options: EvmSourceOptions): ChainBackend {
  const { net, rpc } = options;
  const network = net.network;
  const log = options.logger;
  const nativeAsset = NETWORKS[network].nativeAsset;
  const maxBlocks = options.maxBlocksPerTick ?? 100;
  const lookback = options.initialLookback ?? 128;
  const finality = options.finalityDepth ?? 24;
  const hashWindow = Math.max(options.hashWindow ?? 128, finality + 1);
  const concurrency = options.concurrency ?? 8;
  const topicFilterMax = options.topicFilterMax ?? 200;
  const tokenAssets = new Map<string, AssetId>(
    Object.entries(net.tokens).map(([asset, address]) => [address.toLowerCase(), asset as AssetId]),
  );

  // Past this many watched addresses the logs filter no longer names them; options are never deleted,
  // so once past it a network stays past it.
  let overFilterMax = false;
  async function filterAddresses(watched: WatchedLookup): Promise<readonly string[] | undefined> {
    if (overFilterMax) return undefined;
    const list = await watched.evmAddressesUpTo(topicFilterMax);
    if (!list) overFilterMax = true;
    return list;
  }

  /** The matchers' index for one range: only the options at the addresses and keys it names. */
  function indexOf(byAddress: WatchedIndex, byKey: WatchedIndex): WatchedSet {
    const toEvm = (o: IssuedOption): WatchedOption[] => {
      const key = o.details?.['invoiceKey'];
      return key ? [{ ...o, invoiceKey: key.toLowerCase() }] : [];
    };
    const convert = (m: WatchedIndex) =>
      new Map([...m].map(([k, list]) => [k.toLowerCase(), list.flatMap(toEvm)] as const));
    return { byAddress: convert(byAddress), byKey: convert(byKey) };
  }

  /** Fetches the range and its logs; undefined when the node's answers do not form one chain. */
  async function fetchRange(
    watched: WatchedLookup,
    from: number,
    to: number,
    parentHash: string | undefined,
  ) {
    const heights = Array.from({ length: to - from + 1 }, (_, i) => from + i);
    const needTxs = await watched.any();
    const blocks = await mapLimit(
      heights,
      concurrency,
      (n): Promise<RpcBlock<RpcTransaction | string> | null> =>
        needTxs ? getBlockWithTxs(rpc, n) : getBlockHeader(rpc, n),
    );
    let prev = parentHash;
    for (const b of blocks) {
      if (!b || (prev !== undefined && b.parentHash !== prev)) return undefined;
      prev = b.hash;
    }
    const ok = blocks as RpcBlock<RpcTransaction | string>[];
    const logs: RpcLog[] = [];
    const tokens = Object.values(net.tokens);
    if (tokens.length > 0 && needTxs) {
      const named = await filterAddresses(watched);
      logs.push(
        ...(await getLogs(rpc, {
          fromBlock: from,
          toBlock: to,
          address: tokens,
          topics: [TRANSFER_TOPIC, null, named ? named.map(addressTopic) : null],
        })),
      );
    }
    if (net.router && needTxs) {
      logs.push(
        ...(await getLogs(rpc, {
          fromBlock: from,
          toBlock: to,
          address: net.router,
          topics: [INVOICE_PAID_TOPIC],
        })),
      );
    }
    // Logs from another fork than the blocks (the node switched between calls): try again next tick.
    for (const l of logs) {
      const b = ok[Number(BigInt(l.blockNumber)) - from];
      if (!b || b.hash !== l.blockHash) return undefined;
    }
    return { blocks: ok, logs, needTxs };
  }

  /** The range's candidates (transaction recipients, Transfer recipients, invoice keys), looked up. */
  async function lookUp(
    watched: WatchedLookup,
    blocks: readonly RpcBlock<RpcTransaction | string>[],
    logs: readonly RpcLog[],
  ): Promise<WatchedSet> {
    const addresses = new Set<string>();
    const keys = new Set<string>();
    for (const b of blocks)
      for (const tx of b.transactions)
        if (typeof tx !== 'string' && tx.to && tx.value !== '0x0') addresses.add(tx.to.toLowerCase());
    for (const l of logs) {
      if (l.topics[0] === TRANSFER_TOPIC && l.topics.length === 3)
        addresses.add(`0x${l.topics[2]!.slice(-40)}`.toLowerCase());
      else if (l.topics[0] === INVOICE_PAID_TOPIC && l.topics[1]) keys.add(l.topics[1].toLowerCase());
    }
    const [byAddress, byKey] = await Promise.all([
      addresses.size ? watched.find('evmAddress', addresses) : new Map(),
      keys.size ? watched.find('invoiceKey', keys) : new Map(),
    ]);
    return indexOf(byAddress, byKey);
  }

  async function match(
    watched: WatchedSet,
    blocks: readonly RpcBlock<RpcTransaction | string>[],
    logs: readonly RpcLog[],
    needTxs: boolean,
  ): Promise<Observation[]> {
    const native: Observation[] = [];
    if (needTxs && watched.byAddress.size > 0) {
      for (const b of blocks)
        native.push(...matchNativeTransfers(b as RpcBlock<RpcTransaction>, watched, nativeAsset));
    }
    // A plain transfer to an address without code cannot fail, but one to a deployed forwarder with
    // calldata can: only successful transactions pay.
    const receipts = await mapLimit(native, concurrency, (o) => getReceipt(rpc, o.txid));
    const okNative = native.filter(
      (o, i) => receipts[i]?.status === '0x1' && receipts[i]?.blockHash === o.blockHash,
    );
    return [
      ...okNative,
      ...matchTokenTransfers(logs, watched, tokenAssets),
      ...(net.router ? matchRouterPayments(logs, net.router, watched, tokenAssets, nativeAsset) : []),
    ];
  }

  /** The fate of counted payments: gone, or their confirmations/block now. */
  async function judge(known: readonly KnownPayment[], tip: number, canonical: ReadonlyMap<number, string>) {
    const gone: GonePayment[] = [];
    const moved: MovedPayment[] = [];
    const headers = new Map<number, Promise<string | null>>();
    const hashAt = (h: number): Promise<string | null> => {
      const known = canonical.get(h);
      if (known !== undefined) return Promise.resolve(known);
      if (h > tip) return Promise.resolve(null);
      let p = headers.get(h);
      if (!p) {
        p = getBlockHeader(rpc, h).then((b) => b?.hash ?? null);
        headers.set(h, p);
      }
      return p;
    };
    for (const r of known) {
      if (r.blockHeight === null) continue;
      const hash = await hashAt(r.blockHeight);
      let block: { hash: string; height: number } | undefined;
      if (hash !== null && hash === r.blockHash) {
        block = { hash, height: r.blockHeight };
      } else {
        // Its block left the chain. Kept if the same transaction (and, for logs, the same log) was
        // mined again; otherwise it is gone, and a re-mined log at a new index is a new sighting.
        const receipt = await getReceipt(rpc, r.txid);
        const same =
          receipt?.status === '0x1' &&
          (r.index === -1 ||
            receipt.logs.some(
              (l) =>
                Number(BigInt(l.logIndex)) === r.index &&
                (l.topics[0] === TRANSFER_TOPIC || l.topics[0] === INVOICE_PAID_TOPIC),
            ));
        if (receipt && same && Number(BigInt(receipt.blockNumber)) <= tip) {
          block = { hash: receipt.blockHash, height: Number(BigInt(receipt.blockNumber)) };
        }
      }
      if (!block) {
        gone.push({ payment: r, reason: 'reorged' });
        continue;
      }
      const conf = tip - block.height + 1;
      if (conf !== r.confirmations || block.hash !== r.blockHash)
        moved.push({ payment: r, confirmations: conf, blockHash: block.hash, blockHeight: block.height });
    }
    return { gone, moved };
  }

  /** Where a watcher with no cursor starts. */
  async function startBlock(tip: number, since: Date | undefined): Promise<number> {
    if (net.startBlock !== null) return net.startBlock;
    const below = Math.max(0, tip - lookback + 1);
    if (!since) return below;
    const timeOf = async (h: number) =>
      Number(BigInt((await getBlockHeader(rpc, h))?.timestamp ?? '0x0')) * 1000;
    const first = await firstBlockAtOrAfter(since.getTime() - START_SLACK_MS, tip, timeOf);
    return Math.max(0, Math.min(below, first - 1));
  }

  async function observe(input: ObserveInput): Promise<ObserveResult> {
    const tip = input.tip ?? (await blockNumber(rpc));
    const cursor = parseCursor(input.cursor);

    // 1. Is the chain we scanned still the chain? Walk back to the newest block we know that is.
    let recent = [...(cursor?.recent ?? [])];
    let from = cursor ? cursor.next : await startBlock(tip, input.since);
    let reorgDepth = 0;
    const top = recent.at(-1);
    if (top) {
      const hashOf = async (h: number) => (h > tip ? null : ((await getBlockHeader(rpc, h))?.hash ?? null));
      if ((await hashOf(top[0])) !== top[1]) {
        let ancestor: number | undefined;
        for (let i = recent.length - 2; i >= 0; i--) {
          if ((await hashOf(recent[i]![0])) === recent[i]![1]) {
            ancestor = recent[i]![0];
            break;
          }
        }
        if (ancestor === undefined) {
          // Deeper than the window (or a restarted chain): scan the window again from its start.
          from = Math.min(recent[0]![0], Math.max(0, tip - lookback + 1));
          recent = [];
          reorgDepth = top[0] - from + 1;
        } else {
          recent = recent.filter(([h]) => h <= ancestor);
          from = ancestor + 1;
          reorgDepth = top[0] - ancestor;
        }
        log?.warn('evm reorg', { network, depth: reorgDepth, resumeAt: from });
      }
    }
    const depth = reorgDepth ? { reorgDepth } : {};

    // 2. The next range, checked to hang together.
    const to = Math.min(tip, from + maxBlocks - 1);
    const last = recent.at(-1);
    const parent = last && last[0] === from - 1 ? last[1] : undefined;
    const fetched =
      from <= to
        ? await fetchRange(input.watched, from, to, parent)
        : { blocks: [], logs: [], needTxs: false };
    if (!fetched) {
      return {
        cursor: undefined,
        payments: [],
        gone: [],
        moved: [],
        skipped: 'inconsistent',
        report: { tip, ...depth },
      };
    }
    const watched = await lookUp(input.watched, fetched.blocks, fetched.logs);
    const seen = await match(watched, fetched.blocks, fetched.logs, fetched.needTxs);
    const blockTimes = new Map(
      fetched.blocks.map((b) => [Number(BigInt(b.number)), Number(BigInt(b.timestamp)) * 1000]),
    );
    for (const b of fetched.blocks) recent.push([Number(BigInt(b.number)), b.hash]);
    recent = recent.slice(-hashWindow);

    // 3. Counted payments (the watcher retires the gone ones before it records the new).
    const { gone, moved } = await judge(input.known, tip, new Map(recent));
    const payments = seen.map(
      (o): SeenPayment => ({
        direction: 'in',
        option: o.option,
        txid: o.txid,
        index: o.index,
        from: [o.from],
        asset: o.asset,
        amountAtomic: o.amountAtomic,
        confirmations: tip - o.blockNumber + 1,
        blockHash: o.blockHash,
        blockHeight: o.blockNumber,
        ...(blockTimes.has(o.blockNumber) ? { blockTimeMs: blockTimes.get(o.blockNumber)! } : {}),
        rbf: false,
        extra: { path: o.path },
      }),
    );
    return {
      cursor: { next: from <= to ? to + 1 : from, recent },
      payments,
      gone,
      moved,
      report: { tip, scanned: from <= to ? { from, to } : null, ...depth },
    };
  }

  return {
    network,
    cursorName: `evm:${network}`,
    leaseName: `evm:${network}`,
    scansAll: true,
    readTip: () => blockNumber(rpc),
    observe,
    /** A deposit payment schedules its sweep to the merchant's payout address. */
    async onRecorded(tx: Tx, p: SeenPayment, now: Date) {
      const payout = p.option.details?.['payout'];
      const key = p.option.details?.['invoiceKey'];
      if (p.extra?.['path'] !== 'deposit' || !payout || !key) return;
      await tx`insert into evm_sweeps (network, address, invoice_id, invoice_key, payout, due_at, updated_at)
        values (${network}, ${getAddress(p.option.address)}, ${p.option.invoiceId}, ${key.toLowerCase()}, ${payout}, ${now}, ${now})
        on conflict (network, address) do update set due_at = excluded.due_at, updated_at = excluded.updated_at`;
    },
  };
}
