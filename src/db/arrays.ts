// PostgreSQL's built-in array types, registered on a client without asking the server. postgres.js
// otherwise reads them from pg_type (fetch_types) on every new connection: one more round trip per
// connection, which on Workers, with a fresh client per request, means every request.
import type { Sql } from './client';

/** Element type oid → its array type oid: fixed in pg_type since PostgreSQL 8 (the same on 15 and 18). */
export const BUILTIN_ARRAY_TYPES: readonly (readonly [element: number, array: number])[] = [
  [16, 1000], // bool
  [17, 1001], // bytea
  [20, 1016], // int8
  [21, 1005], // int2
  [23, 1007], // int4
  [25, 1009], // text
  [26, 1028], // oid
  [114, 199], // json
  [700, 1021], // float4
  [701, 1022], // float8
  [1043, 1015], // varchar
  [1082, 1182], // date
  [1114, 1115], // timestamp
  [1184, 1185], // timestamptz
  [1700, 1231], // numeric
  [2950, 2951], // uuid
  [3802, 3807], // jsonb
];

type Parse = (text: string) => unknown;
type Serialize = (value: unknown) => unknown;

/** The parts of postgres.js's parsed options that its own type lookup fills in. */
interface TypeTables {
  parsers: Record<number, Parse | undefined>;
  serializers: Record<number, Serialize | undefined>;
  shared: { typeArrayMap: Record<number, number> };
}

/**
 * Does for the built-in types what postgres.js's fetch_types does after its pg_type query: parse
 * array columns into arrays of parsed elements, and send `sql.array(...)` as the matching array type.
 */
export function registerBuiltinArrayTypes(sql: Sql): void {
  const tables = sql.options as unknown as TypeTables;
  for (const [element, array] of BUILTIN_ARRAY_TYPES) {
    const parseElement = tables.parsers[element];
    tables.shared.typeArrayMap[element] = array;
    tables.parsers[array] = (text) => parseArrayLiteral(text, parseElement);
    tables.serializers[array] = (value) => serializeArray(value, tables.serializers[element]);
  }
}

/** `{a,"b c",NULL,{1,2}}` → ['a', 'b c', null, ['1', '2']], each element through `parse`. */
export function parseArrayLiteral(text: string, parse?: Parse): unknown[] {
  // An array with explicit bounds starts with them: [0:1]={a,b}.
  let i = text.startsWith('[') ? text.indexOf('=') + 1 : 0;
  if (text[i] !== '{') throw new TypeError('not an array literal');

  function list(): unknown[] {
    const out: unknown[] = [];
    i++; // past '{'
    if (text[i] === '}') {
      i++;
      return out;
    }
    for (;;) {
      if (text[i] === '{') {
        out.push(list());
      } else if (text[i] === '"') {
        let s = '';
        for (i++; text[i] !== '"'; i++) {
          if (i >= text.length) throw new TypeError('unterminated array element');
          if (text[i] === '\\') i++;
          s += text[i];
        }
        i++;
        out.push(parse ? parse(s) : s);
      } else {
        const start = i;
        while (i < text.length && text[i] !== ',' && text[i] !== '}') i++;
        const raw = text.slice(start, i);
        out.push(raw === 'NULL' ? null : parse ? parse(raw) : raw);
      }
      if (text[i] === ',') i++;
      else if (text[i] === '}') {
        i++;
        return out;
      } else throw new TypeError('malformed array literal');
    }
  }
  return list();
}

/** The inverse, as postgres.js writes it: every element quoted, so commas and braces stay inside. */
export function serializeArray(value: unknown, serialize?: Serialize): unknown {
  if (!Array.isArray(value)) return value;
  const items = value.map((x: unknown): string => {
    if (Array.isArray(x)) return String(serializeArray(x, serialize));
    if (x === null) return 'NULL';
    if (x === undefined) throw new TypeError('undefined in an array parameter');
    const text = String(serialize ? serialize(x) : x);
    return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  });
  return `{${items.join(',')}}`;
}
