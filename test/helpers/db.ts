// A fresh database per test file. With DATABASE_URL (CI, real PostgreSQL): a new database on that
// server, dropped afterwards. Without it (the embedded default): a copy of a migrated PGlite data
// directory that global-setup.ts prepared once, reopened in well under a second.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { EMBEDDED_POOL_MAX } from '../../src/boot';
import { createSql, type Sql } from '../../src/db/client';
import { startEmbeddedDatabase } from '../../src/db/embedded';
import { migrate } from '../../src/db/migrate';

export interface TestDatabase {
  readonly sql: Sql;
  readonly url: string;
  close(): Promise<void>;
}

export const usingRealPostgres = (): boolean => Boolean(process.env.DATABASE_URL);

/**
 * A new, empty database on the PostgreSQL server of `adminUrl` (nothing migrated), for a process the
 * test starts itself; the server's own databases are never written to.
 */
export async function emptyDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `alatau_t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
      await admin.end({ timeout: 5 });
    },
  };
}

export async function freshDatabase(opts: { max?: number } = {}): Promise<TestDatabase> {
  const max = opts.max ?? 10;
  const adminUrl = process.env.DATABASE_URL;
  if (adminUrl) {
    const empty = await emptyDatabase(adminUrl);
    const sql = createSql(empty.url, { max });
    await migrate(sql);
    return {
      sql,
      url: empty.url,
      async close() {
        await sql.end({ timeout: 5 });
        await empty.drop();
      },
    };
  }
  const template = process.env.ALATAU_PGLITE_TEMPLATE;
  const dir = mkdtempSync(join(tmpdir(), 'alatau-pglite-'));
  if (template) cpSync(template, join(dir, 'pg'), { recursive: true });
  // See EMBEDDED_POOL_MAX: one connection is what the embedded database supports correctly.
  const db = await startEmbeddedDatabase({ dataDir: dir, maxConnections: EMBEDDED_POOL_MAX + 2 });
  const sql = createSql(db.url, { max: EMBEDDED_POOL_MAX });
  await migrate(sql);
  return {
    sql,
    url: db.url,
    async close() {
      await sql.end({ timeout: 5 });
      await db.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A second client on a test database that records the text of every statement it sends. */
export function recordingClient(url: string, max = 2): { sql: Sql; statements: string[] } {
  const statements: string[] = [];
  const sql = createSql(url, { max, onStatement: (s) => void statements.push(s) });
  return { sql, statements };
}
