// Number formatting and percentiles shared by the benches.

/** Percentile of ascending-sorted values (nearest rank). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** 1234.5 → "1,235" (whole numbers with thousands separators). */
export function grouped(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Milliseconds with sensible precision: 0.0123 → "12.3 µs", 4.56 → "4.56 ms", 1234 → "1,234 ms". */
export function ms(n: number): string {
  if (!Number.isFinite(n)) return '-';
  if (n < 1) return `${round(n * 1000, 1)} µs`;
  if (n < 100) return `${round(n, 2)} ms`;
  return `${grouped(n)} ms`;
}

export const ratioOf = (ours: number, baseline: number): number => round(ours / baseline, 2);

/** Reads a positive number from the environment, or the default. */
export function envNumber(name: string, def: number): number {
  const v = process.env[name];
  if (v === undefined || v.trim() === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number (got "${v}")`);
  return n;
}
