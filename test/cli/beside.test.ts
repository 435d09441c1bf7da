// The CLI beside a running gateway on the embedded database (SPEC section 2, issue 14 item 4): it
// reaches the gateway's database through DATA_DIR/pg.socket.json, which names the owner-only Unix
// socket (DATA_DIR/run/.s.PGSQL.5432) or, where DATA_DIR is too deep for a socket path, the loopback
// port, and holds the secret; nothing without that secret reaches the database.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usingRealPostgres } from '../helpers/db';
import { cliRunner } from './helpers';

const ROOT = join(import.meta.dirname, '..', '..');
// Embedded mode only: with DATABASE_URL set (the real-PostgreSQL pass) nothing here would differ, so
// that pass skips it rather than run it twice.
if (usingRealPostgres())
  console.warn(
    '[skip] CLI beside a running gateway skipped: it is about the embedded database socket, and DATABASE_URL is set (CI runs it in its embedded pass)',
  );

type Rec = { path?: string; port?: number; pid: number; password: string };

describe.skipIf(usingRealPostgres()).each([
  { transport: 'the Unix-domain socket', deep: false },
  { transport: 'loopback TCP (a DATA_DIR too deep for a socket path)', deep: true },
])('beside the gateway, over $transport', ({ deep }) => {
  let base: string;
  let dataDir: string;
  let gateway: ChildProcess | undefined;

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'alatau-beside-'));
    dataDir = deep ? join(base, 'a-rather-long-directory-name'.repeat(4)) : base;
    mkdirSync(dataDir, { recursive: true });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATA_DIR: dataDir,
      NETWORK_MODE: 'sandbox',
      LOG_LEVEL: 'silent',
    };
    delete env['DATABASE_URL'];
    gateway = spawn(process.execPath, ['--import', 'tsx', 'test/cli/fixtures/hold-database.ts'], {
      cwd: ROOT,
      env,
    });
    let out = '';
    gateway.stderr?.on('data', (d) => (out += d));
    await new Promise<void>((resolve, reject) => {
      gateway!.stdout?.on('data', (d) => String(d).includes('ready') && resolve());
      gateway!.once('exit', () => reject(new Error(`the database holder exited: ${out}`)));
    });
  }, 120_000);

  afterAll(async () => {
    if (gateway && gateway.exitCode === null) {
      const exited = once(gateway, 'exit');
      gateway.kill('SIGTERM');
      await exited;
    }
    if (base) rmSync(base, { recursive: true, force: true });
  });

  it('the CLI works beside the running gateway, through its socket', async () => {
    const run = cliRunner({ DATA_DIR: dataDir, NETWORK_MODE: 'sandbox', LOG_LEVEL: 'silent' });
    const made = await run(['merchant', 'create', '--name', 'Beside', '--json']);
    expect(made.stderr).not.toContain('open in another process');
    expect(made.code).toBe(0);
    const id = made.json<{ merchant: { id: string } }>().merchant?.id ?? made.json<{ id: string }>().id;
    const shown = await run(['merchant', 'show', '--id', id, '--json']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('Beside');
  }, 120_000);

  it('the socket file is the owner’s only, and a client without its secret is refused', async () => {
    const file = join(dataDir, 'pg.socket.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'pg')).mode & 0o777).toBe(0o700);
    const rec = JSON.parse(readFileSync(file, 'utf8')) as Rec;
    expect(rec.password).toMatch(/^[0-9a-f]{64}$/);
    let where: { path: string } | { host: string; port: number };
    if (deep) {
      expect(rec.path).toBeUndefined();
      expect(rec.port).toEqual(expect.any(Number));
      where = { host: '127.0.0.1', port: rec.port! };
    } else {
      // Only the owner can enter the directory, and only the owner can open the socket in it.
      const path = join(dataDir, 'run', '.s.PGSQL.5432');
      expect(rec.path).toBe(path);
      expect(rec.port).toBeUndefined();
      expect(statSync(join(dataDir, 'run')).mode & 0o777).toBe(0o700);
      expect(statSync(path).isSocket()).toBe(true);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      where = { path };
    }
    // What a process that can reach it would try: no password, or a guess.
    for (const pass of ['', 'guess']) {
      const sql = postgres({
        ...where,
        user: 'postgres',
        pass,
        database: 'postgres',
        max: 1,
        connect_timeout: 5,
      });
      try {
        await expect(sql`select count(*) from merchants`).rejects.toMatchObject({ code: '28P01' });
      } finally {
        await sql.end();
      }
    }
    const sql = postgres({ ...where, user: 'postgres', pass: rec.password, database: 'postgres', max: 1 });
    try {
      const [row] = await sql<
        { n: string }[]
      >`select count(*)::text as n from merchants where name = 'Beside'`;
      expect(row!.n).toBe('1');
    } finally {
      await sql.end();
    }
  }, 60_000);
});
