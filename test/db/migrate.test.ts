import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, MIGRATIONS_DIR, migrate, schemaReady } from '../../src/db/migrate';
import { LATEST_MIGRATION } from '../../src/db/version';
import { freshDatabase, type TestDatabase } from '../helpers/db';

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(() => db.close());

describe('migrations', () => {
  it('LATEST_MIGRATION is the newest migration file (Workers read it instead of the folder)', () => {
    const ids = readdirSync(MIGRATIONS_DIR)
      .filter((f) => f.endsWith('.sql'))
      .map((f) => Number(f.slice(0, 4)));
    expect(Math.max(...ids)).toBe(LATEST_MIGRATION);
  });

  it('is ready after migrating and applies nothing twice, even when run concurrently', async () => {
    expect(await schemaReady(db.sql)).toBe(true);
    const again = await Promise.all([migrate(db.sql), migrate(db.sql)]);
    expect(again).toEqual([[], []]);
    const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from schema_migrations`;
    const n = row?.n;
    expect(n).toBe(loadMigrations().length);
  });

  it('refuses a migration that was edited after it was applied', async () => {
    const edited = loadMigrations().map((m, i) => (i === 0 ? { ...m, checksum: 'f'.repeat(64) } : m));
    await expect(migrate(db.sql, edited)).rejects.toThrow(/changed after it was applied/);
  });

  it('reports not ready when the schema is behind the code', async () => {
    await db.sql`delete from schema_migrations where id = ${LATEST_MIGRATION}`;
    expect(await schemaReady(db.sql)).toBe(false);
    await db.sql`insert into schema_migrations (id, name, checksum) values (${LATEST_MIGRATION}, 'x', 'y')`;
    expect(await schemaReady(db.sql)).toBe(true);
  });
});
