import { describe, expect, it } from 'vitest';
import { parseJsonExact } from '../../src/rates/json';

describe('parseJsonExact', () => {
  it('keeps every number as the text it was written with', () => {
    expect(parseJsonExact('{"a":97123.456789012345,"b":[1e-7,-0.5,0,12E+3],"c":true,"d":null}')).toEqual({
      a: '97123.456789012345',
      b: ['1e-7', '-0.5', '0', '12E+3'],
      c: true,
      d: null,
    });
  });

  it('leaves digits inside strings alone, escaped quotes included', () => {
    expect(parseJsonExact('{"k\\"1":"12.5 \\" 7","n":3}')).toEqual({ 'k"1': '12.5 " 7', n: '3' });
  });

  it('rejects what JSON.parse rejects', () => {
    expect(() => parseJsonExact('{"a":01}')).toThrow(SyntaxError);
    expect(() => parseJsonExact('{"a":-}')).toThrow(SyntaxError);
    expect(() => parseJsonExact('{"a":1')).toThrow(SyntaxError);
    expect(() => parseJsonExact('<html>')).toThrow(SyntaxError);
  });
});
