// A fresh embedded database is a copy of a template built once (src/db/pglite-template.ts).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSql } from '../../src/db/client';
import { startEmbeddedDatabase } from '../../src/db/embedded';
import { ensurePgliteTemplate, initFromTemplate, templatePath } from '../../src/db/pglite-template';

const root = mkdtempSync(join(tmpdir(), 'alatau-tpl-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('PGlite template', () => {
  it('lives in node_modules/.cache, keyed by the PGlite version', () => {
    expect(templatePath()).toMatch(/node_modules\/\.cache\/alatau-pay\/pglite-\d+\.\d+\.\d+[\w.+-]*-\d+$/);
  });

  it('is built once, atomically, and a new data directory copied from it opens as a working database', async () => {
    const tpl = join(root, 'cache', 'pglite-test');
    const [a, b] = await Promise.all([ensurePgliteTemplate(tpl), ensurePgliteTemplate(tpl)]);
    expect(a).toBe(tpl);
    expect(b).toBe(tpl);
    expect(existsSync(join(tpl, 'PG_VERSION'))).toBe(true);
    // Nothing half-built is left beside it.
    expect(readdirSync(join(root, 'cache'))).toEqual(['pglite-test']);

    const pg = join(root, 'data', 'pg');
    mkdirSync(pg, { recursive: true });
    expect(await initFromTemplate(pg, tpl)).toBe(true);
    expect(existsSync(join(pg, 'PG_VERSION'))).toBe(true);
    expect(readdirSync(join(root, 'data'))).toEqual(['pg']);
    // What a killed copy left beside a data directory is cleared by the next one (a live pid's is not).
    const stale = join(root, 'fresh', 'pg.tmp-999999999-x');
    const live = join(root, 'fresh', `pg.tmp-${process.pid}-y`);
    mkdirSync(stale, { recursive: true });
    mkdirSync(live, { recursive: true });
    expect(await initFromTemplate(join(root, 'fresh', 'pg'), tpl)).toBe(true);
    expect(readdirSync(join(root, 'fresh')).sort()).toEqual(['pg', `pg.tmp-${process.pid}-y`]);
    // A directory that already holds something is never overwritten.
    expect(await initFromTemplate(pg, tpl)).toBe(false);
    const other = join(root, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'x'), 'mine');
    expect(await initFromTemplate(other, tpl)).toBe(false);
    expect(readdirSync(other)).toEqual(['x']);
  });

  it('a fresh embedded database starts from the template and is writable', async () => {
    const dataDir = join(root, 'gateway');
    const db = await startEmbeddedDatabase({ dataDir, maxConnections: 3 });
    try {
      const sql = createSql(db.url, { max: 1 });
      await sql`create table t (v text)`;
      await sql`insert into t values ('kept')`;
      expect(await sql`select v from t`).toEqual([{ v: 'kept' }]);
      await sql.end();
    } finally {
      await db.stop();
    }
    // Reopened: what was written is there (the copy is a real cluster, not a view of the template).
    const again = await startEmbeddedDatabase({ dataDir, maxConnections: 3 });
    try {
      const sql = createSql(again.url, { max: 1 });
      expect(await sql`select v from t`).toEqual([{ v: 'kept' }]);
      await sql.end();
    } finally {
      await again.stop();
    }
  });
});
