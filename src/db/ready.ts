// /readyz's check, apart from migrate.ts so that the Workers bundle never reaches node:fs.
import type { Queryable } from './client';
import { LATEST_MIGRATION } from './version';

/**
 * For /readyz: the database answers within `timeoutMs` and has every migration this code expects.
 * The bound matters: with the server refusing connections, postgres.js keeps reconnecting and a
 * query waits instead of failing, so "down" would otherwise be no answer at all.
 */
export async function schemaReady(sql: Queryable, timeoutMs = 2_000): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((r) => {
    timer = setTimeout(() => r(null), timeoutMs);
  });
  const row = await Promise.race([
    sql<{ max: number | null }[]>`select (select max(id) from schema_migrations) as max`.then(
      (rows) => rows[0] ?? null,
      () => null,
    ),
    late,
  ]);
  clearTimeout(timer);
  return row?.max != null && Number(row.max) >= LATEST_MIGRATION;
}
