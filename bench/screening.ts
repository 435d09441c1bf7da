// Screening (SPEC section 9): per-lookup latency of the sanctions AddressIndex holding 1,000,000 listed
// addresses, and the import of the real OFAC SDN_ADVANCED.XML.bz2.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { MatchContext } from '../src/aml/lists/lookup';
import { AddressIndex } from '../src/aml/lists/lookup';
import { openSdnAdvancedBz2, parseSdnAdvanced } from '../src/aml/lists/ofac';
import type { AddressKind } from '../src/aml/lists/types';

export interface ScreeningBenchResult {
  listed: number;
  p50Us: number;
  p99Us: number;
  buildMs: number;
  /** Heap held by the built index (its address strings included). */
  heapMb: number;
}

export interface SdnImportBenchResult {
  seconds: number;
  peakRssMb: number;
  entries: number;
}

const DEFAULT_SDN = fileURLToPath(new URL('../../shared/data/ofac/sdn_advanced.xml.bz2', import.meta.url));

const HEX = '0123456789abcdefABCDEF';
const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** Deterministic per index, so hits can be regenerated instead of kept (they would inflate the heap). */
interface Synthetic {
  address: string;
  asset: string;
  kind: AddressKind;
  family: 'evm' | 'utxo';
}

function syntheticAddress(i: number): Synthetic {
  let state = (i * 0x9e3779b1) ^ 0x5bd1e995;
  const next = (n: number) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
  // Built from char codes so the string is flat, as one read from a request or a file is.
  const pick = (alphabet: string, length: number) => {
    const codes = new Array<number>(length);
    for (let k = 0; k < length; k++) codes[k] = alphabet.charCodeAt(next(alphabet.length));
    return String.fromCharCode(...codes);
  };
  switch (i % 3) {
    case 0:
      return { address: `0x${pick(HEX, 40)}`, asset: i % 2 ? 'ETH' : 'USDT', kind: 'evm', family: 'evm' };
    case 1:
      return i % 2
        ? { address: `bc1q${pick(BECH32, 38)}`, asset: 'BTC', kind: 'bech32', family: 'utxo' }
        : { address: `ltc1q${pick(BECH32, 38)}`, asset: 'LTC', kind: 'bech32', family: 'utxo' };
    default:
      return i % 2
        ? { address: `1${pick(BASE58, 33)}`, asset: 'BTC', kind: 'base58', family: 'utxo' }
        : { address: `L${pick(BASE58, 33)}`, asset: 'LTC', kind: 'base58', family: 'utxo' };
  }
}

function gcFunction(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function heapAfterGc(gc: () => void): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

export async function benchScreening(
  opts: { listed?: number; lookups?: number } = {},
): Promise<ScreeningBenchResult> {
  const listed = opts.listed ?? 1_000_000;
  const lookups = opts.lookups ?? 100_000;
  const gc = gcFunction();

  // Queries first (outside the heap measurement): half listed, in the case a payer might send them
  // (upper-case bech32 from a QR code, EVM hex in mixed case), half never listed.
  const queries: Array<{ address: string; context: MatchContext }> = [];
  for (let q = 0; q < lookups; q++) {
    const hit = q % 2 === 0;
    const i = hit ? Math.floor((q / lookups) * listed) : listed + q;
    const a = syntheticAddress(i);
    const address = hit && a.address.startsWith('bc1') ? a.address.toUpperCase() : a.address;
    queries.push({ address, context: { asset: a.asset, family: a.family } });
  }

  const before = heapAfterGc(gc);
  let batch: Synthetic[] | undefined = [];
  for (let i = 0; i < listed; i++) batch.push(syntheticAddress(i));
  const start = performance.now();
  const index = new AddressIndex(listed);
  for (const { address, asset, kind } of batch) index.add({ address, asset, kind }, 'synthetic');
  const buildMs = performance.now() - start;
  batch = undefined;
  const heapMb = (heapAfterGc(gc) - before) / 2 ** 20;

  // Warm-up, then each lookup timed on its own.
  for (let q = 0; q < 10_000; q++) index.match(queries[q % queries.length]!.address);
  const times = new Float64Array(lookups);
  let hits = 0;
  for (let q = 0; q < lookups; q++) {
    const { address, context } = queries[q]!;
    const t = performance.now();
    const found = index.match(address, context);
    times[q] = performance.now() - t;
    if (found.length > 0) hits++;
  }
  const expectedHits = Math.ceil(lookups / 2);
  if (hits !== expectedHits)
    throw new Error(`screening bench: ${hits} hits where ${expectedHits} were listed`);
  times.sort();
  return {
    listed: index.size,
    p50Us: round(percentile(times, 50) * 1000),
    p99Us: round(percentile(times, 99) * 1000),
    buildMs: Math.round(buildMs),
    heapMb: round(heapMb, 1),
  };
}

/** The real list: decompress (bzip2 when installed), parse, index. Peak RSS of this process only. */
export async function benchSdnImport(
  path = process.env.OFAC_SDN_PATH ?? DEFAULT_SDN,
): Promise<SdnImportBenchResult> {
  let peakRss = process.memoryUsage.rss();
  const start = performance.now();
  const index = new AddressIndex();
  let entries = 0;
  for await (const entry of parseSdnAdvanced(openSdnAdvancedBz2(path), {
    onProgress: () => {
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
    },
  })) {
    index.add(entry, 'ofac-sdn');
    entries++;
  }
  const seconds = (performance.now() - start) / 1000;
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  return { seconds: round(seconds), peakRssMb: Math.round(peakRss / 2 ** 20), entries };
}

const isMain = (() => {
  try {
    return (
      !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))
    );
  } catch {
    return false;
  }
})();

if (isMain) {
  const sdnImport = await benchSdnImport();
  const screening = await benchScreening();
  console.log(JSON.stringify({ sdnImport, screening }, null, 2));
}
