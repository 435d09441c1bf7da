// Scan (SPEC section 9, issue 4): one block of 4,000 transactions matched against 100,000 watched
// scripts, parse included — from the node's answers (as text) to the list of matching outputs and
// conflicting spends, exactly what the RPC backend does per block: `getblock <hash> 0` (the bytes)
// with `getblock <hash> 1` (the ids), parsed by rawblock.ts. Beside it, the fallback path from the
// verbose JSON (`getblock <hash> 2`, every field Core prints, the raw `hex` included).
// The block is generated: 2 inputs and 2 outputs per transaction (P2WPKH, signatures in the
// witness), 40 outputs paying watched scripts. Goal: under 200 ms on this machine (median of runs).
import { randomBytes } from 'node:crypto';
import { type CoreBlock, coreTxToChainTx } from '../src/chains/utxo/backends/bitcoind';
import { parseRawBlock } from '../src/chains/utxo/backends/rawblock';
import { parseRpcJson } from '../src/chains/utxo/backends/rpc';
import { scanTransactions } from '../src/chains/utxo/scan';
import { envNumber, grouped, ms, percentile, ratioOf, round } from './lib/format';
import type { Bench, BenchOutcome } from './lib/types';

export interface ScanBenchResult {
  readonly transactions: number;
  readonly watched: number;
  /** The block's size in bytes, and as verbose JSON. */
  readonly blockBytes: number;
  readonly jsonBytes: number;
  /** The fallback path: the same work from verbose JSON. */
  readonly jsonMedianMs: number;
  readonly runs: number;
  readonly matches: number;
  readonly medianMs: number;
  readonly p95Ms: number;
  /** Of the median: JSON parse, conversion, matching. */
  readonly parseMs: number;
  readonly matchMs: number;
  readonly goalMs: number;
  readonly pass: boolean;
}

const hex = (n: number) => randomBytes(n).toString('hex');
const p2wpkh = () => `0014${hex(20)}`;

function value(): string {
  const sats = 1000 + Math.floor(Math.random() * 5_000_000_000);
  return `${Math.floor(sats / 1e8)}.${String(sats % 1e8).padStart(8, '0')}`;
}

/** A block as `getblock <hash> 2` prints it, with `hits` outputs paying scripts from `watched`. */
export function makeBlockJson(txCount: number, watched: readonly string[], hits: number): string {
  const hitAt = new Set<number>();
  while (hitAt.size < hits) hitAt.add(1 + Math.floor(Math.random() * (txCount - 1)));
  const txs: string[] = [];
  for (let i = 0; i < txCount; i++) {
    const outs = [i === 0 ? p2wpkh() : hitAt.has(i) ? watched[i % watched.length]! : p2wpkh(), p2wpkh()];
    const vin =
      i === 0
        ? `[{"coinbase":"03${hex(4)}","txinwitness":["${'0'.repeat(64)}"],"sequence":4294967295}]`
        : `[${[0, 1]
            .map(
              (k) =>
                `{"txid":"${hex(32)}","vout":${k},"scriptSig":{"asm":"","hex":""},"txinwitness":["30440220${hex(32)}0220${hex(32)}01","02${hex(32)}"],"sequence":4294967293}`,
            )
            .join(',')}]`;
    const vout = outs
      .map(
        (s, n) =>
          `{"value":${value()},"n":${n},"scriptPubKey":{"asm":"0 ${s.slice(4)}","hex":"${s}","reqSigs":1,"type":"witness_v0_keyhash","addresses":["bc1q${hex(19)}"]}}`,
      )
      .join(',');
    txs.push(
      `{"txid":"${hex(32)}","hash":"${hex(32)}","version":2,"size":372,"vsize":209,"weight":834,"locktime":0,"vin":${vin},"vout":[${vout}],"fee":0.0000209,"hex":"${hex(372)}"}`,
    );
  }
  return `{"hash":"${hex(32)}","confirmations":1,"strippedsize":860000,"size":1500000,"weight":3990000,"height":850000,"version":536870912,"versionHex":"20000000","merkleroot":"${hex(32)}","tx":[${txs.join(',')}],"time":1730000000,"mediantime":1729999000,"nonce":1,"bits":"17030ecd","difficulty":1,"chainwork":"${hex(32)}","nTx":${txCount},"previousblockhash":"${hex(32)}"}`;
}

function varint(n: number): string {
  if (n < 0xfd) return n.toString(16).padStart(2, '0');
  return `fd${(n & 0xff).toString(16).padStart(2, '0')}${(n >> 8).toString(16).padStart(2, '0')}`;
}
const le = (n: number, bytes: number) => {
  let s = '';
  let v = BigInt(n);
  for (let i = 0; i < bytes; i++) {
    s += (v & 0xffn).toString(16).padStart(2, '0');
    v >>= 8n;
  }
  return s;
};

/** The same kind of block serialized (getblock verbosity 0) with its ids (verbosity 1, as JSON text). */
export function makeRawBlock(txCount: number, watched: readonly string[], hits: number) {
  const hitAt = new Set<number>();
  while (hitAt.size < hits) hitAt.add(1 + Math.floor(Math.random() * (txCount - 1)));
  const parts: string[] = [hex(80), varint(txCount)];
  const ids: string[] = [];
  for (let i = 0; i < txCount; i++) {
    const outs = [hitAt.has(i) ? watched[i % watched.length]! : p2wpkh(), p2wpkh()];
    let tx = '02000000' + '0001' + varint(i === 0 ? 1 : 2);
    const ins = i === 0 ? 1 : 2;
    for (let k = 0; k < ins; k++) {
      tx += i === 0 ? `${'00'.repeat(32)}ffffffff0403${hex(3)}ffffffff` : `${hex(32)}${le(k, 4)}00fdffffff`;
    }
    tx += varint(outs.length);
    for (const o of outs) tx += le(1000 + Math.floor(Math.random() * 5e9), 8) + varint(o.length / 2) + o;
    for (let k = 0; k < ins; k++) tx += i === 0 ? `0120${'00'.repeat(32)}` : `0247${hex(71)}21${hex(33)}`;
    tx += '00000000';
    parts.push(tx);
    ids.push(hex(32));
  }
  return { raw: parts.join(''), info: JSON.stringify({ hash: hex(32), height: 850000, tx: ids }) };
}

export async function benchUtxoScan(
  opts: { transactions?: number; watched?: number; runs?: number } = {},
): Promise<ScanBenchResult> {
  const txCount = opts.transactions ?? 4000;
  const watchedCount = opts.watched ?? 100_000;
  const runs = opts.runs ?? envNumber('BENCH_UTXO_SCAN_RUNS', 15);
  const watchedList = Array.from({ length: watchedCount }, p2wpkh);
  const scripts = new Set(watchedList);
  const text = makeBlockJson(txCount, watchedList, 40);
  // Counted payments whose inputs are checked for conflicting spends, as in production.
  const payerOf = new Map(Array.from({ length: 1000 }, (_, i) => [`${hex(32)}:${i % 3}`, hex(32)]));

  const rawBlock = makeRawBlock(txCount, watchedList, 40);

  const totals: number[] = [];
  const parses: number[] = [];
  const matchesMs: number[] = [];
  const jsonTotals: number[] = [];
  let matches = 0;
  let jsonMatches = 0;
  for (let r = 0; r < runs + 2; r++) {
    const t0 = performance.now();
    const info = parseRpcJson(rawBlock.info) as { tx: string[] };
    const txs = parseRawBlock(rawBlock.raw, info.tx);
    const t1 = performance.now();
    const res = scanTransactions(txs, scripts, payerOf);
    const t2 = performance.now();
    matches = res.matches.reduce((s, m) => s + m.outputs.length, 0);
    const j0 = performance.now();
    const block = parseRpcJson(text) as CoreBlock;
    const jres = scanTransactions(
      block.tx.map((t) => coreTxToChainTx(t)),
      scripts,
      payerOf,
    );
    jsonMatches = jres.matches.reduce((s, m) => s + m.outputs.length, 0);
    const j1 = performance.now();
    if (r < 2) continue; // warm-up
    totals.push(t2 - t0);
    parses.push(t1 - t0);
    matchesMs.push(t2 - t1);
    jsonTotals.push(j1 - j0);
  }
  const sorted = [...totals].sort((a, b) => a - b);
  const mid = totals.indexOf(percentile(sorted, 50));
  const goalMs = 200;
  const medianMs = round(percentile(sorted, 50), 2);
  const jsonSorted = [...jsonTotals].sort((a, b) => a - b);
  return {
    transactions: txCount,
    watched: watchedCount,
    blockBytes: rawBlock.raw.length / 2,
    jsonBytes: text.length,
    jsonMedianMs: round(percentile(jsonSorted, 50), 2),
    runs,
    matches,
    medianMs,
    p95Ms: round(percentile(sorted, 95), 2),
    parseMs: round(parses[mid]!, 2),
    matchMs: round(matchesMs[mid]!, 2),
    goalMs,
    pass: medianMs < goalMs && matches === 40 && jsonMatches === 40,
  };
}

/** For bench/lib/registry.ts. */
export const utxoScanBench: Bench = {
  name: 'utxo-scan',
  description: 'one block of 4,000 transactions (raw, and verbose JSON) against 100,000 watched scripts',
  async run(): Promise<BenchOutcome> {
    const r = await benchUtxoScan();
    return {
      rows: [
        {
          name: `utxo: scan ${grouped(r.transactions)} tx × ${grouped(r.watched)} scripts`,
          figure: ms(r.medianMs),
          baseline: `JSON ${ms(r.jsonMedianMs)}`,
          ratio: ratioOf(r.medianMs, r.jsonMedianMs),
          goal: `median < ${ms(r.goalMs)}`,
          pass: r.pass,
        },
        { name: 'utxo: scan parse / match', figure: `${ms(r.parseMs)} / ${ms(r.matchMs)}` },
      ],
      details: r,
      notes: [
        `utxo-scan: ${round(r.blockBytes / 1e6, 2)} MB block (${round(r.jsonBytes / 1e6, 1)} MB as JSON), ` +
          `${r.matches} matching outputs, ` +
          `median of ${r.runs} runs (p95 ${ms(r.p95Ms)}); baseline = the same work from verbose JSON (getblock 2, the fallback path)`,
      ],
    };
  },
};
