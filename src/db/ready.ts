// /readyz's check, apart from migrate.ts so that the Workers bundle never reaches node:fs.
import type { Queryable } from './client';
import { LATEST_MIGRATION } from './version';

/** For /readyz: the database answers and has every migration this code expects. */
export async function schemaReady(sql: Queryable): Promise<boolean> {
  const [row] = await sql<{ max: number | null }[]>`
    select (select max(id) from schema_migrations) as max`.catch(() => [{ max: null }]);
  return row?.max != null && Number(row.max) >= LATEST_MIGRATION;
}
