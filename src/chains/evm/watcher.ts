// The EVM watcher of one network. One tick:
//   1. checks that the blocks it scanned last are still the chain (block hashes kept in the cursor)
//      and, after a reorg, steps back to the last common block;
//   2. fetches the next range of blocks and the logs of the token contracts and the router;
//   3. re-judges counted payments: one whose block left the chain is kept if its transaction was mined
//      again, else marked `reorged`;
//   4. records new payments through the state machine and screens them in the same transaction;
//   5. updates the confirmations of counted payments, and saves the cursor.
// The database is the only memory that matters: payments are keyed by (network, txid, log index or
// -1), so a restart, a re-scan or a second process running the same tick never counts one twice.
import { getAddress } from 'ethers';
import type { ScreeningService } from '../../aml/screen';
import type { Sql } from '../../db/client';
import { toBigInt } from '../../db/client';
import { confirmPayment, markPaymentGone, recordPayment, type StateDeps } from '../../invoices/state';
import { randomHex } from '../../lib/ids';
import type { Logger } from '../../lib/log';
import { atomicToTiyn, parseDecimal } from '../../lib/money';
import { releaseLease, tryAcquireLease } from '../../watch/leases';
import { type AssetId, NETWORKS, type NetworkId } from '../networks';
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

export interface EvmWatcherOptions {
  readonly sql: Sql;
  readonly state: StateDeps;
  readonly net: EvmNetworkConfig;
  readonly rpc: EvmRpc;
  readonly screening?: Pick<ScreeningService, 'screenPayment'> | undefined;
  readonly logger?: Logger;
  /** Identifies this process in `leases`; random by default. */
  readonly holder?: string;
  /** How long a tick's lease lasts (renewed every tick); default 30 s. */
  readonly leaseMs?: number;
  /** False runs without the lease (tests of concurrent watchers). */
  readonly useLease?: boolean;
  /**
   * Every tick gives its lease back when it ends: for a process that lives for one tick (a Workers
   * cron run), whose lease would otherwise keep checkout pages' checks out for `leaseMs`.
   */
  readonly releaseLeaseAfterTick?: boolean;
  /** Counted payments are re-checked (confirmations, reorgs) until this deep; default 24. */
  readonly finalityDepth?: number;
  /** Blocks scanned per tick at most (catching up takes several ticks); default 100. */
  readonly maxBlocksPerTick?: number;
  /** Without a cursor and a configured start block, the first scan starts this far below the tip. */
  readonly initialLookback?: number;
  /** Block hashes kept for reorg detection; default 128. */
  readonly hashWindow?: number;
  /** The whole watched set is reloaded this often (new invoices are added every tick); default 30 s. */
  readonly watchedReloadMs?: number;
  /** RPC calls in flight at once while fetching a range; default 8. */
  readonly concurrency?: number;
  /** Up to this many watched addresses go into the logs filter; above it, Transfer logs are matched here. */
  readonly topicFilterMax?: number;
  /** Tests: runs after the payments are written and before the cursor is (a crash point). */
  readonly beforeCursorSave?: () => Promise<void>;
  /**
   * An open checkout page's check runs a tick only when no scan of this network finished within this
   * long (whoever ran it), and each invoice asks this process at most once per gap; default 2 s.
   */
  readonly checkGapMs?: number;
}

export interface EvmTickResult {
  readonly network: NetworkId;
  /** `busy`: another process holds this network's lease. `inconsistent`: the chain moved mid-tick. */
  readonly skipped?: 'busy' | 'inconsistent';
  readonly tip?: number;
  readonly scanned?: { readonly from: number; readonly to: number } | null;
  readonly watched?: number;
  /** Payments written for the first time (or back after leaving the chain). */
  readonly recorded: number;
  /** Confirmation or block changes of counted payments. */
  readonly updated: number;
  /** Payments marked reorged. */
  readonly gone: number;
  /** Blocks stepped back after a reorg. */
  readonly reorgDepth?: number;
}

export interface EvmWatcher {
  readonly network: NetworkId;
  tick(now?: Date): Promise<EvmTickResult>;
  /**
   * An open checkout page asks about its invoice (on Workers nothing else scans between cron runs).
   * One scan covers every invoice, so this runs a tick unless one finished within `checkGapMs`;
   * undefined when nothing was due.
   */
  checkInvoice(invoiceId: string, now?: Date): Promise<EvmTickResult | undefined>;
}

interface Cursor {
  /** The next block to scan. */
  readonly next: number;
  /** [height, hash] of the last scanned blocks, ascending. */
  readonly recent: readonly (readonly [number, string])[];
}

interface CountedRow {
  readonly id: string;
  readonly txid: string;
  readonly output_index: number;
  readonly block_hash: string | null;
  readonly block_height: unknown;
  readonly confirmations: number;
}

const CREATED_OVERLAP_MS = 120_000;

function parseCursor(v: unknown): Cursor | undefined {
  const c = v as Partial<Cursor> | null | undefined;
  if (!c || typeof c.next !== 'number' || !Array.isArray(c.recent)) return undefined;
  return { next: c.next, recent: c.recent.filter((e) => Array.isArray(e) && e.length === 2) };
}

export function createEvmWatcher(options: EvmWatcherOptions): EvmWatcher {
  const { sql, net, rpc } = options;
  const network = net.network;
  const nativeAsset = NETWORKS[network].nativeAsset;
  const holder = options.holder ?? `evm-${randomHex(8)}`;
  const leaseMs = options.leaseMs ?? 30_000;
  const finality = options.finalityDepth ?? 24;
  const maxBlocks = options.maxBlocksPerTick ?? 100;
  const lookback = options.initialLookback ?? 128;
  const hashWindow = Math.max(options.hashWindow ?? 128, finality + 1);
  const reloadMs = options.watchedReloadMs ?? 30_000;
  const concurrency = options.concurrency ?? 8;
  const topicFilterMax = options.topicFilterMax ?? 200;
  const cursorName = `evm:${network}`;
  const leaseName = `evm:${network}`;
  const log = options.logger;
  const checkGapMs = options.checkGapMs ?? 2_000;
  const recentChecks = new Map<string, number>();
  let lastLoopTickMs = Number.NEGATIVE_INFINITY;
  const tokenAssets = new Map<string, AssetId>(
    Object.entries(net.tokens).map(([asset, address]) => [address.toLowerCase(), asset as AssetId]),
  );

  const byAddress = new Map<string, WatchedOption[]>();
  const byKey = new Map<string, WatchedOption[]>();
  const payoutOf = new Map<string, string>();
  const watched: WatchedSet = { byAddress, byKey };
  let fullLoadAt = 0;
  let newestCreated = 0;

  async function loadWatched(now: Date): Promise<void> {
    const full = now.getTime() - fullLoadAt >= reloadMs || now.getTime() < fullLoadAt;
    const since = full ? null : new Date(newestCreated - CREATED_OVERLAP_MS);
    const rows = await sql<
      {
        invoice_id: string;
        merchant_id: string;
        option: string;
        asset: AssetId;
        address: string;
        decimals: number;
        kzt_per_unit: string;
        invoice_key: string | null;
        payout: string | null;
        created_at: Date;
      }[]
    >`select po.invoice_id, i.merchant_id, po.option, po.asset, po.address, po.decimals,
        po.rate->>'kztPerUnit' as kzt_per_unit, po.details->>'invoiceKey' as invoice_key,
        po.details->>'payout' as payout, i.created_at
      from payment_options po join invoices i on i.id = po.invoice_id
      where po.network = ${network}
        and (i.status in ('new', 'processing')
          or (i.status in ('expired', 'settled') and i.monitoring_until > ${now}))
        ${since ? sql`and i.created_at >= ${since}` : sql``}`;
    if (full) {
      byAddress.clear();
      byKey.clear();
      payoutOf.clear();
      fullLoadAt = now.getTime();
    }
    const put = (m: Map<string, WatchedOption[]>, k: string, o: WatchedOption) => {
      const list = m.get(k) ?? [];
      const i = list.findIndex((x) => x.option === o.option && x.invoiceId === o.invoiceId);
      if (i >= 0) list[i] = o;
      else list.push(o);
      m.set(k, list);
    };
    for (const r of rows) {
      if (!r.invoice_key) continue;
      const o: WatchedOption = {
        invoiceId: r.invoice_id,
        merchantId: r.merchant_id,
        option: r.option,
        asset: r.asset,
        decimals: r.decimals,
        kztPerUnit: parseDecimal(r.kzt_per_unit),
        address: r.address,
        invoiceKey: r.invoice_key.toLowerCase(),
      };
      put(byAddress, r.address.toLowerCase(), o);
      put(byKey, o.invoiceKey, o);
      if (r.payout) payoutOf.set(r.address.toLowerCase(), r.payout);
      newestCreated = Math.max(newestCreated, new Date(r.created_at).getTime());
    }
  }

  async function saveCursor(c: Cursor, now: Date): Promise<void> {
    await sql`insert into chain_cursors (name, cursor, updated_at)
      values (${cursorName}, ${sql.json(c as never)}, ${now})
      on conflict (name) do update set cursor = excluded.cursor, updated_at = excluded.updated_at`;
  }

  /** Fetches the range and its logs; undefined when the node's answers do not form one chain. */
  async function fetchRange(from: number, to: number, parentHash: string | undefined) {
    const heights = Array.from({ length: to - from + 1 }, (_, i) => from + i);
    const needTxs = byAddress.size > 0;
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
    if (tokens.length > 0 && byAddress.size > 0) {
      const to3 = byAddress.size <= topicFilterMax ? [...byAddress.keys()].map(addressTopic) : null;
      logs.push(
        ...(await getLogs(rpc, {
          fromBlock: from,
          toBlock: to,
          address: tokens,
          topics: [TRANSFER_TOPIC, null, to3],
        })),
      );
    }
    if (net.router && byKey.size > 0) {
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
    return { blocks: ok, logs };
  }

  async function observe(blocks: readonly RpcBlock<RpcTransaction | string>[], logs: readonly RpcLog[]) {
    const native: Observation[] = [];
    if (byAddress.size > 0) {
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

  interface Judged {
    readonly gone: readonly CountedRow[];
    readonly moved: readonly { row: CountedRow; conf: number; hash: string; height: number }[];
  }

  /** The fate of counted payments (RPC only, no writes): gone, or their confirmations/block now. */
  async function judge(tip: number, canonical: ReadonlyMap<number, string>): Promise<Judged> {
    const rows = await sql<
      CountedRow[]
    >`select id, txid, output_index, block_hash, block_height, confirmations
      from payments where network = ${network} and status in ('seen', 'confirmed') and confirmations < ${finality}`;
    const gone: CountedRow[] = [];
    const moved: { row: CountedRow; conf: number; hash: string; height: number }[] = [];
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
    for (const r of rows) {
      if (r.block_height == null) continue;
      const height = Number(toBigInt(r.block_height));
      const hash = await hashAt(height);
      let block: { hash: string; height: number } | undefined;
      if (hash !== null && hash === r.block_hash) {
        block = { hash, height };
      } else {
        // Its block left the chain. Kept if the same transaction (and, for logs, the same log) was
        // mined again; otherwise it is gone, and a re-mined log at a new index is a new sighting.
        const receipt = await getReceipt(rpc, r.txid);
        const same =
          receipt?.status === '0x1' &&
          (r.output_index === -1 ||
            receipt.logs.some(
              (l) =>
                Number(BigInt(l.logIndex)) === r.output_index &&
                (l.topics[0] === TRANSFER_TOPIC || l.topics[0] === INVOICE_PAID_TOPIC),
            ));
        if (receipt && same && Number(BigInt(receipt.blockNumber)) <= tip) {
          block = { hash: receipt.blockHash, height: Number(BigInt(receipt.blockNumber)) };
        }
      }
      if (!block) {
        gone.push(r);
        continue;
      }
      const conf = tip - block.height + 1;
      if (conf !== r.confirmations || block.hash !== r.block_hash) moved.push({ row: r, conf, ...block });
    }
    return { gone, moved };
  }

  async function retire(rows: readonly CountedRow[], now: Date): Promise<number> {
    let n = 0;
    for (const r of rows) {
      const inv = await sql.begin((tx) => markPaymentGone(tx, options.state, r.id, 'reorged', { now }));
      if (inv) {
        n++;
        log?.info('evm payment left the chain', { network, txid: r.txid, index: r.output_index });
      }
    }
    return n;
  }

  async function reconfirm(moved: Judged['moved'], now: Date): Promise<number> {
    for (const m of moved) {
      await sql.begin((tx) =>
        confirmPayment(
          tx,
          options.state,
          m.row.id,
          m.conf,
          { hash: m.hash, height: BigInt(m.height) },
          { now },
        ),
      );
    }
    return moved.length;
  }

  async function record(
    obs: readonly Observation[],
    blockTimes: ReadonlyMap<number, number>,
    tip: number,
    now: Date,
  ): Promise<number> {
    if (obs.length === 0) return 0;
    const txids = [...new Set(obs.map((o) => o.txid))];
    const existing = await sql<{ txid: string; output_index: number; status: string }[]>`
      select txid, output_index, status from payments where network = ${network} and txid in ${sql(txids)}`;
    const counted = new Set(
      existing
        .filter((e) => e.status === 'seen' || e.status === 'confirmed')
        .map((e) => `${e.txid}:${e.output_index}`),
    );
    const todo = obs.filter((o) => !counted.has(`${o.txid}:${o.index}`));
    if (todo.length === 0) return 0;
    // The watched set may be a little stale: only invoices still open or in their window take money.
    const invoiceIds = [...new Set(todo.map((o) => o.option.invoiceId))];
    const eligible = new Set(
      (
        await sql<{ id: string }[]>`select id from invoices where id in ${sql(invoiceIds)}
          and (status in ('new', 'processing')
            or (status in ('expired', 'settled') and monitoring_until > ${now}))`
      ).map((r) => r.id),
    );
    let n = 0;
    for (const o of todo) {
      const w = o.option;
      if (!eligible.has(w.invoiceId)) {
        log?.warn('evm payment to a closed invoice not credited', {
          network,
          txid: o.txid,
          invoiceId: w.invoiceId,
        });
        continue;
      }
      const amountTiyn = atomicToTiyn(o.amountAtomic, w.kztPerUnit, w.decimals);
      const blockMs = blockTimes.get(o.blockNumber);
      // When the block was made, not when we looked (a watcher catching up must not make it late).
      const seenAt = new Date(Math.min(blockMs ?? now.getTime(), now.getTime()));
      await sql.begin(async (tx) => {
        await recordPayment(
          tx,
          options.state,
          {
            invoiceId: w.invoiceId,
            option: w.option,
            network,
            txid: o.txid,
            outputIndex: o.index,
            fromAddresses: [o.from],
            amountAtomic: o.amountAtomic,
            amountTiyn,
            confirmations: tip - o.blockNumber + 1,
            blockHash: o.blockHash,
            blockHeight: BigInt(o.blockNumber),
            rbf: false,
            seenAt,
          },
          {
            now,
            screen: options.screening
              ? (tx, paymentId) =>
                  options.screening!.screenPayment(tx, {
                    invoiceId: w.invoiceId,
                    paymentId,
                    merchantId: w.merchantId,
                    network,
                    senders: [o.from],
                    amountTiyn,
                    asset: o.asset,
                    deferState: true,
                  })
              : undefined,
          },
        );
        const payout = payoutOf.get(w.address.toLowerCase());
        if (o.path === 'deposit' && payout) {
          await tx`insert into evm_sweeps (network, address, invoice_id, invoice_key, payout, due_at, updated_at)
            values (${network}, ${getAddress(w.address)}, ${w.invoiceId}, ${w.invoiceKey}, ${payout}, ${now}, ${now})
            on conflict (network, address) do update set due_at = excluded.due_at, updated_at = excluded.updated_at`;
        }
      });
      n++;
    }
    return n;
  }

  async function tick(now: Date, fromCheck: boolean): Promise<EvmTickResult> {
    const useLease = options.useLease !== false;
    if (useLease && !(await tryAcquireLease(sql, leaseName, holder, leaseMs))) {
      return { network, recorded: 0, updated: 0, gone: 0, skipped: 'busy' };
    }
    if (!fromCheck) lastLoopTickMs = Date.now();
    // A check's watcher may live for one request (Workers): were it to keep the lease, every other
    // request and the cron would find the network busy until it expired. A loop keeps its lease.
    const release =
      useLease &&
      (options.releaseLeaseAfterTick === true || (fromCheck && Date.now() - lastLoopTickMs > leaseMs));
    try {
      return await scanOnce(now);
    } finally {
      if (release) await releaseLease(sql, leaseName, holder).catch(() => {});
    }
  }

  return {
    network,
    tick: (now = new Date()) => tick(now, false),
    async checkInvoice(invoiceId, now = new Date()) {
      // Pages poll every second or so: within the gap this process does not even ask the database.
      const last = recentChecks.get(invoiceId);
      if (last !== undefined && Math.abs(now.getTime() - last) < checkGapMs) return undefined;
      if (recentChecks.size > 10_000) recentChecks.clear();
      recentChecks.set(invoiceId, now.getTime());
      // Across processes (and Workers requests) the cursor's age is the limit: at most one scan per
      // gap per network, however many pages are open.
      const [row] = await sql<{ updated_at: Date }[]>`
        select updated_at from chain_cursors where name = ${cursorName}`;
      if (row && Math.abs(now.getTime() - new Date(row.updated_at).getTime()) < checkGapMs) return undefined;
      return tick(now, true);
    },
  };

  async function scanOnce(now: Date): Promise<EvmTickResult> {
    const empty = { network, recorded: 0, updated: 0, gone: 0 };
    // The tip before the watched set: every block up to it was mined after its invoices were stored
    // (an address is shown only once its invoice is committed), so none of their payments is missed.
    const tip = await blockNumber(rpc);
    await loadWatched(now);
    const [row] = await sql<
      { cursor: unknown }[]
    >`select cursor from chain_cursors where name = ${cursorName}`;
    const cursor = parseCursor(row?.cursor);

    // 1. Is the chain we scanned still the chain? Walk back to the newest block we know that is.
    let recent = [...(cursor?.recent ?? [])];
    let from = cursor ? cursor.next : (net.startBlock ?? Math.max(0, tip - lookback + 1));
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

    // 2. The next range, checked to hang together.
    const to = Math.min(tip, from + maxBlocks - 1);
    const last = recent.at(-1);
    const parent = last && last[0] === from - 1 ? last[1] : undefined;
    const fetched = from <= to ? await fetchRange(from, to, parent) : { blocks: [], logs: [] };
    if (!fetched) return { ...empty, tip, skipped: 'inconsistent', reorgDepth };
    const obs = await observe(fetched.blocks, fetched.logs);
    const blockTimes = new Map(
      fetched.blocks.map((b) => [Number(BigInt(b.number)), Number(BigInt(b.timestamp)) * 1000]),
    );
    for (const b of fetched.blocks) recent.push([Number(BigInt(b.number)), b.hash]);
    recent = recent.slice(-hashWindow);

    // 3. Counted payments that left the chain go first: one whose log moved is retired before its
    // new sighting is recorded. 4. New payments. 5. Confirmations last: they never delay detection.
    const judged = await judge(tip, new Map(recent));
    const gone = await retire(judged.gone, now);
    const recorded = await record(obs, blockTimes, tip, now);
    const updated = await reconfirm(judged.moved, now);

    await options.beforeCursorSave?.();
    await saveCursor({ next: from <= to ? to + 1 : from, recent }, now);
    return {
      network,
      tip,
      scanned: from <= to ? { from, to } : null,
      watched: byAddress.size,
      recorded,
      updated,
      gone,
      ...(reorgDepth ? { reorgDepth } : {}),
    };
  }
}
