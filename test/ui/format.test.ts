// The shared number rules (src/ui/i18n/format.ts) against Node's full ICU: the page script uses them in
// browsers that lack Kazakh number data, so they must write exactly what ICU writes on the server.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDecimal, formatTenge, groupDigits, subtractTenge } from '../../src/ui/i18n/format';

const LOCALES = { kk: 'kk-KZ', ru: 'ru-RU', en: 'en-GB' } as const;
const icu = (lang: keyof typeof LOCALES, amount: string) =>
  new Intl.NumberFormat(LOCALES[lang], {
    style: 'currency',
    currency: 'KZT',
    currencyDisplay: 'narrowSymbol',
  }).format(amount as unknown as number);

describe('tenge as each language writes it', () => {
  it('matches ICU for the amounts a checkout shows', () => {
    for (const lang of ['kk', 'ru', 'en'] as const) {
      for (const a of ['0.00', '0.01', '5.5', '999.99', '1000', '15000.00', '1234567.50', '10000000']) {
        expect(formatTenge(lang, a)).toBe(icu(lang, a));
      }
    }
    expect(formatTenge('kk', '15000.00')).toBe('15\u00a0000,00\u00a0₸');
    expect(formatTenge('en', '15000.00')).toBe('₸15,000.00');
  });

  it('matches ICU for any decimal string, rounding included', () => {
    const decimal = fc
      .tuple(
        fc.boolean(),
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 4 }),
      )
      .map(([neg, whole, frac]) => `${neg ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`);
    fc.assert(
      fc.property(
        decimal,
        fc.constantFrom('kk', 'ru', 'en') as fc.Arbitrary<'kk' | 'ru' | 'en'>,
        (a, lang) => {
          expect(formatTenge(lang, a)).toBe(icu(lang, a));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('groups plain numbers and subtracts exactly', () => {
    expect(groupDigits('en', '50000000')).toBe('50,000,000');
    expect(groupDigits('ru', '1234')).toBe('1\u00a0234');
    expect(formatDecimal('en', '6000000.00')).toBe('6,000,000.00');
    expect(subtractTenge('15500.50', '15000.00')).toBe('500.50');
    expect(subtractTenge('0.10', '0.25')).toBe('-0.15');
  });

  it('leaves anything that is not a decimal string visible as it came', () => {
    expect(formatTenge('en', 'abc')).toBe('abc ₸');
    expect(formatDecimal('en', '1e5')).toBe('1e5');
  });
});
