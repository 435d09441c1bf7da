// Shared start-up for the Node entry, the CLI and tests: the database (embedded unless
// DATABASE_URL is set), migrations, services.
import type { Config } from './config';
import { createSql, type Sql } from './db/client';
import { type EmbeddedDatabase, findRunningDatabase, startEmbeddedDatabase } from './db/embedded';
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
  /** The pid of the process whose embedded database this is (`share`), when not this one. */
  readonly sharedFrom?: number;
  /**
   * Set when this process's embedded database is served on a loopback port, which any local user can
   * reach, instead of its owner-only socket: why, for the start output.
   */
  readonly onTcpBecause?: string;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  readonly migrate?: boolean;
  /**
   * Use the embedded database that another live process (the gateway) already serves for DATA_DIR,
   * through its socket, instead of failing because the directory is open there (the CLI).
   */
  readonly share?: boolean;
}

export async function openDatabase(config: Config, opts: OpenDatabaseOptions = {}): Promise<Database> {
  let embedded: EmbeddedDatabase | undefined;
  let url = config.DATABASE_URL;
  let sharedFrom: number | undefined;
  if (!url && opts.share) {
    const running = await findRunningDatabase(config.DATA_DIR);
    if (running) {
      url = running.url;
      sharedFrom = running.pid;
    }
  }
  if (!url) {
    embedded = await startEmbeddedDatabase({
      dataDir: config.DATA_DIR,
      maxConnections: config.DATABASE_POOL_MAX + 2,
    });
    url = embedded.url;
  }
  const onEmbedded = embedded !== undefined || sharedFrom !== undefined;
  const sql = createSql(url, { max: onEmbedded ? EMBEDDED_POOL_MAX : config.DATABASE_POOL_MAX });
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
    embedded: onEmbedded,
    ...(sharedFrom !== undefined ? { sharedFrom } : {}),
    ...(embedded && 'port' in embedded.address ? { onTcpBecause: embedded.address.reason } : {}),
    async close() {
      await sql.end({ timeout: 5 });
      await embedded?.stop();
    },
  };
}
