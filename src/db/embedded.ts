// The embedded default: PGlite (PostgreSQL in WASM) with its data under DATA_DIR, served on a loopback
// port by pglite-socket so the very same postgres.js code path runs against it.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

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
 * `maxConnections` must be at least the client pool's `max`, or connections queue forever.
 */
export async function startEmbeddedDatabase(options: {
  dataDir: string;
  maxConnections: number;
}): Promise<EmbeddedDatabase> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const memory = options.dataDir.startsWith('memory://');
  const dir = memory ? options.dataDir : resolve(options.dataDir, 'pg');
  if (!memory) mkdirSync(dir, { recursive: true });
  const unlock = memory ? () => {} : lockDataDir(resolve(options.dataDir));
  let db: Awaited<ReturnType<typeof PGlite.create>>;
  try {
    db = await PGlite.create(memory ? undefined : dir);
  } catch (err) {
    unlock();
    throw err;
  }
  // Port 0: the OS picks a free port at listen time, so there is no race with other processes.
  const server = new PGLiteSocketServer({
    db,
    host: '127.0.0.1',
    port: 0,
    maxConnections: options.maxConnections,
  });
  await server.start();
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres?sslmode=disable`,
    async stop() {
      await server.stop();
      await db.close();
      unlock();
    },
  };
}

export const embeddedDataDir = (dataDir: string): string => join(dataDir, 'pg');
