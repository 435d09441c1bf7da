// Numbered SQL migrations (src/db/migrations/NNNN_name.sql), applied in one transaction under an
// advisory lock, so several processes starting at once apply each migration exactly once.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import type { Sql } from './client';

const MIGRATION_LOCK = 7_411_001;
export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

export interface Migration {
  readonly id: number;
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^[0-9]{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => {
      const sql = readFileSync(join(dir, file), 'utf8');
      return {
        id: Number(file.slice(0, 4)),
        name: file.slice(5, -4),
        sql,
        checksum: bytesToHex(sha256(utf8ToBytes(sql))),
      };
    });
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
  readonly code = 'migration_failed';
}

/** Applies every pending migration; returns the ids applied now. Refuses edited, already-applied files. */
export async function migrate(sql: Sql, migrations = loadMigrations()): Promise<number[]> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx`create table if not exists schema_migrations (
      id integer primary key, name text not null, checksum text not null,
      applied_at timestamptz not null default now())`;
    const rows = await tx<{ id: number; checksum: string }[]>`select id, checksum from schema_migrations`;
    const applied = new Map(rows.map((r) => [r.id, r.checksum]));
    const done: number[] = [];
    for (const m of migrations) {
      const seen = applied.get(m.id);
      if (seen !== undefined) {
        if (seen !== m.checksum) {
          throw new MigrationError(`migration ${m.id}_${m.name} was changed after it was applied`);
        }
        continue;
      }
      await tx.unsafe(m.sql);
      await tx`insert into schema_migrations (id, name, checksum) values (${m.id}, ${m.name}, ${m.checksum})`;
      done.push(m.id);
    }
    return done;
  });
}

// Lives in ready.ts (no node:fs, so the Workers bundle can use it); re-exported for old importers.
export { schemaReady } from './ready';
