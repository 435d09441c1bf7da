// Without fetch_types (Workers: one client per request) array columns must still come back as arrays
// and array parameters still go out as arrays, with no pg_type lookup on the wire.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArrayLiteral, serializeArray } from '../../src/db/arrays';
import { createSql, type Sql } from '../../src/db/client';
import { freshDatabase, type TestDatabase } from '../helpers/db';

let db: TestDatabase;
let sql: Sql;
const statements: string[] = [];
beforeAll(async () => {
  db = await freshDatabase();
  sql = createSql(db.url, { max: 1, fetchTypes: false, onStatement: (s) => void statements.push(s) });
});
afterAll(async () => {
  await sql.end({ timeout: 5 });
  await db.close();
});

const awkward = ['plain', 'with space', 'a,b', '{brace}', 'quote"d', 'back\\slash', '', 'NULL', 'тенге'];

describe('built-in array types without fetch_types', () => {
  it('reads text[], int8[] (as bigint), int4[], bool[] and jsonb[] columns as arrays', async () => {
    const [row] = await sql<{ t: unknown; b: unknown; i: unknown; f: unknown; j: unknown; e: unknown }[]>`
      select ${sql.array(awkward)}::text[] as t,
             array[1, 9007199254740993]::int8[] as b,
             array[1, null, 3]::int4[] as i,
             array[true, false]::bool[] as f,
             array['{"k":1}'::jsonb] as j,
             '{}'::text[] as e`;
    expect(row?.t).toEqual(awkward);
    expect(row?.b).toEqual([1n, 9007199254740993n]);
    expect(row?.i).toEqual([1, null, 3]);
    expect(row?.f).toEqual([true, false]);
    expect(row?.j).toEqual([{ k: 1 }]);
    expect(row?.e).toEqual([]);
  });

  it('sends sql.array() parameters as arrays (any, unnest, insert into a text[] column)', async () => {
    await sql`create table arr_t (id int primary key, tags text[] not null)`;
    await sql`insert into arr_t values (1, ${sql.array(awkward)}), (2, ${sql.array(['x'])})`;
    const hits = await sql<{ id: number }[]>`
      select id from arr_t where 'a,b' = any(tags) and id = any(${sql.array([1, 2])}::int[])`;
    expect(hits.map((h) => h.id)).toEqual([1]);
    const pairs = await sql<{ a: string; n: number }[]>`
      select a, n from unnest(${sql.array(['p', 'q'])}::text[], ${sql.array([5, 6])}::int[]) as x(a, n)`;
    expect(pairs).toEqual([
      { a: 'p', n: 5 },
      { a: 'q', n: 6 },
    ]);
    const [back] = await sql<{ tags: string[] }[]>`select tags from arr_t where id = 1`;
    expect(back?.tags).toEqual(awkward);
  });

  it('never asks pg_type', () => {
    expect(statements.length).toBeGreaterThan(0);
    expect(statements.some((s) => s.includes('pg_type'))).toBe(false);
  });
});

describe('the array literal codec', () => {
  it('round-trips nested arrays, NULLs and explicit bounds', () => {
    expect(parseArrayLiteral('{{1,2},{3,NULL}}', Number)).toEqual([
      [1, 2],
      [3, null],
    ]);
    expect(parseArrayLiteral('[0:1]={a,b}')).toEqual(['a', 'b']);
    expect(parseArrayLiteral(String(serializeArray(awkward)))).toEqual(awkward);
    expect(serializeArray([null, 'x'])).toBe('{NULL,"x"}');
  });

  it('refuses malformed literals instead of guessing', () => {
    expect(() => parseArrayLiteral('a,b')).toThrow(TypeError);
    expect(() => parseArrayLiteral('{"open')).toThrow(TypeError);
  });
});
