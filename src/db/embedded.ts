// The embedded default: PGlite (PostgreSQL in WASM) with its data under DATA_DIR, served on a loopback
// port by pglite-socket so the very same postgres.js code path runs against it.
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { newSocketPassword, servePglite } from './pg-socket';
import { initFromTemplate } from './pglite-template';

/**
 * Where a running process's embedded database can be reached, and the secret it asks for:
 * `{ "port", "pid", "password" }` under DATA_DIR, readable by the directory's owner only.
 */
export const SOCKET_FILE = 'pg.socket.json';

export interface EmbeddedDatabase {
  readonly url: string;
  stop(): Promise<void>;
}

/** Another live process has this data directory open (PGlite itself does not lock it). */
export class EmbeddedDatabaseBusyError extends Error {
  override readonly name = 'EmbeddedDatabaseBusyError';
  readonly code = 'embedded_database_busy';
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`the embedded database in ${dataDir} is already open in process ${pid}`);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * PGlite opens a data directory that another process has open and both then write to it, which
 * corrupts it; a pid file keeps it to one process. A file whose process is gone is stale and replaced.
 */
function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, 'embedded.pid');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      const release = () => {
        process.removeListener('exit', release);
        try {
          if (readFileSync(file, 'utf8') === String(process.pid)) rmSync(file, { force: true });
        } catch {}
      };
      process.once('exit', release);
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (Number.isSafeInteger(pid) && pid > 0 && processAlive(pid))
        throw new EmbeddedDatabaseBusyError(dataDir, pid);
      rmSync(file, { force: true });
    }
  }
  throw new Error(`could not lock ${file}`);
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

/**
 * Starts PGlite on `dataDir` (`memory://` for a throwaway instance) behind a socket server.
 * `maxConnections` must be at least the client pool's `max`, or connections queue forever; a few
 * more are allowed for CLIs beside it.
 */
export async function startEmbeddedDatabase(options: {
  dataDir: string;
  maxConnections: number;
}): Promise<EmbeddedDatabase> {
  // PGlite is a 9 MB WebAssembly module. V8 first compiles it with its baseline compiler, then
  // recompiles every function that gets warm with its optimizing one: at start that recompilation
  // is seconds of CPU (opening the database and migrating took about twice the CPU with it), and
  // the optimized code only gains ~15% per query afterwards. The embedded database is for
  // development and tests, where start time matters more; it stays on the baseline compiler.
  setFlagsFromString('--liftoff-only');
  const { PGlite } = await import('@electric-sql/pglite');
  const memory = options.dataDir.startsWith('memory://');
  const dir = memory ? options.dataDir : resolve(options.dataDir, 'pg');
  if (!memory) {
    // The database files are the whole database: the data directory's owner only.
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  }
  const unlock = memory ? () => {} : lockDataDir(resolve(options.dataDir));
  let db: Awaited<ReturnType<typeof PGlite.create>>;
  try {
    // A new data directory starts as a copy of an initialised one (pglite-template.ts): far quicker
    // than PGlite's own initdb, which would otherwise block this process's event loop for seconds.
    if (!memory) {
      await initFromTemplate(dir);
      chmodSync(dir, 0o700); // a copied template takes the template's mode
    }
    db = await PGlite.create(memory ? undefined : dir);
  } catch (err) {
    unlock();
    throw err;
  }
  // Port 0: the OS picks a free port at listen time, so there is no race with other processes.
  let server: Awaited<ReturnType<typeof servePglite>>;
  try {
    server = await servePglite(db, {
      host: '127.0.0.1',
      port: 0,
      password: newSocketPassword(),
      maxConnections: options.maxConnections + CLI_CONNECTIONS,
    });
  } catch (err) {
    await db.close();
    unlock();
    throw err;
  }
  const unpublish = memory ? () => {} : publishSocket(resolve(options.dataDir), server.port, server.password);
  return {
    url: embeddedUrl(server.port, server.password),
    async stop() {
      unpublish();
      await server.stop();
      await db.close();
      unlock();
    },
  };
}

/** Connections beyond the gateway's pool: CLIs run beside it. */
const CLI_CONNECTIONS = 8;

const embeddedUrl = (port: number, password: string) =>
  `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres?sslmode=disable`;

/** Tells other processes (the CLI) where this process serves the data directory's database. */
function publishSocket(dataDir: string, port: number, password: string): () => void {
  const file = join(dataDir, SOCKET_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  // A new file ('wx'), so the mode applies (an existing one would keep its own); chmod for the umask.
  rmSync(tmp, { force: true });
  writeFileSync(tmp, `${JSON.stringify({ port, pid: process.pid, password })}\n`, {
    mode: 0o600,
    flag: 'wx',
  });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  const remove = () => {
    process.removeListener('exit', remove);
    try {
      const rec = JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown };
      if (rec.pid === process.pid) rmSync(file, { force: true });
    } catch {}
  };
  process.once('exit', remove);
  return remove;
}

function acceptsConnections(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((res) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      res(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * The database another live process (`npm start`) serves for this data directory, if any: its socket
 * file names a live process that also holds the directory's lock, and the port accepts connections.
 */
export async function findRunningDatabase(
  dataDir: string,
): Promise<{ url: string; pid: number } | undefined> {
  if (dataDir.startsWith('memory://')) return undefined;
  const dir = resolve(dataDir);
  let rec: { port?: unknown; pid?: unknown; password?: unknown };
  let owner: number;
  try {
    rec = JSON.parse(readFileSync(join(dir, SOCKET_FILE), 'utf8')) as typeof rec;
    owner = Number(readFileSync(join(dir, 'embedded.pid'), 'utf8').trim());
  } catch {
    return undefined;
  }
  const { port, pid, password } = rec;
  if (typeof password !== 'string' || password.length === 0) return undefined;
  if (typeof port !== 'number' || !Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  if (typeof pid !== 'number' || pid !== owner || pid === process.pid || !processAlive(pid)) return undefined;
  if (!(await acceptsConnections(port))) return undefined;
  return { url: embeddedUrl(port, password), pid };
}

export const embeddedDataDir = (dataDir: string): string => join(dataDir, 'pg');
