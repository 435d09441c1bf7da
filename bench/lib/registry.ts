// The benches `npm run bench` runs, in this order. To add one: export a `Bench` (see ./types) from
// bench/<name>.ts and list it here; `npm run bench -- <name>` then runs it alone.
import { benchDerive } from '../derive';
import { evmDetectionBench } from '../evm';
import { fairnessBench } from '../fairness';
import { invoicesBench } from '../invoices';
import { benchScreening, benchSdnImport } from '../screening';
import { startBench } from '../start';
import { utxoDetectionBench } from '../utxo-detection';
import { utxoScanBench } from '../utxo-scan';
import { watchScaleBench } from '../watch-scale';
import { webhooksBench } from '../webhooks';
import { workersBench } from '../workers';
import { grouped, ms, round } from './format';
import { type Bench, SPEC_BENCHMARKS, type SpecBenchmark } from './types';

export const DERIVE_RATIO_GOAL = 2.5;
export const SCREENING_P99_GOAL_MS = 1;

const deriveBench: Bench = {
  name: 'derive',
  spec: 'derivation',
  description: 'BIP84 address derivation (pure JS, runs in workerd) beside bip32 + tiny-secp256k1',
  async run() {
    const r = await benchDerive();
    return {
      rows: [
        {
          name: 'derive: addresses/s',
          figure: `${grouped(r.ours.addressesPerSec)}/s`,
          baseline: `${grouped(r.baseline.addressesPerSec)}/s`,
          ratio: r.ratio,
          goal: `ratio ≥ ${DERIVE_RATIO_GOAL}`,
          pass: r.ratio >= DERIVE_RATIO_GOAL,
        },
        {
          name: 'derive: vs bip32, branch kept',
          figure: `${grouped(r.ours.addressesPerSec)}/s`,
          baseline: `${grouped(r.baselineCachedBranch.addressesPerSec)}/s`,
          ratio: r.ratioCachedBranch,
        },
      ],
      details: r,
    };
  },
};

const screeningBench: Bench = {
  name: 'screening',
  spec: 'screening',
  description: 'sanctions lookup per payment with 1,000,000 listed addresses',
  async run() {
    const r = await benchScreening();
    const p99Ms = r.p99Us / 1000;
    return {
      rows: [
        {
          name: `screening: p99 (${grouped(r.listed)} listed)`,
          figure: ms(p99Ms),
          goal: `p99 < ${SCREENING_P99_GOAL_MS} ms`,
          pass: p99Ms < SCREENING_P99_GOAL_MS,
        },
        { name: 'screening: p50', figure: ms(r.p50Us / 1000) },
        { name: 'screening: index build', figure: `${ms(r.buildMs)}, ${round(r.heapMb, 1)} MB heap` },
      ],
      details: r,
    };
  },
};

const sdnImportBench: Bench = {
  name: 'sdn-import',
  description: 'import of the OFAC SDN_ADVANCED.XML.bz2 (decompress, parse, index)',
  async run() {
    const r = await benchSdnImport();
    return {
      rows: [
        {
          name: `sdn-import: ${grouped(r.entries)} addresses`,
          figure: `${r.seconds} s, peak RSS ${r.peakRssMb} MB`,
        },
      ],
      details: r,
    };
  },
};

// SPEC section 9's order; the invoice bench first, while the machine is least warm from the others.
export const BENCHES: readonly Bench[] = [
  { ...invoicesBench, spec: 'invoices' },
  { ...evmDetectionBench, spec: 'detection' },
  { ...utxoDetectionBench, spec: 'detection' },
  { ...utxoScanBench, spec: 'scan' },
  watchScaleBench,
  deriveBench,
  screeningBench,
  sdnImportBench,
  { ...webhooksBench, spec: 'webhooks' },
  workersBench,
  fairnessBench,
  startBench,
];

/** SPEC section 9 items no bench in `benches` measures. */
export function uncoveredSpecBenchmarks(benches: readonly Bench[]): SpecBenchmark[] {
  return (Object.keys(SPEC_BENCHMARKS) as SpecBenchmark[]).filter((k) => !benches.some((b) => b.spec === k));
}
