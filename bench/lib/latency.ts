// The one latency summary the benches report (milliseconds in, milliseconds out).
import { percentile, round } from './format';

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Nearest-rank percentiles of `values` (any order), rounded to `digits`; NaN fields when empty. */
export function summariseLatencies(values: ArrayLike<number>, digits = 1): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const n = sorted.length;
  return {
    count: n,
    p50: round(percentile(sorted, 50), digits),
    p95: round(percentile(sorted, 95), digits),
    p99: round(percentile(sorted, 99), digits),
    max: n ? round(sorted[n - 1]!, digits) : Number.NaN,
    mean: n ? round(sum / n, digits) : Number.NaN,
  };
}
