import { describe, expect, it } from 'vitest';
import { timingSafeEqual, timingSafeEqualString } from '../../src/lib/ct';

const bytes = (...values: number[]) => Uint8Array.from(values);

describe('timingSafeEqual', () => {
  it('is true for equal bytes, including empty arrays', () => {
    expect(timingSafeEqual(bytes(1, 2, 3), bytes(1, 2, 3))).toBe(true);
    expect(timingSafeEqual(bytes(), bytes())).toBe(true);
  });

  it('is false when any byte differs, first, middle or last', () => {
    expect(timingSafeEqual(bytes(9, 2, 3), bytes(1, 2, 3))).toBe(false);
    expect(timingSafeEqual(bytes(1, 9, 3), bytes(1, 2, 3))).toBe(false);
    expect(timingSafeEqual(bytes(1, 2, 9), bytes(1, 2, 3))).toBe(false);
  });

  it('is false on a length mismatch, even when one is a prefix or zero-padded copy of the other', () => {
    expect(timingSafeEqual(bytes(1, 2), bytes(1, 2, 3))).toBe(false);
    expect(timingSafeEqual(bytes(1, 2, 3), bytes(1, 2))).toBe(false);
    expect(timingSafeEqual(bytes(1, 2, 0), bytes(1, 2))).toBe(false);
    expect(timingSafeEqual(bytes(), bytes(0))).toBe(false);
  });

  it('agrees with a plain comparison on random inputs', () => {
    for (let i = 0; i < 200; i++) {
      const a = crypto.getRandomValues(new Uint8Array(i % 5));
      const b = i % 3 === 0 ? a.slice() : crypto.getRandomValues(new Uint8Array(i % 4));
      const expected = a.length === b.length && a.every((value, index) => value === b[index]);
      expect(timingSafeEqual(a, b)).toBe(expected);
    }
  });
});

describe('timingSafeEqualString', () => {
  it('compares the UTF-8 encodings', () => {
    expect(timingSafeEqualString('sk_live_abc', 'sk_live_abc')).toBe(true);
    expect(timingSafeEqualString('sk_live_abc', 'sk_live_abd')).toBe(false);
    expect(timingSafeEqualString('', '')).toBe(true);
    expect(timingSafeEqualString('', 'a')).toBe(false);
    expect(timingSafeEqualString('тенге', 'тенге')).toBe(true);
    // Same UTF-16 length, different UTF-8 bytes.
    expect(timingSafeEqualString('é', 'e')).toBe(false);
  });
});
