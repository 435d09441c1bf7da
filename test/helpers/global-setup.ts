// Embedded mode only: migrate one PGlite data directory once; every test file copies it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSql } from '../../src/db/client';
import { startEmbeddedDatabase } from '../../src/db/embedded';
import { migrate } from '../../src/db/migrate';

export default async function setup() {
  if (process.env.DATABASE_URL) return () => {};
  const dir = mkdtempSync(join(tmpdir(), 'alatau-pglite-template-'));
  const db = await startEmbeddedDatabase({ dataDir: dir, maxConnections: 3 });
  const sql = createSql(db.url, { max: 1 });
  await migrate(sql);
  await sql.end({ timeout: 5 });
  await db.stop();
  process.env.ALATAU_PGLITE_TEMPLATE = join(dir, 'pg');
  return () => rmSync(dir, { recursive: true, force: true });
}
