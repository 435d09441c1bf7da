// The Bitcoin Core-compatible JSON-RPC backend (bitcoind, litecoind): blocks are scanned from a
// stored cursor with full transactions (getblock verbosity 2), the mempool is diffed every tick, and
// outputs are matched against the watched scriptPubKeys: a block's output scripts are looked up among
// every address ever issued (one indexed query per block), then matched by hash set. Blocks are read
// from their bytes (rawblock.ts), falling back to the node's verbose JSON.
//
// Why block scanning rather than a watch-only descriptor wallet in the node:
// - the node stays stateless for us: any Core-compatible node works (bitcoind, litecoind, a
//   provider's), with wallets disabled, and several gateways or merchants can share it;
// - importing 100,000 addresses (one per invoice, more every minute) into a wallet makes every
//   import a rescan or a risk of missing a payment, and wallet RPCs slow down as the wallet grows;
//   a block's scripts are looked up by index, in milliseconds however many we watch;
// - the cursor and the payments live in PostgreSQL beside the invoices, so a restart, a second
//   process or a reorg replays from our own records, exactly once, instead of trusting wallet state;
// - the same code serves Bitcoin and Litecoin (MWEB outputs have no script and are skipped).
// The cost is reading every block in full (fine for one node per network) and needing -txindex to
// name the senders of transactions first seen in a block (mempool transactions resolve without it).
import type { Logger } from '../../../lib/log';
import { firstBlockAtOrAfter } from '../../../watch/start';
import { scriptHexToAddress } from '../derive';
import type { UtxoNetworkId } from '../params';
import { scanTransactions } from '../scan';
import { parseRawBlock, RawBlockError } from './rawblock';
import { coinsToAtomic, RPC_CODES, type RpcClient, RpcError } from './rpc';
import {
  type ChainTx,
  type KnownPayment,
  type Observation,
  type ObservedOutput,
  type ObserveInput,
  outpoint,
  signalsRbf,
  type UtxoBackend,
  type Verdict,
} from './types';

export interface BitcoindBackendOptions {
  readonly network: UtxoNetworkId;
  readonly rpc: RpcClient;
  /** Blocks scanned in one tick at most (a tick is a bounded unit of work); default 50. */
  readonly maxBlocksPerTick?: number;
  /** With no cursor yet, the scan starts this many blocks below the tip; default 6. */
  readonly initialLookback?: number;
  /** Block hashes remembered to find the fork point of a reorg; default 300. */
  readonly reorgDepth?: number;
  readonly decimals?: number;
  /** Read blocks from their bytes (default); false reads the node's verbose JSON. */
  readonly rawBlocks?: boolean;
  readonly logger?: Logger;
}

/** The stored cursor: the last scanned block and the hashes below it (ascending by height). */
export interface RpcCursor {
  readonly height: number;
  readonly hash: string;
  readonly recent: readonly (readonly [number, string])[];
}

/** A transaction as Core prints it (getrawtransaction verbose, getblock verbosity 2/3). */
export interface CoreTx {
  readonly txid: string;
  readonly vin: readonly {
    readonly coinbase?: string;
    readonly txid?: string;
    readonly vout?: number;
    readonly sequence: number;
    readonly prevout?: { readonly scriptPubKey?: { readonly hex?: string } };
  }[];
  readonly vout: readonly {
    readonly value: unknown;
    readonly n: number;
    readonly scriptPubKey?: { readonly hex?: string };
  }[];
  readonly blockhash?: string;
  readonly confirmations?: number;
}

export interface CoreBlock {
  readonly hash: string;
  readonly height: number;
  readonly previousblockhash?: string;
  readonly tx: readonly CoreTx[];
}

/** Core's JSON transaction → ChainTx (amounts from parseRpcJson's exact strings). */
export function coreTxToChainTx(raw: CoreTx, decimals = 8): ChainTx {
  return {
    txid: raw.txid,
    inputs: raw.vin.map((i) =>
      i.coinbase !== undefined || i.txid === undefined
        ? { prevTxid: null, prevVout: 0, sequence: i.sequence }
        : {
            prevTxid: i.txid,
            prevVout: i.vout ?? 0,
            sequence: i.sequence,
            ...(i.prevout?.scriptPubKey?.hex ? { prevScriptHex: i.prevout.scriptPubKey.hex } : {}),
          },
    ),
    outputs: raw.vout.map((o) => ({
      n: o.n,
      scriptHex: o.scriptPubKey?.hex ?? '',
      valueAtomic: coinsToAtomic(o.value, decimals),
    })),
  };
}

const isRpcCode = (err: unknown, code: number) => err instanceof RpcError && err.rpcCode === code;

function isCursor(c: unknown): c is RpcCursor {
  const x = c as RpcCursor;
  return (
    typeof x === 'object' &&
    x !== null &&
    Number.isInteger(x.height) &&
    typeof x.hash === 'string' &&
    Array.isArray(x.recent)
  );
}

interface MempoolEntry {
  /** Output scripts by output index (to re-match when new scripts are watched). */
  readonly scripts: readonly string[];
  /** Spent outpoints (to spot conflicts). */
  readonly inputs: readonly string[];
  /** Of `scripts`, the watched ones (as last looked up or matched). */
  hits: readonly string[];
}

interface BlockSighting {
  readonly hash: string;
  readonly height: number;
}

const MEMPOOL_BATCH = 250;
/** Outputs per look-up: small blocks are looked up together, and the mempool in batches. */
const LOOKUP_BATCH = 5000;
/** A block's time may be two hours ahead of the clock, and lag it by about the median's hour. */
const BLOCK_TIME_SLACK_MS = 3 * 3_600_000;
const PREVOUT_CACHE_MAX = 5000;

export function createBitcoindBackend(options: BitcoindBackendOptions): UtxoBackend {
  const { rpc, network } = options;
  const maxBlocks = options.maxBlocksPerTick ?? 50;
  const lookback = options.initialLookback ?? 6;
  const reorgDepth = options.reorgDepth ?? 300;
  const decimals = options.decimals ?? 8;
  const rawBlocks = options.rawBlocks ?? true;
  // Per-process memory (never needed for correctness): the mempool transactions already fetched,
  // and output scripts of recently looked-up previous transactions.
  const mempool = new Map<string, MempoolEntry>();
  const prevScripts = new Map<string, readonly string[]>();

  const remember = (txid: string, scripts: readonly string[]) => {
    if (prevScripts.size >= PREVOUT_CACHE_MAX) prevScripts.delete(prevScripts.keys().next().value!);
    prevScripts.set(txid, scripts);
  };

  /**
   * A block's transactions: from its bytes (verbosity 0) with the ids from verbosity 1, in one
   * request; from the verbose JSON (verbosity 2) when the bytes hold something we do not read.
   */
  async function readBlock(hash: string): Promise<{ previousblockhash?: string; txs: ChainTx[] }> {
    if (rawBlocks) {
      const [info, raw] = await rpc.batch<unknown>([
        ['getblock', [hash, 1]],
        ['getblock', [hash, 0]],
      ]);
      if (info instanceof RpcError) throw info;
      if (raw instanceof RpcError) throw raw;
      const header = info as { previousblockhash?: string; tx: string[] };
      try {
        return { previousblockhash: header.previousblockhash, txs: parseRawBlock(raw as string, header.tx) };
      } catch (err) {
        if (!(err instanceof RawBlockError)) throw err;
        options.logger?.debug('utxo block read from JSON', { network, hash, why: err.message });
      }
    }
    const block = await rpc.call<CoreBlock>('getblock', [hash, 2]);
    return {
      previousblockhash: block.previousblockhash,
      txs: block.tx.map((t) => coreTxToChainTx(t, decimals)),
    };
  }

  async function startCursor(tip: number, since?: Date): Promise<RpcCursor> {
    let start = Math.max(-1, tip - lookback);
    if (since) {
      // Block times may run up to two hours ahead of the clock and lag the median of the last 11
      // blocks: start that far before the oldest open invoice, and 11 blocks lower.
      const first = await firstBlockAtOrAfter(since.getTime() - BLOCK_TIME_SLACK_MS, tip, blockTimeMs);
      start = Math.min(start, first - 12);
    }
    start = Math.max(-1, start);
    if (start < 0) return { height: -1, hash: '', recent: [] };
    const hash = await rpc.call<string>('getblockhash', [start]);
    return { height: start, hash, recent: [[start, hash]] };
  }

  async function blockTimeMs(height: number): Promise<number> {
    const hash = await rpc.call<string>('getblockhash', [height]);
    const header = await rpc.call<{ time: number }>('getblockheader', [hash, true]);
    return header.time * 1000;
  }

  /** Rewinds the cursor to the highest remembered block still in the main chain. */
  async function rewind(cursor: RpcCursor, tip: number): Promise<RpcCursor> {
    const candidates = cursor.recent.filter(([h]) => h <= tip);
    const hashes = await rpc.batch<string>(candidates.map(([h]) => ['getblockhash', [h]] as const));
    for (let i = candidates.length - 1; i >= 0; i--) {
      const [h, hash] = candidates[i]!;
      if (hashes[i] === hash) {
        options.logger?.warn('utxo reorg: rewinding the scan', { network, from: cursor.height, to: h });
        return { height: h, hash, recent: cursor.recent.filter(([x]) => x <= h) };
      }
    }
    // Deeper than we remember: start again below the tip; the known payments are judged by their
    // own block hashes, so nothing counted is lost.
    options.logger?.error('utxo reorg deeper than the remembered blocks', { network, depth: reorgDepth });
    return startCursor(Math.max(0, tip - reorgDepth));
  }

  async function fetchMempoolTxs(txids: readonly string[]): Promise<Map<string, ChainTx>> {
    const out = new Map<string, ChainTx>();
    for (let i = 0; i < txids.length; i += MEMPOOL_BATCH) {
      const chunk = txids.slice(i, i + MEMPOOL_BATCH);
      const res = await rpc.batch<CoreTx>(chunk.map((t) => ['getrawtransaction', [t, true]] as const));
      res.forEach((r, j) => {
        // Gone since the snapshot (mined or replaced): the next tick sees where it went.
        if (r instanceof RpcError) return;
        out.set(chunk[j]!, coreTxToChainTx(r, decimals));
      });
    }
    return out;
  }

  /** Sender addresses of matched transactions: prevouts from the node, cached. */
  async function resolveSenders(txs: readonly ChainTx[], inMempool: ReadonlySet<string>) {
    const missing = new Set<string>();
    for (const tx of txs) {
      for (const i of tx.inputs) {
        if (i.prevTxid && i.prevScriptHex === undefined && !prevScripts.has(i.prevTxid))
          missing.add(i.prevTxid);
      }
    }
    const ids = [...missing];
    const res = await rpc.batch<CoreTx>(ids.map((t) => ['getrawtransaction', [t, true]] as const));
    res.forEach((r, j) => {
      if (!(r instanceof RpcError))
        remember(
          ids[j]!,
          r.vout.map((o) => o.scriptPubKey?.hex ?? ''),
        );
    });
    const senders = new Map<string, string[]>();
    for (const tx of txs) {
      const addrs = new Set<string>();
      for (const i of tx.inputs) {
        if (!i.prevTxid) continue;
        let script = i.prevScriptHex ?? prevScripts.get(i.prevTxid)?.[i.prevVout];
        if (script === undefined && inMempool.has(tx.txid)) {
          // Without -txindex: an unconfirmed payment spends outputs still unspent in the chain.
          try {
            const out = await rpc.call<{ scriptPubKey?: { hex?: string } } | null>('gettxout', [
              i.prevTxid,
              i.prevVout,
              false,
            ]);
            script = out?.scriptPubKey?.hex;
          } catch (err) {
            if (!(err instanceof RpcError)) throw err;
          }
        }
        const addr = script ? scriptHexToAddress(network, script) : undefined;
        if (addr) addrs.add(addr);
      }
      senders.set(tx.txid, [...addrs]);
    }
    return senders;
  }

  /** Decides what became of a counted payment that this tick's scan did not see again. */
  async function judgeMissing(
    p: KnownPayment,
    tip: number,
    spends: ReadonlyMap<string, string>,
    inMempool: ReadonlySet<string>,
    caughtUp: boolean,
  ): Promise<Verdict> {
    // Mined somewhere we did not scan (before our cursor started)? Needs -txindex; else -5.
    try {
      const tx = await rpc.call<CoreTx>('getrawtransaction', [p.txid, true]);
      if (tx.blockhash && (tx.confirmations ?? 0) > 0) {
        const conf = tx.confirmations!;
        return {
          kind: 'confirmed',
          blockHash: tx.blockhash,
          blockHeight: tip - conf + 1,
          confirmations: conf,
        };
      }
    } catch (err) {
      if (!isRpcCode(err, RPC_CODES.notFound)) throw err;
    }
    for (const op of p.inputs) {
      const by = spends.get(op);
      if (by) return { kind: 'gone', reason: 'replaced', replacedBy: by };
    }
    if (!caughtUp) return { kind: 'unknown' };
    for (const op of p.inputs) {
      const [prev, n] = op.split(':') as [string, string];
      const unspent = await rpc.call<unknown>('gettxout', [prev, Number(n), true]);
      if (unspent !== null) continue;
      // Spent, or the output no longer exists (its own transaction left the chain).
      let prevLives = inMempool.has(prev);
      if (!prevLives) {
        try {
          const prevTx = await rpc.call<CoreTx>('getrawtransaction', [prev, true]);
          prevLives = (prevTx.confirmations ?? 0) > 0;
        } catch (err) {
          if (!isRpcCode(err, RPC_CODES.notFound)) throw err;
        }
      }
      if (prevLives) return { kind: 'gone', reason: 'replaced' };
    }
    return { kind: 'gone', reason: 'reorged' };
  }

  return {
    kind: 'rpc',
    network,
    async broadcast(hex: string) {
      return rpc.call<string>('sendrawtransaction', [hex]);
    },
    async observe(input: ObserveInput): Promise<Observation> {
      // The mempool snapshot comes first: a transaction that leaves it afterwards is then either in
      // a block we scan below or in a later block, never lost between the two reads.
      const mempoolIds = await rpc.call<string[]>('getrawmempool', [false]);
      const inMempool = new Set(mempoolIds);
      const tip = await rpc.call<number>('getblockcount');

      let cursor: RpcCursor = isCursor(input.cursor) ? input.cursor : await startCursor(tip, input.since);
      if (cursor.height >= 0) {
        let nodeHash: string | null = null;
        if (cursor.height <= tip) nodeHash = await rpc.call<string>('getblockhash', [cursor.height]);
        if (nodeHash !== cursor.hash) cursor = await rewind(cursor, tip);
      }

      // Outpoint → the payment transaction that spent it, to recognise other spenders.
      const payerOf = new Map<string, string>();
      for (const p of input.known.values()) for (const op of p.inputs) payerOf.set(op, p.txid);

      const { scripts, lookup } = input.watched;
      /** Of a batch of scripts, the watched ones: looked up (every address ever issued), or the given set. */
      const watchedOf = async (list: readonly string[]): Promise<ReadonlySet<string>> => {
        if (!lookup) return scripts;
        const found = new Set<string>();
        for (let i = 0; i < list.length; i += LOOKUP_BATCH)
          for (const s of await lookup(list.slice(i, i + LOOKUP_BATCH))) found.add(s);
        for (const s of list) if (scripts.has(s)) found.add(s);
        return found;
      };
      const outputScripts = (txs: readonly ChainTx[]) => {
        const all = new Set<string>();
        for (const t of txs) for (const o of t.outputs) if (o.scriptHex) all.add(o.scriptHex);
        return [...all];
      };
      const blockMatches: { tx: ChainTx; outputs: readonly number[]; block: BlockSighting }[] = [];
      const sighted = new Map<string, BlockSighting>();
      const spends = new Map<string, string>();
      const recent = [...cursor.recent];
      let blocks = 0;
      let blockTxs = 0;
      const last = Math.min(tip, cursor.height + maxBlocks);
      // Small blocks are looked up together (one query for many), a full one on its own.
      let pending: { txs: ChainTx[]; sighting: BlockSighting }[] = [];
      let pendingScripts = 0;
      const flush = async () => {
        const all = pending.flatMap((p) => p.txs);
        const watchedHere = await watchedOf(outputScripts(all));
        for (const p of pending) {
          const res = scanTransactions(p.txs, watchedHere, payerOf);
          for (const m of res.matches) blockMatches.push({ ...m, block: p.sighting });
          for (const [op, by] of res.spends) spends.set(op, by);
        }
        pending = [];
        pendingScripts = 0;
      };
      for (let h = cursor.height + 1; h <= last; h++) {
        const hash = await rpc.call<string>('getblockhash', [h]);
        const block = await readBlock(hash);
        if (cursor.height >= 0 && block.previousblockhash !== cursor.hash) break; // reorg mid-scan
        const txs = block.txs;
        const sightedHere: BlockSighting = { hash, height: h };
        for (const t of txs) sighted.set(t.txid, sightedHere);
        pending.push({ txs, sighting: sightedHere });
        for (const t of txs) pendingScripts += t.outputs.length;
        if (pendingScripts >= LOOKUP_BATCH) await flush();
        recent.push([h, hash]);
        if (recent.length > reorgDepth) recent.shift();
        cursor = { height: h, hash, recent };
        blocks++;
        blockTxs += txs.length;
      }
      if (pending.length > 0) await flush();
      const caughtUp = cursor.height >= tip;

      // Mempool: fetch what is new, forget what left. New transactions are looked up; earlier ones
      // are matched again against the scripts issued since (new invoices may watch scripts of
      // transactions fetched earlier). Whatever a look-up could not know yet is found in its block.
      for (const id of mempool.keys()) if (!inMempool.has(id)) mempool.delete(id);
      const fresh = await fetchMempoolTxs(mempoolIds.filter((id) => !mempool.has(id)));
      for (const [id, tx] of fresh) {
        mempool.set(id, {
          scripts: tx.outputs.map((o) => o.scriptHex),
          inputs: tx.inputs.filter((i) => i.prevTxid).map((i) => outpoint(i.prevTxid!, i.prevVout)),
          hits: [],
        });
      }
      const relook = [...mempool].filter(([id]) => !lookup || fresh.has(id));
      const found = await watchedOf([...new Set(relook.flatMap(([, e]) => e.scripts))].filter((x) => x));
      for (const [, e] of relook) e.hits = e.scripts.filter((x) => found.has(x));
      if (lookup && scripts.size > 0) {
        for (const [id, e] of mempool) {
          if (fresh.has(id)) continue;
          const extra = e.scripts.filter((x) => scripts.has(x) && !e.hits.includes(x));
          if (extra.length) e.hits = [...e.hits, ...extra];
        }
      }
      const poolMatchIds: string[] = [];
      const poolScripts = new Set<string>();
      for (const [id, entry] of mempool) {
        if (sighted.has(id)) continue;
        if (entry.hits.length > 0) {
          poolMatchIds.push(id);
          for (const x of entry.hits) poolScripts.add(x);
        }
        for (const op of entry.inputs) {
          const payer = payerOf.get(op);
          if (payer !== undefined && payer !== id) spends.set(op, id);
        }
      }
      const poolTxs = [...poolMatchIds.filter((id) => fresh.has(id)).map((id) => fresh.get(id)!)];
      const refetch = poolMatchIds.filter((id) => !fresh.has(id));
      if (refetch.length) poolTxs.push(...(await fetchMempoolTxs(refetch)).values());
      const poolMatches = scanTransactions(poolTxs, poolScripts).matches;

      // Inherited BIP125 signalling (an unconfirmed ancestor signals) only the node can tell.
      const replaceable = new Map<string, boolean>();
      const entries = await rpc.batch<{ 'bip125-replaceable'?: boolean }>(
        poolMatches.map((m) => ['getmempoolentry', [m.tx.txid]] as const),
      );
      entries.forEach((e, i) => {
        if (!(e instanceof RpcError))
          replaceable.set(poolMatches[i]!.tx.txid, e['bip125-replaceable'] === true);
      });

      const senders = await resolveSenders(
        [...blockMatches.map((m) => m.tx), ...poolMatches.map((m) => m.tx)],
        inMempool,
      );
      const outputs: ObservedOutput[] = [];
      const emit = (tx: ChainTx, idx: readonly number[], block: BlockSighting | null) => {
        const inputs = tx.inputs.filter((i) => i.prevTxid).map((i) => outpoint(i.prevTxid!, i.prevVout));
        for (const i of idx) {
          const o = tx.outputs[i]!;
          outputs.push({
            txid: tx.txid,
            vout: o.n,
            scriptHex: o.scriptHex,
            valueAtomic: o.valueAtomic,
            confirmations: block ? tip - block.height + 1 : 0,
            blockHash: block?.hash ?? null,
            blockHeight: block?.height ?? null,
            rbf: signalsRbf(tx) || replaceable.get(tx.txid) === true,
            inputs,
            fromAddresses: senders.get(tx.txid) ?? [],
          });
        }
      };
      for (const m of blockMatches) emit(m.tx, m.outputs, m.block);
      for (const m of poolMatches) emit(m.tx, m.outputs, null);

      const mainHash = new Map(recent);
      const verdicts = new Map<string, Verdict>();
      for (const [txid, p] of input.known) {
        const seen = sighted.get(txid);
        if (seen) {
          verdicts.set(txid, {
            kind: 'confirmed',
            blockHash: seen.hash,
            blockHeight: seen.height,
            confirmations: tip - seen.height + 1,
          });
          continue;
        }
        if (inMempool.has(txid)) {
          verdicts.set(txid, { kind: 'mempool' });
          continue;
        }
        if (p.blockHash !== null) {
          let height: number | null = null;
          if (p.blockHeight !== null && mainHash.get(p.blockHeight) === p.blockHash) height = p.blockHeight;
          else {
            const header = await rpc
              .call<{ height: number; confirmations: number }>('getblockheader', [p.blockHash, true])
              .catch((err) => {
                if (isRpcCode(err, RPC_CODES.notFound)) return null;
                throw err;
              });
            if (header && header.confirmations > 0) height = header.height;
          }
          if (height !== null) {
            verdicts.set(txid, {
              kind: 'confirmed',
              blockHash: p.blockHash,
              blockHeight: height,
              confirmations: tip - height + 1,
            });
            continue;
          }
        }
        verdicts.set(txid, await judgeMissing(p, tip, spends, inMempool, caughtUp));
      }

      return {
        cursor,
        tipHeight: tip,
        outputs,
        verdicts,
        caughtUp,
        stats: { blocks, blockTxs, mempool: mempoolIds.length, mempoolFetched: fresh.size },
      };
    },
  };
}
