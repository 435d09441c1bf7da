// An Esplora-compatible REST facade over a Core-compatible node (the sandbox's litecoind), so the
// gateway's Esplora backend runs end to end against a real chain. It keeps its own index in memory
// (transactions by script, spends by outpoint), rebuilt from the node: every request first syncs
// new blocks (undoing orphaned ones) and the mempool. Meant for regtest-sized chains only.
//
// Served (the subset the gateway and wallets use): GET /blocks/tip/height, /blocks/tip/hash,
// /block-height/:h, /address/:a/txs, /address/:a/txs/mempool, /address/:a/txs/chain[/:last],
// /tx/:txid, /tx/:txid/status, /tx/:txid/hex, /tx/:txid/outspend/:vout, /tx/:txid/outspends,
// POST /tx (raw hex body → txid).
import { Hono } from 'hono';
import type { CoreBlock, CoreTx } from '../src/chains/utxo/backends/bitcoind';
import { coinsToAtomic, type RpcClient, RpcError } from '../src/chains/utxo/backends/rpc';
import { addressToScriptHex, InvalidAddressError, scriptHexToAddress } from '../src/chains/utxo/derive';
import type { UtxoNetworkId } from '../src/chains/utxo/params';

interface FullCoreTx extends CoreTx {
  readonly version: number;
  readonly locktime: number;
  readonly size: number;
  readonly weight: number;
  readonly vin: (CoreTx['vin'][number] & {
    readonly scriptSig?: { readonly asm: string; readonly hex: string };
    readonly txinwitness?: readonly string[];
  })[];
  readonly vout: (CoreTx['vout'][number] & {
    readonly scriptPubKey?: { readonly hex?: string; readonly asm?: string; readonly type?: string };
  })[];
}

interface BlockRef {
  readonly hash: string;
  readonly height: number;
  readonly time: number;
}

interface Entry {
  readonly tx: FullCoreTx;
  /** Undefined while in the mempool. */
  readonly block: BlockRef | undefined;
  /** Position in its block (ordering of address histories). */
  readonly pos: number;
  /** Scripts and outpoints this entry is indexed under (to undo it). */
  readonly scripts: readonly string[];
  readonly spent: readonly string[];
}

const TYPES: Record<string, string> = {
  pubkeyhash: 'p2pkh',
  scripthash: 'p2sh',
  witness_v0_keyhash: 'v0_p2wpkh',
  witness_v0_scripthash: 'v0_p2wsh',
  witness_v1_taproot: 'v1_p2tr',
  nulldata: 'op_return',
  pubkey: 'p2pk',
  multisig: 'multisig',
};

export interface EsploraFacade {
  readonly app: Hono;
  /** Brings the index up to the node (also done before every request). */
  sync(): Promise<void>;
  readonly stats: () => { blocks: number; txs: number; mempool: number };
}

export function createEsploraFacade(opts: { rpc: RpcClient; network: UtxoNetworkId }): EsploraFacade {
  const { rpc, network } = opts;
  const chain: BlockRef[] = [];
  const txs = new Map<string, Entry>();
  const byScript = new Map<string, Set<string>>();
  const spends = new Map<string, string>();
  let running: Promise<void> | undefined;

  const scriptOf = (o: FullCoreTx['vout'][number]) => (o.scriptPubKey?.hex ?? '').toLowerCase();
  const prevScript = (txid: string, vout: number): string | undefined => {
    const prev = txs.get(txid)?.tx.vout[vout];
    return prev ? scriptOf(prev) : undefined;
  };

  function add(tx: FullCoreTx, block: BlockRef | undefined, pos: number) {
    const scripts = new Set<string>();
    const spent: string[] = [];
    for (const o of tx.vout) if (scriptOf(o)) scripts.add(scriptOf(o));
    for (const i of tx.vin) {
      if (i.txid === undefined || i.coinbase !== undefined) continue;
      const op = `${i.txid}:${i.vout}`;
      spent.push(op);
      spends.set(op, tx.txid);
      const s = prevScript(i.txid, i.vout ?? 0);
      if (s) scripts.add(s);
    }
    for (const s of scripts) {
      const set = byScript.get(s) ?? new Set<string>();
      set.add(tx.txid);
      byScript.set(s, set);
    }
    txs.set(tx.txid, { tx, block, pos, scripts: [...scripts], spent });
  }

  function remove(txid: string) {
    const e = txs.get(txid);
    if (!e) return;
    for (const s of e.scripts) byScript.get(s)?.delete(txid);
    for (const op of e.spent) if (spends.get(op) === txid) spends.delete(op);
    txs.delete(txid);
  }

  async function doSync(): Promise<void> {
    const tip = await rpc.call<number>('getblockcount');
    // Undo blocks the node no longer has in its main chain.
    while (chain.length > 0) {
      const top = chain[chain.length - 1]!;
      const hash =
        top.height <= tip ? await rpc.call<string>('getblockhash', [top.height]).catch(() => null) : null;
      if (hash === top.hash) break;
      chain.pop();
      for (const [id, e] of txs) if (e.block?.hash === top.hash) remove(id);
    }
    for (let h = chain.length; h <= tip; h++) {
      const hash = await rpc.call<string>('getblockhash', [h]);
      const block = await rpc.call<CoreBlock & { time: number }>('getblock', [hash, 2]);
      const ref = { hash, height: h, time: block.time };
      block.tx.forEach((t, pos) => {
        remove(t.txid); // was in the mempool
        add(t as FullCoreTx, ref, pos);
      });
      chain.push(ref);
    }
    const pool = new Set(await rpc.call<string[]>('getrawmempool'));
    for (const [id, e] of txs) if (!e.block && !pool.has(id)) remove(id);
    const fresh = [...pool].filter((id) => !txs.has(id));
    const got = await rpc.batch<FullCoreTx>(fresh.map((id) => ['getrawtransaction', [id, true]] as const));
    // Parents before children, so a child's prevout script is found.
    const pending = got.filter((t): t is FullCoreTx => !(t instanceof RpcError));
    for (let round = 0; pending.length > 0 && round < 50; round++) {
      for (let i = pending.length - 1; i >= 0; i--) {
        const t = pending[i]!;
        const waits = t.vin.some((v) => v.txid && pool.has(v.txid) && !txs.has(v.txid) && v.txid !== t.txid);
        if (!waits || round === 49) {
          add(t, undefined, 0);
          pending.splice(i, 1);
        }
      }
    }
  }

  const sync = async () => {
    if (!running) {
      running = doSync().finally(() => {
        running = undefined;
      });
    }
    return running;
  };

  const sats = (v: unknown) => Number(coinsToAtomic(v));

  function status(e: Entry) {
    return e.block
      ? { confirmed: true, block_height: e.block.height, block_hash: e.block.hash, block_time: e.block.time }
      : { confirmed: false };
  }

  function toJson(e: Entry) {
    const t = e.tx;
    let inSum = 0;
    const vin = t.vin.map((i) => {
      if (i.coinbase !== undefined || i.txid === undefined) {
        return {
          txid: '0'.repeat(64),
          vout: 0xffffffff,
          prevout: null,
          scriptsig: i.coinbase ?? '',
          scriptsig_asm: '',
          witness: i.txinwitness ?? [],
          is_coinbase: true,
          sequence: i.sequence,
        };
      }
      const prev = txs.get(i.txid)?.tx.vout[i.vout ?? 0];
      if (prev) inSum += sats(prev.value);
      return {
        txid: i.txid,
        vout: i.vout,
        prevout: prev ? output(prev) : null,
        scriptsig: i.scriptSig?.hex ?? '',
        scriptsig_asm: i.scriptSig?.asm ?? '',
        ...(i.txinwitness ? { witness: i.txinwitness } : {}),
        is_coinbase: false,
        sequence: i.sequence,
      };
    });
    const vout = t.vout.map(output);
    const outSum = vout.reduce((s, o) => s + o.value, 0);
    const coinbase = vin.some((i) => i.is_coinbase);
    return {
      txid: t.txid,
      version: t.version,
      locktime: t.locktime,
      vin,
      vout,
      size: t.size,
      weight: t.weight,
      fee: coinbase ? 0 : inSum - outSum,
      status: status(e),
    };
  }

  function output(o: FullCoreTx['vout'][number]) {
    const script = scriptOf(o);
    const address = script ? scriptHexToAddress(network, script) : undefined;
    return {
      scriptpubkey: script,
      scriptpubkey_asm: o.scriptPubKey?.asm ?? '',
      scriptpubkey_type: TYPES[o.scriptPubKey?.type ?? ''] ?? 'unknown',
      ...(address ? { scriptpubkey_address: address } : {}),
      value: sats(o.value),
    };
  }

  /** An address's transactions, Esplora's order: mempool newest first, then by height descending. */
  function history(script: string): Entry[] {
    const list = [...(byScript.get(script) ?? [])].map((id) => txs.get(id)!).filter(Boolean);
    const pool = list.filter((e) => !e.block).reverse();
    const mined = list
      .filter((e) => e.block)
      .sort((a, b) => b.block!.height - a.block!.height || b.pos - a.pos);
    return [...pool, ...mined];
  }

  const app = new Hono();
  app.use('*', async (_c, next) => {
    await sync();
    await next();
  });
  app.onError((err, c) => {
    if (err instanceof InvalidAddressError) return c.text(`Invalid address: ${err.message}`, 400);
    if (err instanceof RpcError) return c.text(err.message, 400);
    return c.text(`Internal error: ${(err as Error).message}`, 500);
  });
  const tipRef = () => chain[chain.length - 1]!;
  app.get('/blocks/tip/height', (c) => c.text(String(tipRef().height)));
  app.get('/blocks/tip/hash', (c) => c.text(tipRef().hash));
  app.get('/block-height/:h', (c) => {
    const b = chain[Number(c.req.param('h'))];
    return b ? c.text(b.hash) : c.text('Block not found', 404);
  });
  const scriptParam = (a: string) => addressToScriptHex(network, a);
  app.get('/address/:a/txs', (c) => {
    const h = history(scriptParam(c.req.param('a')));
    return c.json(
      [...h.filter((e) => !e.block).slice(0, 50), ...h.filter((e) => e.block).slice(0, 25)].map(toJson),
    );
  });
  app.get('/address/:a/txs/mempool', (c) =>
    c.json(
      history(scriptParam(c.req.param('a')))
        .filter((e) => !e.block)
        .slice(0, 50)
        .map(toJson),
    ),
  );
  const chainPage = (a: string, last?: string) => {
    const mined = history(scriptParam(a)).filter((e) => e.block);
    const from = last ? mined.findIndex((e) => e.tx.txid === last) + 1 : 0;
    return (last && from === 0 ? [] : mined.slice(from, from + 25)).map(toJson);
  };
  app.get('/address/:a/txs/chain', (c) => c.json(chainPage(c.req.param('a'))));
  app.get('/address/:a/txs/chain/:last', (c) => c.json(chainPage(c.req.param('a'), c.req.param('last'))));
  const entry = (id: string) => txs.get(id.toLowerCase());
  app.get('/tx/:txid', (c) => {
    const e = entry(c.req.param('txid'));
    return e ? c.json(toJson(e)) : c.text('Transaction not found', 404);
  });
  app.get('/tx/:txid/status', (c) => {
    const e = entry(c.req.param('txid'));
    return e ? c.json(status(e)) : c.text('Transaction not found', 404);
  });
  app.get('/tx/:txid/hex', async (c) => {
    const e = entry(c.req.param('txid'));
    if (!e) return c.text('Transaction not found', 404);
    return c.text(await rpc.call<string>('getrawtransaction', [e.tx.txid, false]));
  });
  const outspend = (txid: string, vout: number) => {
    const by = spends.get(`${txid}:${vout}`);
    const e = by ? txs.get(by) : undefined;
    if (!e) return { spent: false };
    const vin = e.tx.vin.findIndex((i) => i.txid === txid && i.vout === vout);
    return { spent: true, txid: e.tx.txid, vin, status: status(e) };
  };
  app.get('/tx/:txid/outspend/:vout', (c) => {
    const e = entry(c.req.param('txid'));
    if (!e) return c.text('Transaction not found', 404);
    return c.json(outspend(e.tx.txid, Number(c.req.param('vout'))));
  });
  app.get('/tx/:txid/outspends', (c) => {
    const e = entry(c.req.param('txid'));
    if (!e) return c.text('Transaction not found', 404);
    return c.json(e.tx.vout.map((_, n) => outspend(e.tx.txid, n)));
  });
  app.post('/tx', async (c) => {
    const hex = (await c.req.text()).trim();
    const txid = await rpc.call<string>('sendrawtransaction', [hex]);
    await sync();
    return c.text(txid);
  });

  return {
    app,
    sync,
    stats: () => ({
      blocks: chain.length,
      txs: txs.size,
      mempool: [...txs.values()].filter((e) => !e.block).length,
    }),
  };
}
