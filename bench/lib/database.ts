// A throwaway database for a bench: a new database on PostgreSQL (DATABASE_URL, else the local
// server), dropped afterwards; with no PostgreSQL reachable, an embedded PGlite in a temp directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { startEmbeddedDatabase } from '../../src/db/embedded';

export const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  readonly url: string;
  readonly kind: 'postgresql' | 'embedded';
  /** `PostgreSQL 15.20 …` or `PGlite (PostgreSQL 18 in WASM)`. */
  readonly server: string;
  /** Why the embedded database is used, when it is. */
  readonly note?: string;
  close(): Promise<void>;
}

export async function openBenchDatabase(opts: { maxConnections: number }): Promise<BenchDatabase> {
  const adminUrl = process.env.DATABASE_URL || DEFAULT_ADMIN_URL;
  const admin = postgres(adminUrl, { max: 1, connect_timeout: 3, onnotice: () => {} });
  let version: string;
  try {
    const [row] = await admin<{ version: string }[]>`select version()`;
    version = row!.version;
  } catch (err) {
    await admin.end({ timeout: 1 }).catch(() => {});
    const why = err instanceof Error ? err.message : String(err);
    return openEmbedded(opts.maxConnections, `no PostgreSQL reachable at ${redactUrl(adminUrl)} (${why})`);
  }
  const name = `bench_${Math.random().toString(36).slice(2, 10)}`;
  await admin.unsafe(`create database ${name}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    kind: 'postgresql',
    server: version.split(' on ')[0]!,
    async close() {
      await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
      await admin.end({ timeout: 5 });
    },
  };
}

async function openEmbedded(maxConnections: number, note: string): Promise<BenchDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'alatau-bench-'));
  const db = await startEmbeddedDatabase({ dataDir: dir, maxConnections });
  return {
    url: db.url,
    kind: 'embedded',
    server: 'PGlite (PostgreSQL 18 in WASM, one connection at a time)',
    note: `embedded PGlite: ${note}`,
    async close() {
      await db.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'DATABASE_URL';
  }
}
