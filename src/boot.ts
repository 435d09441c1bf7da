// Shared start-up for the Node entry, the CLI and tests: the database (embedded unless
// DATABASE_URL is set), migrations, services.
import type { Config } from './config';
import { createSql, type Sql } from './db/client';
import { type EmbeddedDatabase, startEmbeddedDatabase } from './db/embedded';
import { migrate } from './db/migrate';

/**
 * PGlite is a single session, and pglite-socket interleaves the extended-protocol messages of
 * different client connections, so two connections can clobber each other's unnamed portal and
 * prepared statements. One connection (postgres.js pipelines queries over it) is correct; the
 * embedded database is for development, where its throughput is plenty.
 */
export const EMBEDDED_POOL_MAX = 1;

export interface Database {
  readonly sql: Sql;
  readonly url: string;
  readonly embedded: boolean;
  close(): Promise<void>;
}

export async function openDatabase(config: Config, opts: { migrate?: boolean } = {}): Promise<Database> {
  let embedded: EmbeddedDatabase | undefined;
  let url = config.DATABASE_URL;
  if (!url) {
    embedded = await startEmbeddedDatabase({
      dataDir: config.DATA_DIR,
      maxConnections: config.DATABASE_POOL_MAX + 2,
    });
    url = embedded.url;
  }
  const sql = createSql(url, { max: embedded ? EMBEDDED_POOL_MAX : config.DATABASE_POOL_MAX });
  try {
    if (opts.migrate !== false) await migrate(sql);
  } catch (err) {
    await sql.end({ timeout: 1 });
    await embedded?.stop();
    throw err;
  }
  return {
    sql,
    url,
    embedded: embedded !== undefined,
    async close() {
      await sql.end({ timeout: 5 });
      await embedded?.stop();
    },
  };
}
