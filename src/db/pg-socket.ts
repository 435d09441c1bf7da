// A PostgreSQL wire-protocol server over one PGlite instance that several client connections (the
// gateway's pool, the CLI in another process) can share safely. PGlite is a single backend session:
// pglite-socket's own server runs each client's messages as they come, so two clients' extended-
// protocol messages interleave (Parse/Bind/Execute of one between the other's) and clobber the
// unnamed portal. Here a client holds the session from its first message through the Sync (or
// simple Query) that ends its batch, and for as long as a transaction it opened stays open.
import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';

const SSL_REQUEST = 80877103;
const CANCEL_REQUEST = 80877102;
const GSSENC_REQUEST = 80877104;
/** A startup packet is at most this long (PostgreSQL's own limit is 10,000 bytes). */
const MAX_STARTUP_BYTES = 10_000;
/** A single message may be large (a COPY row, a big jsonb), but not unbounded. */
const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;
/**
 * A client that holds the session (a transaction open, a batch unfinished) and then goes silent (a
 * CLI suspended with Ctrl-Z, a hung process) would stall every other client, the gateway included:
 * after this long it is disconnected and its transaction rolled back, as PostgreSQL's
 * idle_in_transaction_session_timeout would.
 */
const DEFAULT_IDLE_HOLD_MS = 60_000;

export interface PgSocketServer {
  readonly host: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** One waiter at a time owns the PGlite session. */
class SessionLock {
  private owner: Connection | undefined;
  private readonly waiting: { conn: Connection; grant: () => void }[] = [];

  holds(conn: Connection): boolean {
    return this.owner === conn;
  }

  async acquire(conn: Connection): Promise<void> {
    if (this.owner === conn) return;
    if (this.owner === undefined) {
      this.owner = conn;
      return;
    }
    await new Promise<void>((grant) => this.waiting.push({ conn, grant }));
  }

  release(conn: Connection): void {
    if (this.owner !== conn) {
      // A connection that goes away while still waiting leaves the queue.
      const at = this.waiting.findIndex((w) => w.conn === conn);
      if (at >= 0) this.waiting.splice(at, 1)[0]!.grant();
      return;
    }
    const next = this.waiting.shift();
    this.owner = next?.conn;
    next?.grant();
  }
}

class Connection {
  private buffer: Buffer = Buffer.alloc(0);
  private started = false;
  private busy = false;
  private closed = false;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly db: PGlite,
    private readonly lock: SessionLock,
    private readonly onClose: (c: Connection) => void,
    private readonly idleHoldMs: number,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      clearTimeout(this.idleTimer);
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      void this.drain();
    });
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  /** The next complete message, or undefined while more bytes are needed. */
  private next(): { bytes: Uint8Array; type: number | undefined } | undefined {
    if (!this.started) {
      if (this.buffer.length < 8) return undefined;
      const len = this.buffer.readInt32BE(0);
      if (len < 8 || len > MAX_STARTUP_BYTES) throw new Error('bad startup packet');
      if (this.buffer.length < len) return undefined;
      const bytes = this.buffer.subarray(0, len);
      this.buffer = this.buffer.subarray(len);
      return { bytes, type: undefined };
    }
    if (this.buffer.length < 5) return undefined;
    const len = this.buffer.readInt32BE(1);
    if (len < 4 || len > MAX_MESSAGE_BYTES) throw new Error('bad message length');
    if (this.buffer.length < len + 1) return undefined;
    const bytes = this.buffer.subarray(0, len + 1);
    this.buffer = this.buffer.subarray(len + 1);
    return { bytes, type: bytes[0] };
  }

  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (;;) {
        if (this.closed) return;
        const msg = this.next();
        if (!msg) {
          // Waiting for this client while it holds the session: not for ever.
          if (this.lock.holds(this)) {
            clearTimeout(this.idleTimer);
            this.idleTimer = setTimeout(() => this.close(), this.idleHoldMs);
            this.idleTimer.unref?.();
          }
          return;
        }
        if (msg.type === undefined) {
          const code = Buffer.from(msg.bytes).readInt32BE(4);
          if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
            this.socket.write('N');
            continue;
          }
          if (code === CANCEL_REQUEST) {
            this.close();
            return;
          }
          this.started = true;
        }
        if (msg.type === 0x58 /* X: Terminate */) {
          this.close();
          return;
        }
        await this.lock.acquire(this);
        if (this.closed) {
          this.lock.release(this);
          return;
        }
        await this.db.runExclusive(() =>
          this.db.execProtocolRawStream(msg.bytes, {
            onRawData: (data) => {
              if (data.length > 0 && !this.closed && this.socket.writable) this.socket.write(data);
            },
          }),
        );
        // The batch ends at Sync, a simple Query or the startup; the session stays ours while a
        // transaction we opened is open.
        const ends = msg.type === undefined || msg.type === 0x53 || msg.type === 0x51;
        if (ends && !this.db.isInTransaction()) this.lock.release(this);
      }
    } catch {
      this.close();
    } finally {
      this.busy = false;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.socket.destroy();
    // Still queued for the session: leave the queue (the waiting drain() wakes, sees closed, stops).
    if (!this.lock.holds(this)) this.lock.release(this);
    void this.finish();
  }

  private async finish(): Promise<void> {
    // Wait for a message in flight, then undo what this client left open.
    while (this.busy) await new Promise((r) => setTimeout(r, 5));
    if (this.lock.holds(this)) {
      try {
        if (this.db.isInTransaction()) await this.db.exec('ROLLBACK');
      } catch {}
    }
    this.lock.release(this);
    this.onClose(this);
  }
}

/** Serves `db` on host:port (port 0: a free one chosen by the OS at listen time). */
export async function servePglite(
  db: PGlite,
  opts: { host?: string; port?: number; idleHoldMs?: number } = {},
): Promise<PgSocketServer> {
  const host = opts.host ?? '127.0.0.1';
  const idleHoldMs = opts.idleHoldMs ?? DEFAULT_IDLE_HOLD_MS;
  const lock = new SessionLock();
  const connections = new Set<Connection>();
  await db.waitReady;
  const server: Server = createServer((socket) => {
    connections.add(new Connection(socket, db, lock, (c) => connections.delete(c), idleHoldMs));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address for the database socket');
  return {
    host,
    port: address.port,
    async stop() {
      for (const c of connections) c.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
