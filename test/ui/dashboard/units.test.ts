// Small pure pieces of the dashboard: CSV fields, the tenge people type, the chart's scale and bars.
import { describe, expect, it } from 'vitest';
import { csvField, csvRow } from '../../../src/dashboard/csv';
import { normalizeTenge } from '../../../src/dashboard/forms';
import { almatyDay } from '../../../src/dashboard/queries';
import { niceCeilTiyn, volumeChartSvg } from '../../../src/ui/dashboard/chart';

describe('csvField', () => {
  it('quotes what needs quoting and neutralises spreadsheet formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('=1+1')).toBe("'=1+1");
    expect(csvField('+7 701 000')).toBe("'+7 701 000");
    expect(csvField('-2')).toBe("'-2");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField(null)).toBe('');
    expect(csvField(12345678901234567890n)).toBe('12345678901234567890');
    expect(csvRow(['Кофе', 'x'])).toBe('Кофе,x\r\n');
  });
});

describe('normalizeTenge', () => {
  it('reads what people type in Kazakhstan and elsewhere', () => {
    expect(normalizeTenge('15 000,50')).toBe('15000.50');
    expect(normalizeTenge('15\u00a0000,5 ₸')).toBe('15000.5');
    expect(normalizeTenge('15,000.50')).toBe('15000.50');
    expect(normalizeTenge('1,234,567')).toBe('1234567');
    expect(normalizeTenge('15000 KZT')).toBe('15000');
    // Ambiguous or wrong: left as typed for the validator to name.
    expect(normalizeTenge('12,3,4')).toBe('12,3,4');
    expect(normalizeTenge('1,2345')).toBe('1,2345');
  });
});

describe('the volume chart', () => {
  it('rounds the axis up to 1, 2 or 5 times a power of ten (in whole tenge)', () => {
    expect(niceCeilTiyn(0n)).toBe(100n);
    expect(niceCeilTiyn(150n)).toBe(200n);
    expect(niceCeilTiyn(1_500_000n)).toBe(2_000_000n);
    expect(niceCeilTiyn(5_000_000n)).toBe(5_000_000n);
    expect(niceCeilTiyn(5_000_001n)).toBe(10_000_000n);
  });
  it('draws one bar per day, heights in proportion, from bigint tiyn', () => {
    const days = [
      { day: '2026-03-01', tiyn: 0n, payments: 0 },
      { day: '2026-03-02', tiyn: 1_000_000n, payments: 1 },
      { day: '2026-03-03', tiyn: 2_000_000n, payments: 3 },
    ];
    const svg = volumeChartSvg(days);
    const heights = [...svg.matchAll(/<rect class="bar"[^>]* height="(\d+)"/g)].map((m) => Number(m[1]));
    expect(heights).toHaveLength(3);
    expect(heights[0]).toBe(0);
    expect(heights[2]).toBe(2 * heights[1]!);
    expect(svg).toContain('<title>2026-03-03: ₸20,000.00 (3 payments)</title>');
    expect(svg).toContain('role="img"');
  });
  it('names days in Almaty time', () => {
    // 20:00 UTC is already the next day in Almaty (UTC+5).
    expect(almatyDay(new Date('2026-03-01T20:00:00Z'))).toBe('2026-03-02');
    expect(almatyDay(new Date('2026-03-01T18:59:59Z'))).toBe('2026-03-01');
  });
});
