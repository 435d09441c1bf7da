import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type IdPrefix, isId, newId, randomHex } from '../../src/lib/ids';

const PREFIXES: IdPrefix[] = [
  'inv',
  'pay',
  'mer',
  'key',
  'evt',
  'req',
  'whk',
  'dlv',
  'case',
  'rep',
  'reg',
  'usr',
];
const CROCKFORD = /^[0-9a-hjkmnp-tv-z]+$/;

describe('newId', () => {
  it('is the prefix, an underscore and 26 Crockford base32 characters', () => {
    for (const prefix of PREFIXES) {
      const id = newId(prefix);
      expect(id.startsWith(`${prefix}_`)).toBe(true);
      const body = id.slice(prefix.length + 1);
      expect(body).toHaveLength(26);
      expect(body).toMatch(CROCKFORD);
      expect(isId(prefix, id)).toBe(true);
    }
  });

  it('sorts by creation time: a later millisecond always sorts after, whatever the random part', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 47 }), fc.integer({ min: 1, max: 2 ** 40 }), (t, dt) => {
        const a = newId('inv', t);
        const b = newId('inv', t + dt);
        expect(a < b).toBe(true);
      }),
      { numRuns: 2000 },
    );
    // Adjacent milliseconds too, around a boundary of the base32 digits.
    expect(newId('inv', 31) < newId('inv', 32)).toBe(true);
    expect(newId('inv', 1_700_000_000_000) < newId('inv', 1_700_000_000_001)).toBe(true);
  });

  it('encodes the time in the first 10 characters, so ids of one millisecond share them', () => {
    const t = Date.UTC(2026, 0, 1);
    const a = newId('inv', t).slice(4, 14);
    const b = newId('inv', t).slice(4, 14);
    expect(a).toBe(b);
    expect(newId('inv', t + 1).slice(4, 14)).not.toBe(a);
    // Ids sort like their time in the database too (text comparison, byte order).
    expect(
      [newId('inv', t + 2), newId('inv', t), newId('inv', t + 1)].sort().map((x) => x.slice(4, 14)),
    ).toEqual([
      newId('inv', t).slice(4, 14),
      newId('inv', t + 1).slice(4, 14),
      newId('inv', t + 2).slice(4, 14),
    ]);
  });

  it('has 80 unguessable bits: 16 random characters that differ within one millisecond', () => {
    const t = Date.now();
    const seen = new Set<string>();
    const perPosition = Array.from({ length: 16 }, () => new Set<string>());
    for (let i = 0; i < 2000; i++) {
      const rand = newId('inv', t).slice(14);
      expect(rand).toHaveLength(16);
      seen.add(rand);
      for (let j = 0; j < 16; j++) perPosition[j]!.add(rand[j]!);
    }
    expect(seen.size).toBe(2000);
    // Every position takes (nearly) all 32 symbols: no fixed or low-entropy characters.
    for (const s of perPosition) expect(s.size).toBe(32);
  });
});

describe('isId', () => {
  const good = newId('inv');
  it.each([
    ['another prefix', newId('pay')],
    ['upper case', good.toUpperCase()],
    ['too short', good.slice(0, -1)],
    ['too long', `${good}0`],
    ['an excluded letter (i)', `${good.slice(0, -1)}i`],
    ['an excluded letter (l)', `${good.slice(0, -1)}l`],
    ['an excluded letter (o)', `${good.slice(0, -1)}o`],
    ['an excluded letter (u)', `${good.slice(0, -1)}u`],
    ['no underscore', good.replace('_', '')],
    ['a SQL fragment', "inv_' or 1=1 --"],
    ['empty', ''],
    ['a prefix only', 'inv_'],
  ])('refuses %s', (_what, id) => {
    expect(isId('inv', id)).toBe(false);
  });

  it('accepts only its own prefix', () => {
    const c = newId('case');
    expect(isId('case', c)).toBe(true);
    expect(isId('inv', c)).toBe(false);
    expect(isId('inv', good)).toBe(true);
  });
});

describe('randomHex', () => {
  it('gives 2 hex characters per byte, different every time', () => {
    const a = randomHex(32);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(randomHex(32)).not.toBe(a);
    expect(randomHex(0)).toBe('');
  });
});
