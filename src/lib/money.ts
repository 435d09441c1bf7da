// Money on the payment path is bigint only. A `Decimal` is an exact base-10 number: value × 10^-scale.
// Rates are Decimals (exact products of source quotes); amounts are integers of minor/atomic units.

export const TIYN_PER_KZT = 100n;
export const KZT_DECIMALS = 2;

export interface Decimal {
  readonly value: bigint;
  readonly scale: number;
}

export class MoneyFormatError extends Error {
  override readonly name = 'MoneyFormatError';
  readonly code = 'invalid_amount';
}

const POW10: bigint[] = [];
export function pow10(n: number): bigint {
  if (!Number.isInteger(n) || n < 0 || n > 400) throw new RangeError(`pow10 out of range: ${n}`);
  let p = POW10[n];
  if (p === undefined) {
    p = 10n ** BigInt(n);
    POW10[n] = p;
  }
  return p;
}

/**
 * Parses a non-negative decimal string into atomic units with exactly `decimals` places.
 * Rejects exponents, signs, spaces, leading zeros and more fractional digits than allowed,
 * because a payment amount that is silently rounded is a wrong amount.
 */
export function parseUnits(text: string, decimals: number): bigint {
  if (typeof text !== 'string') throw new MoneyFormatError('amount must be a decimal string');
  const m = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/.exec(text);
  if (!m) throw new MoneyFormatError(`"${truncate(text)}" is not a plain decimal number`);
  const whole = m[1]!;
  const frac = m[2] ?? '';
  if (frac.length > decimals) {
    throw new MoneyFormatError(`at most ${decimals} decimal places are allowed`);
  }
  if (whole.length > 60) throw new MoneyFormatError('amount is too large');
  return BigInt(whole) * pow10(decimals) + BigInt(frac.padEnd(decimals, '0') || '0');
}

/** Formats atomic units as a decimal string; `minFraction` keeps trailing zeros (tenge keeps 2). */
export function formatUnits(atomic: bigint, decimals: number, minFraction = 0): string {
  const neg = atomic < 0n;
  const abs = neg ? -atomic : atomic;
  const base = pow10(decimals);
  const whole = abs / base;
  let frac = decimals > 0 ? (abs % base).toString().padStart(decimals, '0') : '';
  let end = frac.length;
  while (end > minFraction && frac[end - 1] === '0') end--;
  frac = frac.slice(0, end);
  return (neg ? '-' : '') + whole.toString() + (frac ? `.${frac}` : '');
}

export const parseKzt = (text: string): bigint => parseUnits(text, KZT_DECIMALS);
export const formatKzt = (tiyn: bigint): string => formatUnits(tiyn, KZT_DECIMALS, KZT_DECIMALS);

/**
 * Parses a decimal as sources publish it: optional sign and exponent allowed ("1.2e-5", "474.20").
 * Used only for rate inputs, never for amounts a user sends.
 */
export function parseDecimal(text: string): Decimal {
  const m = /^\s*([+-]?)([0-9]+)?(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]{1,4}))?\s*$/.exec(text);
  if (!m || (m[2] === undefined && !m[3])) throw new MoneyFormatError(`"${truncate(text)}" is not a decimal`);
  const digits = (m[2] ?? '') + (m[3] ?? '');
  let scale = (m[3] ?? '').length - Number(m[4] ?? 0);
  // Beyond pow10's range the arithmetic below would throw a RangeError: still just a bad number.
  if (Math.abs(scale) > 400) throw new MoneyFormatError(`"${truncate(text)}" has an exponent out of range`);
  let value = BigInt(digits || '0');
  if (m[1] === '-') value = -value;
  if (scale < 0) {
    value *= pow10(-scale);
    scale = 0;
  }
  return normalize({ value, scale });
}

/** Removes trailing zeros so equal numbers compare equal structurally. */
export function normalize(d: Decimal): Decimal {
  let { value, scale } = d;
  while (scale > 0 && value % 10n === 0n) {
    value /= 10n;
    scale--;
  }
  return { value, scale };
}

export function decimalToString(d: Decimal): string {
  return formatUnits(d.value, d.scale);
}

export function mulDecimal(a: Decimal, b: Decimal): Decimal {
  return normalize({ value: a.value * b.value, scale: a.scale + b.scale });
}

/** Compares two decimals exactly: -1, 0 or 1. */
export function cmpDecimal(a: Decimal, b: Decimal): number {
  const s = Math.max(a.scale, b.scale);
  const av = a.value * pow10(s - a.scale);
  const bv = b.value * pow10(s - b.scale);
  return av < bv ? -1 : av > bv ? 1 : 0;
}

/** Rounds a positive decimal down to at most `maxScale` places (a lower rate means more crypto: safe for the merchant). */
export function floorScale(d: Decimal, maxScale: number): Decimal {
  if (d.scale <= maxScale) return d;
  const cut = pow10(d.scale - maxScale);
  const v = d.value >= 0n ? d.value / cut : -((-d.value + cut - 1n) / cut);
  return normalize({ value: v, scale: maxScale });
}

/** The median of exact decimals; the mean of the two middle values for an even count (still exact). */
export function medianDecimal(values: readonly Decimal[]): Decimal {
  if (values.length === 0) throw new RangeError('median of nothing');
  const sorted = [...values].sort(cmpDecimal);
  const mid = sorted.length >> 1;
  if (sorted.length % 2 === 1) return sorted[mid]!;
  const a = sorted[mid - 1]!;
  const b = sorted[mid]!;
  const s = Math.max(a.scale, b.scale);
  const sum = a.value * pow10(s - a.scale) + b.value * pow10(s - b.scale);
  // sum / 2 = sum * 5 / 10: exact with one more decimal place.
  return normalize({ value: sum * 5n, scale: s + 1 });
}

export function ceilDiv(a: bigint, b: bigint): bigint {
  if (b <= 0n) throw new RangeError('division by a non-positive number');
  if (a <= 0n) return -(-a / b);
  return (a + b - 1n) / b;
}

/**
 * Atomic units of an asset that pay `amountTiyn` at `kztPerUnit`, rounded UP to the smallest unit,
 * so the merchant never receives less than the tenge price at the quoted rate (SPEC section 3).
 */
export function quoteAtomic(amountTiyn: bigint, kztPerUnit: Decimal, decimals: number): bigint {
  if (kztPerUnit.value <= 0n) throw new RangeError('rate must be positive');
  if (amountTiyn <= 0n) throw new RangeError('amount must be positive');
  // atomic = tiyn/100 / (v/10^s) × 10^dec = tiyn × 10^(s+dec) / (100 × v)
  return ceilDiv(amountTiyn * pow10(kztPerUnit.scale + decimals), TIYN_PER_KZT * kztPerUnit.value);
}

/** The tenge value (tiyn, rounded down) of `atomic` units at `kztPerUnit`: what a payment is worth at its quote. */
export function atomicToTiyn(atomic: bigint, kztPerUnit: Decimal, decimals: number): bigint {
  const num = atomic * kztPerUnit.value * TIYN_PER_KZT;
  const den = pow10(kztPerUnit.scale + decimals);
  return num >= 0n ? num / den : -((-num + den - 1n) / den);
}

/** `percent` given as a decimal string with at most 2 places ("0.5") → basis points (50). */
export function percentToBasisPoints(percent: string): number {
  const bp = parseUnits(percent, 2);
  if (bp > 10_000n) throw new MoneyFormatError('percent must be at most 100');
  return Number(bp);
}

/** The least paid amount that counts as full payment, given a tolerance in basis points. */
export function minimumAccepted(dueTiyn: bigint, toleranceBp: number): bigint {
  return dueTiyn - (dueTiyn * BigInt(toleranceBp)) / 10_000n;
}

function truncate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
