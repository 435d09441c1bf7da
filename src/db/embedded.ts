// The embedded default: PGlite (PostgreSQL in WASM) with its data under DATA_DIR, served by our own
// PostgreSQL-protocol server (pg-socket.ts) so the very same postgres.js code path runs against it.
// It listens on a Unix-domain socket in DATA_DIR/run (mode 0700): only the data directory's owner can
// connect at all. Where that cannot be (a DATA_DIR too deep for a socket path, Windows) it listens
// on a loopback port instead, which any local user can reach, and says so.
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { newSocketPassword, servePglite } from './pg-socket';
import { initFromTemplate } from './pglite-template';

/**
 * Where a running process's embedded database can be reached, and the secret it asks for:
 * `{ "path" | "port", "pid", "password" }` under DATA_DIR, readable by the directory's owner only.
 */
export const SOCKET_FILE = 'pg.socket.json';

/** The directory under DATA_DIR (mode 0700) that holds the database's Unix-domain socket. */
export const SOCKET_DIR = 'run';

/**
 * The socket file is named as PostgreSQL names its own (`.s.PGSQL.<port>`), so a client given the
 * directory as its host (libpq's `host=/dir`, postgres.js's `host`/`path`) finds it: psql can too.
 */
export const SOCKET_PORT = 5432;
const SOCKET_NAME = `.s.PGSQL.${SOCKET_PORT}`;

/**
 * A socket path's limit, sockaddr_un's sun_path less its NUL: 108 bytes on Linux, 104 on macOS and
 * the BSDs. Node does not refuse a longer path: it silently binds a truncated one.
 */
const MAX_SOCKET_PATH_BYTES = process.platform === 'linux' ? 107 : 103;

/** Where the embedded database is served: its socket, or a loopback port and why not a socket. */
export type EmbeddedAddress = { readonly path: string } | { readonly port: number; readonly reason: string };

export interface EmbeddedDatabase {
  readonly url: string;
  readonly address: EmbeddedAddress;
  stop(): Promise<void>;
}

/** The socket's path in `socketDir`, or why there can be none (then the database goes on TCP). */
export function socketPathIn(socketDir: string): { path: string } | { reason: string } {
  if (process.platform === 'win32') return { reason: 'Windows has no Unix-domain sockets for Node' };
  const path = join(socketDir, SOCKET_NAME);
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_SOCKET_PATH_BYTES)
    return {
      reason: `its socket path ${path} would be ${bytes} bytes, over the ${MAX_SOCKET_PATH_BYTES}-byte limit`,
    };
  return { path };
}

/** DATA_DIR/run, made (or made again) the owner's only; a symlink or a file there is refused. */
function ownerOnlyDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!lstatSync(dir).isDirectory()) throw new Error(`${dir} is not a directory`);
  chmodSync(dir, 0o700);
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
  // A throwaway instance has no data directory: its socket goes in a private temporary one.
  let socketDir = resolve(options.dataDir, SOCKET_DIR);
  const dropSocketDir = () => {
    if (memory) rmSync(socketDir, { recursive: true, force: true });
  };
  let server: Awaited<ReturnType<typeof servePglite>>;
  let fallback: string | undefined;
  try {
    if (memory) socketDir = mkdtempSync(join(tmpdir(), 'alatau-pg-'));
    const serve = (where: { path: string } | { port: 0 }) =>
      servePglite(db, {
        ...where,
        host: '127.0.0.1',
        password: newSocketPassword(),
        maxConnections: options.maxConnections + CLI_CONNECTIONS,
      });
    const socket = socketPathIn(socketDir);
    if ('path' in socket) {
      ownerOnlyDir(socketDir);
      // We hold the data directory's lock: a socket file still there is a dead process's.
      rmSync(socket.path, { force: true });
      try {
        server = await serve({ path: socket.path });
      } catch (err) {
        // A file system without sockets (some network and VM shares): TCP, said so.
        fallback = `it could not listen on ${socket.path} (${(err as NodeJS.ErrnoException).code ?? err})`;
        server = await serve({ port: 0 });
      }
    } else {
      fallback = socket.reason;
      // Port 0: the OS picks a free port at listen time, so there is no race with other processes.
      server = await serve({ port: 0 });
    }
  } catch (err) {
    await db.close();
    dropSocketDir();
    unlock();
    throw err;
  }
  const bound = server.address;
  const address: EmbeddedAddress =
    'path' in bound ? { path: bound.path } : { port: bound.port, reason: fallback ?? 'asked for' };
  const unpublish = memory ? () => {} : publishSocket(resolve(options.dataDir), address, server.password);
  return {
    url: embeddedUrl(address, server.password),
    address,
    async stop() {
      unpublish();
      await server.stop(); // closing the server removes its socket file
      await db.close();
      dropSocketDir();
      unlock();
    },
  };
}

/** Connections beyond the gateway's pool: CLIs run beside it. */
const CLI_CONNECTIONS = 8;

/**
 * A socket is named in the URL as libpq names one: the directory as the `host` parameter (createSql
 * passes it to postgres.js, whose URL parser does not read it), with the port in the file's name.
 */
const embeddedUrl = (address: { path: string } | { port: number }, password: string) => {
  const auth = `postgres:${encodeURIComponent(password)}`;
  if ('path' in address) {
    const dir = encodeURIComponent(dirname(address.path));
    return `postgres://${auth}@localhost:${SOCKET_PORT}/postgres?host=${dir}&sslmode=disable`;
  }
  return `postgres://${auth}@127.0.0.1:${address.port}/postgres?sslmode=disable`;
};

/** Tells other processes (the CLI) where this process serves the data directory's database. */
function publishSocket(dataDir: string, address: EmbeddedAddress, password: string): () => void {
  const file = join(dataDir, SOCKET_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  // A new file ('wx'), so the mode applies (an existing one would keep its own); chmod for the umask.
  rmSync(tmp, { force: true });
  const where = 'path' in address ? { path: address.path } : { port: address.port };
  writeFileSync(tmp, `${JSON.stringify({ ...where, pid: process.pid, password })}\n`, {
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

function acceptsConnections(at: { path: string } | { port: number }, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((res) => {
    const socket = connect('path' in at ? { path: at.path } : { host: '127.0.0.1', port: at.port });
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
 * file names a live process that also holds the directory's lock, and its socket (or port) accepts
 * connections.
 */
export async function findRunningDatabase(
  dataDir: string,
): Promise<{ url: string; pid: number } | undefined> {
  if (dataDir.startsWith('memory://')) return undefined;
  const dir = resolve(dataDir);
  let rec: { path?: unknown; port?: unknown; pid?: unknown; password?: unknown };
  let owner: number;
  try {
    rec = JSON.parse(readFileSync(join(dir, SOCKET_FILE), 'utf8')) as typeof rec;
    owner = Number(readFileSync(join(dir, 'embedded.pid'), 'utf8').trim());
  } catch {
    return undefined;
  }
  const { path, port, pid, password } = rec;
  if (typeof password !== 'string' || password.length === 0) return undefined;
  let at: { path: string } | { port: number };
  if (path !== undefined) {
    // The URL names the socket by its directory (see embeddedUrl): the file must have the usual name.
    if (typeof path !== 'string' || !isAbsolute(path) || basename(path) !== SOCKET_NAME) return undefined;
    if (!isSocket(path)) return undefined;
    at = { path };
  } else if (typeof port === 'number' && Number.isInteger(port) && port > 0 && port <= 65535) at = { port };
  else return undefined;
  if (typeof pid !== 'number' || pid !== owner || pid === process.pid || !processAlive(pid)) return undefined;
  if (!(await acceptsConnections(at))) return undefined;
  return { url: embeddedUrl(at, password), pid };
}

function isSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}

export const embeddedDataDir = (dataDir: string): string => join(dataDir, 'pg');
