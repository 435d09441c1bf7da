// The checkout's languages: the pick from ?lang and Accept-Language, the same keys in every language,
// tenge as each locale writes it, and status words that never hint at compliance.
import { describe, expect, it } from 'vitest';
import { fill, formatCountdown, formatTenge, LANGS, messagesFor, pickLang } from '../../src/ui/i18n';
import { en } from '../../src/ui/i18n/en';

const flat = (o: unknown, prefix = ''): Record<string, string> =>
  Object.entries(o as Record<string, unknown>).reduce<Record<string, string>>((acc, [k, v]) => {
    if (typeof v === 'string') acc[prefix + k] = v;
    else Object.assign(acc, flat(v, `${prefix}${k}.`));
    return acc;
  }, {});

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('pickLang', () => {
  it('takes ?lang when it is one of ours', () => {
    expect(pickLang('en', 'ru-RU,ru;q=0.9')).toBe('en');
    expect(pickLang('kk', undefined)).toBe('kk');
  });
  it('falls back to Accept-Language by q-value and primary subtag', () => {
    expect(pickLang('de', 'ru-KZ,ru;q=0.9,en;q=0.8')).toBe('ru');
    expect(pickLang(undefined, 'de-DE,de;q=0.9,en-US;q=0.8,kk;q=0.85')).toBe('kk');
    expect(pickLang(undefined, 'fr, en;q=0.1')).toBe('en');
    expect(pickLang(undefined, 'ru;q=0, en;q=0.5')).toBe('en');
  });
  it('is Kazakh when nothing matches', () => {
    expect(pickLang(undefined, undefined)).toBe('kk');
    expect(pickLang('xx', 'de, fr;q=0.5')).toBe('kk');
  });
});

describe('messages', () => {
  const base = flat(en);
  for (const lang of LANGS) {
    it(`${lang} has every key, written out, with the same placeholders`, () => {
      const m = flat(messagesFor(lang));
      expect(Object.keys(m).sort()).toEqual(Object.keys(base).sort());
      for (const [k, v] of Object.entries(m)) {
        expect(v.trim(), k).not.toBe('');
        expect(placeholders(v), k).toEqual(placeholders(base[k]!));
      }
    });
  }
  it('kk and ru are translations, not copies of the English', () => {
    const e = flat(en);
    for (const lang of ['kk', 'ru'] as const) {
      const m = flat(messagesFor(lang));
      const same = Object.keys(m).filter((k) => k !== 'locale' && m[k] === e[k]);
      expect(same, lang).toEqual([]);
      expect(m['status.waiting']).toMatch(/[\u0400-\u04ff]/);
    }
    // Letters only Kazakh has.
    expect(Object.values(flat(messagesFor('kk'))).join(' ')).toMatch(/[әғқңөұүһі]/);
  });
  it('never says why a payment is being checked (no tipping-off)', () => {
    const words = new RegExp(
      [
        ...['\\baml\\b', 'sanction', 'compliance', 'regulat', '\\breports?\\b', '\\bafm\\b'],
        ...['санкц', 'отч[её]т', 'монитор', 'регулят', 'агентств', 'есеп беру'],
      ].join('|'),
      'i',
    );
    for (const lang of LANGS) {
      for (const [k, v] of Object.entries(flat(messagesFor(lang))))
        expect(v, `${lang}.${k}`).not.toMatch(words);
    }
  });
});

describe('formatTenge', () => {
  const nbsp = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');
  it('writes tenge as each locale does, exactly, from a decimal string', () => {
    expect(nbsp(formatTenge('kk', '15000.00'))).toBe('15 000,00 ₸');
    expect(nbsp(formatTenge('ru', '15000.00'))).toBe('15 000,00 ₸');
    expect(formatTenge('en', '15000.00')).toBe('₸15,000.00');
    // Beyond a double's 15-16 significant digits: still exact (a float would round the tiyn away).
    expect(nbsp(formatTenge('ru', '12345678901234567.05'))).toBe('12 345 678 901 234 567,05 ₸');
  });
});

describe('fill and formatCountdown', () => {
  it('fills placeholders and leaves unknown ones visible', () => {
    expect(fill('{n} of {m}, {x}', { n: 1, m: 6 })).toBe('1 of 6, {x}');
  });
  it('counts down in mm:ss, h:mm:ss from an hour, never below zero', () => {
    expect(formatCountdown(14 * 60_000 + 59_999)).toBe('14:59');
    expect(formatCountdown(3_600_000 + 61_000)).toBe('1:01:01');
    expect(formatCountdown(-5000)).toBe('00:00');
  });
});
