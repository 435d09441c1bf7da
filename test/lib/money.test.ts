import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  atomicToTiyn,
  ceilDiv,
  cmpDecimal,
  type Decimal,
  decimalToString,
  floorScale,
  formatKzt,
  formatUnits,
  MoneyFormatError,
  medianDecimal,
  minimumAccepted,
  mulDecimal,
  normalize,
  parseDecimal,
  parseKzt,
  parseUnits,
  percentToBasisPoints,
  pow10,
  quoteAtomic,
} from '../../src/lib/money';

// Exact rationals (numerator / positive denominator) as an independent oracle for the bigint code.
interface Rational {
  n: bigint;
  d: bigint;
}
const rat = (x: Decimal): Rational => ({ n: x.value, d: 10n ** BigInt(x.scale) });
const cmpRat = (a: Rational, b: Rational): number => {
  const l = a.n * b.d;
  const r = b.n * a.d;
  return l < r ? -1 : l > r ? 1 : 0;
};
const mulRat = (a: Rational, b: Rational): Rational => ({ n: a.n * b.n, d: a.d * b.d });

/** A decimal string built digit by digit, so the oracle does not share code with the parser. */
const decimalText = (maxDecimals: number) =>
  fc
    .tuple(
      fc.bigInt({ min: 0n, max: 10n ** 30n }),
      fc
        .integer({ min: 0, max: maxDecimals })
        .chain((n) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: n, maxLength: n })),
    )
    .map(([whole, frac]) => (frac ? `${whole}.${frac}` : whole.toString()));

const positiveDecimal = fc
  .tuple(fc.bigInt({ min: 1n, max: 10n ** 15n }), fc.integer({ min: 0, max: 12 }))
  .map(([value, scale]): Decimal => ({ value, scale }));

describe('parseUnits / formatUnits', () => {
  it('round-trips every atomic amount for every number of decimals 0..18', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 18 }), fc.bigInt({ min: 0n, max: 10n ** 40n }), (dec, atomic) => {
        const text = formatUnits(atomic, dec);
        expect(parseUnits(text, dec)).toBe(atomic);
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips decimal text (up to trailing zeros) and keeps the value exact', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 18 }).chain((dec) => fc.tuple(fc.constant(dec), decimalText(dec))),
        ([dec, text]) => {
          const atomic = parseUnits(text, dec);
          // Independent oracle: shift the decimal point by string manipulation.
          const [w, f = ''] = text.split('.');
          expect(atomic).toBe(BigInt(w! + f.padEnd(dec, '0')));
          const back = formatUnits(atomic, dec);
          expect(parseUnits(back, dec)).toBe(atomic);
          // formatUnits writes no trailing fractional zeros and no dangling point.
          expect(back).not.toMatch(/\.$|\.[0-9]*0$/);
          // Same number: the original text only differs by trailing fractional zeros.
          const stripped = text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
          expect(back).toBe(stripped);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('formats known values, keeps minFraction zeros, handles negatives', () => {
    expect(formatUnits(30000n, 8)).toBe('0.0003');
    expect(formatUnits(100000000n, 8)).toBe('1');
    expect(formatUnits(0n, 18)).toBe('0');
    expect(formatUnits(1n, 18)).toBe('0.000000000000000001');
    expect(formatUnits(123n, 0)).toBe('123');
    expect(formatUnits(1500000n, 2, 2)).toBe('15000.00');
    expect(formatUnits(1500010n, 2, 2)).toBe('15000.10');
    expect(formatUnits(-150n, 2)).toBe('-1.5');
    expect(formatUnits(-1n, 8)).toBe('-0.00000001');
    expect(parseUnits('0.0003', 8)).toBe(30000n);
    expect(parseUnits('15000.00', 2)).toBe(1500000n);
    expect(parseUnits('0', 0)).toBe(0n);
  });

  it.each([
    ['1e5', 'an exponent'],
    ['-1', 'a sign'],
    ['+1', 'a plus sign'],
    ['01', 'a leading zero'],
    ['00.5', 'leading zeros'],
    ['1.', 'a dangling point'],
    ['.5', 'a missing whole part'],
    [' 1', 'a leading space'],
    ['1 ', 'a trailing space'],
    ['', 'nothing'],
    ['1,5', 'a comma'],
    ['0x10', 'hex'],
    ['1_000', 'an underscore'],
    ['１', 'a full-width digit'],
    ['NaN', 'NaN'],
    ['Infinity', 'Infinity'],
  ])('rejects %j (%s)', (text) => {
    expect(() => parseUnits(text, 8)).toThrow(MoneyFormatError);
  });

  it('rejects more decimals than the asset has, for every decimals 0..18', () => {
    for (let dec = 0; dec <= 18; dec++) {
      const ok = dec === 0 ? '7' : `0.${'1'.repeat(dec)}`;
      expect(() => parseUnits(ok, dec)).not.toThrow();
      expect(() => parseUnits(`0.${'1'.repeat(dec + 1)}`, dec)).toThrow(/at most/);
    }
    expect(() => parseKzt('1.001')).toThrow(MoneyFormatError);
  });

  it('refuses non-strings and absurdly long numbers with MoneyFormatError', () => {
    expect(() => parseUnits(5 as unknown as string, 2)).toThrow(MoneyFormatError);
    expect(() => parseUnits('9'.repeat(61), 2)).toThrow(/too large/);
    expect(parseUnits('9'.repeat(60), 0)).toBe(10n ** 60n - 1n);
  });

  it('parseKzt / formatKzt: tenge with exactly two decimals out', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 16n }), (tiyn) => {
        const text = formatKzt(tiyn);
        expect(text).toMatch(/^(0|[1-9][0-9]*)\.[0-9]{2}$/);
        expect(parseKzt(text)).toBe(tiyn);
      }),
    );
    expect(parseKzt('15000')).toBe(1500000n);
    expect(parseKzt('0.5')).toBe(50n);
  });
});

describe('parseDecimal', () => {
  it.each([
    ['474.20', '474.2'],
    ['1.2e-5', '0.000012'],
    ['1.2E+3', '1200'],
    ['5e0', '5'],
    ['-2.50', '-2.5'],
    ['+3', '3'],
    ['.5', '0.5'],
    ['5.', '5'],
    ['  97123.45  ', '97123.45'],
    ['0.000', '0'],
    ['123e-2', '1.23'],
    ['0.00000001e8', '1'],
  ])('%j → %s', (text, expected) => {
    expect(decimalToString(parseDecimal(text))).toBe(expected);
  });

  it('is normalised: equal numbers are structurally equal', () => {
    expect(parseDecimal('1.500')).toEqual({ value: 15n, scale: 1 });
    expect(parseDecimal('15e-1')).toEqual({ value: 15n, scale: 1 });
    expect(parseDecimal('1500e-3')).toEqual({ value: 15n, scale: 1 });
    expect(parseDecimal('0.15e1')).toEqual({ value: 15n, scale: 1 });
  });

  it('agrees with an exact oracle for random mantissas and exponents', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 20n }),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: -30, max: 30 }),
        fc.boolean(),
        (mant, fracDigits, exp, neg) => {
          const digits = mant.toString().padStart(fracDigits + 1, '0');
          const text = `${neg ? '-' : ''}${digits.slice(0, digits.length - fracDigits)}${fracDigits ? `.${digits.slice(-fracDigits)}` : ''}e${exp}`;
          const d = parseDecimal(text);
          // value / 10^scale must equal ±mant × 10^(exp − fracDigits)
          const shift = exp - fracDigits;
          const expected: Rational =
            shift >= 0 ? { n: mant * 10n ** BigInt(shift), d: 1n } : { n: mant, d: 10n ** BigInt(-shift) };
          if (neg) expected.n = -expected.n;
          expect(cmpRat(rat(d), expected)).toBe(0);
          expect(d.scale).toBeGreaterThanOrEqual(0);
          if (d.scale > 0) expect(d.value % 10n).not.toBe(0n);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it.each(['', ' ', '.', 'e5', '1e', '1e+', 'abc', '1.2.3', '--1', '1e5.5', '0x1f', '1,5', 'NaN', '1e99999'])(
    'rejects %j with MoneyFormatError',
    (text) => {
      expect(() => parseDecimal(text)).toThrow(MoneyFormatError);
    },
  );

  it('rejects exponents beyond what exact arithmetic can hold with MoneyFormatError, not a RangeError', () => {
    expect(() => parseDecimal('1e9999')).toThrow(MoneyFormatError);
    expect(() => parseDecimal('1e-9999')).toThrow(MoneyFormatError);
  });
});

describe('decimal arithmetic', () => {
  it('mulDecimal and cmpDecimal agree with rationals', () => {
    fc.assert(
      fc.property(positiveDecimal, positiveDecimal, fc.boolean(), (a, b, neg) => {
        const a2 = neg ? { value: -a.value, scale: a.scale } : a;
        expect(cmpRat(rat(mulDecimal(a2, b)), mulRat(rat(a2), rat(b)))).toBe(0);
        expect(cmpDecimal(a2, b)).toBe(cmpRat(rat(a2), rat(b)));
        expect(cmpDecimal(normalize({ value: a.value * 1000n, scale: a.scale + 3 }), a)).toBe(0);
      }),
    );
  });

  it('floorScale rounds down to at most maxScale places, by less than one unit of the last place', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 20 }),
        (value, scale, maxScale) => {
          const d = { value, scale };
          const f = floorScale(d, maxScale);
          expect(f.scale).toBeLessThanOrEqual(maxScale);
          // f ≤ d < f + 10^-maxScale
          expect(cmpDecimal(f, d)).toBeLessThanOrEqual(0);
          const next = { value: f.value * pow10(maxScale - f.scale) + 1n, scale: maxScale };
          expect(cmpDecimal(d, next)).toBe(-1);
        },
      ),
      { numRuns: 1000 },
    );
    expect(floorScale(parseDecimal('1.23456789'), 4)).toEqual({ value: 12345n, scale: 4 });
    expect(floorScale(parseDecimal('-1.23456789'), 4)).toEqual({ value: -12346n, scale: 4 });
    expect(floorScale(parseDecimal('2.5000001'), 2)).toEqual({ value: 25n, scale: 1 });
    expect(floorScale(parseDecimal('7.1'), 3)).toEqual({ value: 71n, scale: 1 });
  });

  it('medianDecimal: the middle value, or the exact mean of the two middle values', () => {
    fc.assert(
      fc.property(fc.array(positiveDecimal, { minLength: 1, maxLength: 9 }), (values) => {
        const m = medianDecimal(values);
        const sorted = [...values].sort((x, y) => cmpRat(rat(x), rat(y)));
        const k = sorted.length;
        const expected: Rational =
          k % 2 === 1
            ? rat(sorted[(k - 1) / 2]!)
            : (() => {
                const a = rat(sorted[k / 2 - 1]!);
                const b = rat(sorted[k / 2]!);
                return { n: a.n * b.d + b.n * a.d, d: 2n * a.d * b.d };
              })();
        expect(cmpRat(rat(m), expected)).toBe(0);
        // At least half the values are ≤ m and at least half are ≥ m.
        expect(values.filter((v) => cmpDecimal(v, m) <= 0).length * 2).toBeGreaterThanOrEqual(k);
        expect(values.filter((v) => cmpDecimal(v, m) >= 0).length * 2).toBeGreaterThanOrEqual(k);
      }),
    );
    const d = (s: string) => parseDecimal(s);
    expect(decimalToString(medianDecimal([d('3'), d('1'), d('2')]))).toBe('2');
    expect(decimalToString(medianDecimal([d('1'), d('2')]))).toBe('1.5');
    expect(decimalToString(medianDecimal([d('0.01'), d('0.02')]))).toBe('0.015');
    expect(decimalToString(medianDecimal([d('474.2'), d('474.2'), d('100000')]))).toBe('474.2');
    expect(() => medianDecimal([])).toThrow(RangeError);
  });

  it('ceilDiv rounds toward +∞ for any sign of the dividend', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }),
        fc.bigInt({ min: 1n, max: 10n ** 10n }),
        (a, b) => {
          const q = ceilDiv(a, b);
          expect(q * b).toBeGreaterThanOrEqual(a);
          expect((q - 1n) * b).toBeLessThan(a);
        },
      ),
    );
    expect(() => ceilDiv(1n, 0n)).toThrow(RangeError);
    expect(() => ceilDiv(1n, -1n)).toThrow(RangeError);
  });
});

describe('quoteAtomic (SPEC 3: the merchant never receives less)', () => {
  const tiynArb = fc.bigInt({ min: 1n, max: 10n ** 13n });
  const decimalsArb = fc.constantFrom(6, 8, 18);

  it('pays at least the price, and one atomic unit less would be short (exact rationals)', () => {
    fc.assert(
      fc.property(tiynArb, positiveDecimal, decimalsArb, (tiyn, rate, decimals) => {
        const q = quoteAtomic(tiyn, rate, decimals);
        expect(q).toBeGreaterThan(0n);
        // Value in tenge of `a` atomic units: a / 10^decimals × rate; the price: tiyn / 100.
        const price: Rational = { n: tiyn, d: 100n };
        const worth = (a: bigint): Rational => mulRat({ n: a, d: 10n ** BigInt(decimals) }, rat(rate));
        expect(cmpRat(worth(q), price)).toBeGreaterThanOrEqual(0);
        expect(cmpRat(worth(q - 1n), price)).toBe(-1);
        // The same facts through atomicToTiyn (what the state machine credits a payment with).
        expect(atomicToTiyn(q, rate, decimals)).toBeGreaterThanOrEqual(tiyn);
        expect(atomicToTiyn(q - 1n, rate, decimals)).toBeLessThan(tiyn);
      }),
      { numRuns: 3000 },
    );
  });

  it('quotes the sandbox examples exactly', () => {
    const btc = parseDecimal('50000000');
    expect(quoteAtomic(parseKzt('15000.00'), btc, 8)).toBe(30000n);
    expect(quoteAtomic(parseKzt('15000.00'), parseDecimal('50000'), 8)).toBe(30000000n);
    // 1 tiyn at 50,000,000 KZT/BTC = 0.0000000002 BTC → rounds up to 1 sat.
    expect(quoteAtomic(1n, btc, 8)).toBe(1n);
    // 100 KZT at 3 KZT per unit, 0 decimals: 33.33… → 34.
    expect(quoteAtomic(10000n, parseDecimal('3'), 0)).toBe(34n);
    expect(quoteAtomic(9900n, parseDecimal('3'), 0)).toBe(33n);
  });

  it('refuses non-positive rates and amounts', () => {
    expect(() => quoteAtomic(100n, { value: 0n, scale: 0 }, 8)).toThrow(RangeError);
    expect(() => quoteAtomic(100n, { value: -5n, scale: 2 }, 8)).toThrow(RangeError);
    expect(() => quoteAtomic(0n, parseDecimal('1'), 8)).toThrow(RangeError);
    expect(() => quoteAtomic(-1n, parseDecimal('1'), 8)).toThrow(RangeError);
  });

  it('atomicToTiyn rounds the payment value down', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 24n }),
        positiveDecimal,
        decimalsArb,
        (atomic, rate, decimals) => {
          const t = atomicToTiyn(atomic, rate, decimals);
          const worthTiyn = mulRat({ n: atomic * 100n, d: 10n ** BigInt(decimals) }, rat(rate));
          expect(cmpRat({ n: t, d: 1n }, worthTiyn)).toBeLessThanOrEqual(0);
          expect(cmpRat({ n: t + 1n, d: 1n }, worthTiyn)).toBe(1);
        },
      ),
    );
  });
});

describe('tolerance', () => {
  it('minimumAccepted = due less the tolerance, never more than due, never below due × (1 − tol)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 13n }), fc.integer({ min: 0, max: 10_000 }), (due, bp) => {
        const min = minimumAccepted(due, bp);
        expect(min).toBeLessThanOrEqual(due);
        // min ≥ due × (10000 − bp) / 10000, and less than one tiyn above it
        const exact: Rational = { n: due * BigInt(10_000 - bp), d: 10_000n };
        expect(cmpRat({ n: min, d: 1n }, exact)).toBeGreaterThanOrEqual(0);
        expect(cmpRat({ n: min - 1n, d: 1n }, exact)).toBe(-1);
      }),
    );
    expect(minimumAccepted(1500000n, 0)).toBe(1500000n);
    expect(minimumAccepted(1500000n, 100)).toBe(1485000n);
    expect(minimumAccepted(10000n, 50)).toBe(9950n);
    expect(minimumAccepted(199n, 100)).toBe(198n); // 1.99 tiyn of tolerance rounds down to 1
  });

  it('percentToBasisPoints', () => {
    expect(percentToBasisPoints('0')).toBe(0);
    expect(percentToBasisPoints('0.5')).toBe(50);
    expect(percentToBasisPoints('1')).toBe(100);
    expect(percentToBasisPoints('100')).toBe(10_000);
    expect(() => percentToBasisPoints('100.01')).toThrow(MoneyFormatError);
    expect(() => percentToBasisPoints('0.123')).toThrow(MoneyFormatError);
    expect(() => percentToBasisPoints('-1')).toThrow(MoneyFormatError);
  });
});
