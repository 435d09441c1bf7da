// The embedded database's address (src/db/embedded.ts): an owner-only Unix-domain socket in
// DATA_DIR/run, so no other local user can connect at all; loopback TCP only where the socket's path
// would be too long, and then it still works. Another user cannot be simulated here: the modes are
// what keeps them out, so the modes are asserted.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSql, unixSocketOf } from '../../src/db/client';
import { SOCKET_DIR, SOCKET_FILE, socketPathIn, startEmbeddedDatabase } from '../../src/db/embedded';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const template = process.env.ALATAU_PGLITE_TEMPLATE;

async function open(dataDir: string) {
  if (template) {
    cpSync(template, join(dataDir, 'pg'), { recursive: true });
  }
  return startEmbeddedDatabase({ dataDir, maxConnections: 3 });
}

describe.skipIf(process.platform === 'win32')('the embedded database’s socket', () => {
  it('is DATA_DIR/run/.s.PGSQL.5432, owner-only in a 0700 directory, published with its secret; removed on stop', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'alatau-emb-'));
    dirs.push(dataDir);
    const db = await open(dataDir);
    const path = join(dataDir, SOCKET_DIR, '.s.PGSQL.5432');
    try {
      expect(db.address).toEqual({ path });
      expect(statSync(join(dataDir, SOCKET_DIR)).mode & 0o777).toBe(0o700);
      expect(statSync(path).isSocket()).toBe(true);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      const file = join(dataDir, SOCKET_FILE);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const rec = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      expect(Object.keys(rec).sort()).toEqual(['password', 'path', 'pid']);
      expect(rec).toMatchObject({ path, pid: process.pid });
      // No port: nothing listens on TCP.
      expect(db.url).not.toContain('127.0.0.1');
      expect(unixSocketOf(db.url)?.path).toBe(path);
      const sql = createSql(db.url, { max: 1 });
      try {
        expect((await sql`select 6 as six`)[0]!.six).toBe(6);
      } finally {
        await sql.end();
      }
    } finally {
      await db.stop();
    }
    expect(() => statSync(path)).toThrow(/ENOENT/);
    expect(() => statSync(join(dataDir, SOCKET_FILE))).toThrow(/ENOENT/);
  }, 60_000);

  it('a stale socket file (a killed process’s) and a loosened directory are replaced at the next start', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'alatau-emb-'));
    dirs.push(dataDir);
    const first = await open(dataDir);
    const path = join(dataDir, SOCKET_DIR, '.s.PGSQL.5432');
    await first.stop();
    // What a killed process leaves: its socket file (only a clean close removes it), here from a
    // process that exits without closing its server.
    const left = spawnSync(process.execPath, [
      '-e',
      `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`,
    ]);
    expect(left.status).toBe(0);
    expect(statSync(path).isSocket()).toBe(true);
    chmodSync(join(dataDir, SOCKET_DIR), 0o755);
    const second = await open(dataDir);
    try {
      expect(statSync(path).isSocket()).toBe(true);
      expect(statSync(join(dataDir, SOCKET_DIR)).mode & 0o777).toBe(0o700);
      const sql = createSql(second.url, { max: 1 });
      try {
        expect((await sql`select 7 as seven`)[0]!.seven).toBe(7);
      } finally {
        await sql.end();
      }
    } finally {
      await second.stop();
    }
  }, 60_000);

  it('a DATA_DIR too deep for a socket path falls back to loopback TCP, says why, and still works', async () => {
    const base = mkdtempSync(join(tmpdir(), 'alatau-emb-'));
    dirs.push(base);
    const dataDir = join(base, 'a-rather-long-directory-name'.repeat(4));
    mkdirSync(dataDir, { recursive: true });
    const plan = socketPathIn(join(dataDir, SOCKET_DIR));
    expect(plan).toMatchObject({ reason: expect.stringMatching(/over the 10[37]-byte limit/) });
    const db = await open(dataDir);
    try {
      expect(db.address).toMatchObject({
        port: expect.any(Number),
        reason: expect.stringContaining('bytes'),
      });
      const rec = JSON.parse(readFileSync(join(dataDir, SOCKET_FILE), 'utf8')) as Record<string, unknown>;
      expect(Object.keys(rec).sort()).toEqual(['password', 'pid', 'port']);
      expect(db.url).toContain('@127.0.0.1:');
      const sql = createSql(db.url, { max: 1 });
      try {
        expect((await sql`select 8 as eight`)[0]!.eight).toBe(8);
      } finally {
        await sql.end();
      }
    } finally {
      await db.stop();
    }
  }, 60_000);
});

describe('unixSocketOf (libpq’s ?host=/dir in a URL)', () => {
  it('takes the directory and the port into the socket path and drops the parameter', () => {
    expect(
      unixSocketOf('postgres://u:p%40ss@localhost:5433/db?host=%2Fvar%2Frun%2Fpg&sslmode=disable'),
    ).toEqual({
      url: 'postgres://u:p%40ss@localhost:5433/db?sslmode=disable',
      path: '/var/run/pg/.s.PGSQL.5433',
    });
    expect(unixSocketOf('postgres://u@localhost/db?host=/tmp/')?.path).toBe('/tmp/.s.PGSQL.5432');
  });
  it('leaves a TCP URL alone, also one whose host parameter is a host name', () => {
    expect(unixSocketOf('postgres://u:p@db.example:5432/db')).toBeUndefined();
    expect(unixSocketOf('postgres://u:p@x/db?host=db.example')).toBeUndefined();
  });
});
