// A PostgreSQL wire-protocol server over one PGlite instance that several client connections (the
// gateway's pool, the CLI in another process) can share safely. PGlite is a single backend session:
// pglite-socket's own server runs each client's messages as they come, so two clients' extended-
// protocol messages interleave (Parse/Bind/Execute of one between the other's) and clobber the
// unnamed portal. Here a client holds the session from its first message through the Sync (or
// simple Query) that ends its batch, and for as long as a transaction it opened stays open.
//
// It listens on a Unix-domain socket in a directory only the data directory's owner can enter, so no
// other local user can even connect (and none can hold the connection cap with idle connections).
// Where that is impossible it listens on a loopback port, which any local user can reach. Either
// way PGlite itself checks no password: so this server does. A client proves it knows the secret (a random one per
// start, published to the data directory's owner only, in DATA_DIR/pg.socket.json mode 0600) with
// SCRAM-SHA-256 before a single byte reaches PGlite. Until then it may send only the startup packet
// and the two SASL messages, small, within a few seconds; unknown message types are refused
// rather than handed to PGlite; connections are capped.
import { randomBytes } from 'node:crypto';
import { chmodSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import { SCRAM_MECHANISM, ScramExchange, type ScramVerifier, scramVerifier } from './scram';

const SSL_REQUEST = 80877103;
const CANCEL_REQUEST = 80877102;
const GSSENC_REQUEST = 80877104;
const PROTOCOL_3_0 = 196608;
/** A startup packet is at most this long (PostgreSQL's own limit is 10,000 bytes). */
const MAX_STARTUP_BYTES = 10_000;
/** A SASL message before authentication: a mechanism name, a nonce and a proof. */
const MAX_AUTH_MESSAGE_BYTES = 2_048;
/**
 * A single message after authentication may be large (a batch of 1,000 list entries, a big jsonb),
 * but not unbounded: a client past this is disconnected.
 */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/**
 * Bytes a connection may have read ahead of what has been run (a pipelining client while another
 * holds the session): beyond it the socket is paused until the backlog is worked off, so memory per
 * connection stays near max(one message, this) instead of whatever the client can send.
 */
const READ_AHEAD_BYTES = 1024 * 1024;
/** An unauthenticated connection is cut after this long. */
const DEFAULT_AUTH_DEADLINE_MS = 5_000;
/** Connections at once (authenticated or not); the OS refuses the rest. */
const DEFAULT_MAX_CONNECTIONS = 32;
/**
 * Frontend messages PGlite is given after authentication (protocol 3.0): Bind, Close, CopyData,
 * CopyDone, CopyFail, Describe, Execute, Flush, FunctionCall, Parse, Query, Sync. Anything else
 * (a stray password message, an unknown type) is refused with a protocol error and the connection
 * closed, rather than handed to PGlite to answer or not.
 */
const FRONTEND_TYPES = new Set([...'BCdcfDEHFPQS'].map((ch) => ch.charCodeAt(0)));
const TERMINATE = 0x58; // X
const PASSWORD = 0x70; // p: SASLInitialResponse and SASLResponse
/**
 * A client that holds the session (a transaction open, a batch unfinished) and then goes silent (a
 * CLI suspended with Ctrl-Z, a hung process) would stall every other client, the gateway included:
 * after this long it is disconnected and its transaction rolled back, as PostgreSQL's
 * idle_in_transaction_session_timeout would.
 */
const DEFAULT_IDLE_HOLD_MS = 60_000;

/** Where the server listens: a Unix-domain socket's path, or a loopback host and port. */
export type PgSocketAddress = { readonly path: string } | { readonly host: string; readonly port: number };

export interface PgSocketServer {
  readonly address: PgSocketAddress;
  /** The secret a client must prove (as its password) before it reaches the database. */
  readonly password: string;
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

/** Where a connection is in the startup: authentication comes before anything reaches PGlite. */
type Phase = 'startup' | 'sasl-initial' | 'sasl-response' | 'ready';

/** A backend message: type byte, length, body. */
function backendMessage(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

/** An authentication request (R) of `code` with `data` after it. */
const authMessage = (code: number, data: Buffer = Buffer.alloc(0)) => {
  const c = Buffer.alloc(4);
  c.writeInt32BE(code, 0);
  return backendMessage('R', Buffer.concat([c, data]));
};

/** A FATAL ErrorResponse with SQLSTATE `code`. */
const fatal = (code: string, message: string) =>
  backendMessage('E', Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${message}\0\0`, 'utf8'));

class Connection {
  private buffer: Buffer = Buffer.alloc(0);
  /** Chunks received but not yet joined onto `buffer` (joined once a whole message is there). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private phase: Phase = 'startup';
  private startup: Uint8Array | undefined;
  private scram: ScramExchange | undefined;
  private busy = false;
  private closed = false;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly authTimer: ReturnType<typeof setTimeout>;

  constructor(
    private readonly socket: Socket,
    private readonly db: PGlite,
    private readonly lock: SessionLock,
    private readonly onClose: (c: Connection) => void,
    private readonly idleHoldMs: number,
    private readonly verifier: ScramVerifier,
    authDeadlineMs: number,
  ) {
    socket.setNoDelay(true); // a no-op on a Unix-domain socket
    this.authTimer = setTimeout(() => this.close(), authDeadlineMs);
    this.authTimer.unref?.();
    socket.on('data', (chunk: Buffer) => {
      if (this.closed) return;
      clearTimeout(this.idleTimer);
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      // Read ahead only so far while earlier messages wait for the session.
      if (this.busy && this.buffered() > READ_AHEAD_BYTES) socket.pause();
      void this.drain();
    });
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  private buffered(): number {
    return this.buffer.length + this.pendingBytes;
  }

  /**
   * True when `n` bytes are buffered, joined into `buffer`. Chunks are joined only then, so a large
   * message arriving in many chunks is copied once, not once per chunk.
   */
  private have(n: number): boolean {
    if (this.buffer.length >= n) return true;
    if (this.buffered() < n) return false;
    this.buffer = Buffer.concat([this.buffer, ...this.pending]);
    this.pending = [];
    this.pendingBytes = 0;
    return true;
  }

  /** The next complete message, or undefined while more bytes are needed. */
  private next(): { bytes: Uint8Array; type: number | undefined } | undefined {
    if (this.phase === 'startup') {
      if (!this.have(8)) return undefined;
      const len = this.buffer.readInt32BE(0);
      if (len < 8 || len > MAX_STARTUP_BYTES) throw new Error('bad startup packet');
      if (!this.have(len)) return undefined;
      const bytes = this.buffer.subarray(0, len);
      this.buffer = this.buffer.subarray(len);
      return { bytes, type: undefined };
    }
    if (!this.have(5)) return undefined;
    const len = this.buffer.readInt32BE(1);
    const max = this.phase === 'ready' ? MAX_MESSAGE_BYTES : MAX_AUTH_MESSAGE_BYTES;
    if (len < 4 || len > max) throw new Error('bad message length');
    if (!this.have(len + 1)) return undefined;
    const bytes = this.buffer.subarray(0, len + 1);
    this.buffer = this.buffer.subarray(len + 1);
    return { bytes, type: bytes[0] };
  }

  /** Refuses the client with a FATAL error, then hangs up. */
  private refuse(code: string, message: string): void {
    if (this.socket.writable) this.socket.end(fatal(code, message));
    this.close();
  }

  /**
   * The startup and SASL exchange; true once the client is authenticated and its startup packet may
   * go to PGlite. Nothing the client sends before that reaches the database.
   */
  private authenticate(msg: { bytes: Uint8Array; type: number | undefined }): boolean {
    const bytes = Buffer.from(msg.bytes.buffer, msg.bytes.byteOffset, msg.bytes.byteLength);
    if (this.phase === 'startup') {
      const code = bytes.readInt32BE(4);
      if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
        this.socket.write('N');
        return false;
      }
      if (code === CANCEL_REQUEST) {
        this.close();
        return false;
      }
      if (code !== PROTOCOL_3_0) {
        this.refuse('0A000', 'unsupported frontend protocol');
        return false;
      }
      this.startup = msg.bytes;
      this.phase = 'sasl-initial';
      this.socket.write(authMessage(10, Buffer.from(`${SCRAM_MECHANISM}\0\0`)));
      return false;
    }
    if (msg.type !== PASSWORD) {
      this.refuse('28000', 'authentication required');
      return false;
    }
    const body = bytes.subarray(5);
    if (this.phase === 'sasl-initial') {
      const nul = body.indexOf(0);
      const mechanism = nul < 0 ? '' : body.toString('utf8', 0, nul);
      const dataLen = nul < 0 || body.length < nul + 5 ? -1 : body.readInt32BE(nul + 1);
      const data = dataLen >= 0 ? body.subarray(nul + 5, nul + 5 + dataLen) : undefined;
      this.scram = new ScramExchange(this.verifier);
      const serverFirst =
        mechanism === SCRAM_MECHANISM && data?.length === dataLen
          ? this.scram.first(data.toString('utf8'))
          : undefined;
      if (serverFirst === undefined) {
        this.refuse('28P01', 'password authentication failed');
        return false;
      }
      this.phase = 'sasl-response';
      this.socket.write(authMessage(11, Buffer.from(serverFirst)));
      return false;
    }
    const serverFinal = this.scram?.final(body.toString('utf8'));
    this.scram = undefined;
    if (serverFinal === undefined) {
      this.refuse('28P01', 'password authentication failed');
      return false;
    }
    this.socket.write(authMessage(12, Buffer.from(serverFinal)));
    this.phase = 'ready';
    clearTimeout(this.authTimer);
    return true;
  }

  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (;;) {
        if (this.closed) return;
        let msg = this.next();
        if (this.buffered() <= READ_AHEAD_BYTES && this.socket.isPaused()) this.socket.resume();
        if (!msg) {
          // Waiting for this client while it holds the session: not for ever.
          if (this.lock.holds(this)) {
            clearTimeout(this.idleTimer);
            this.idleTimer = setTimeout(() => this.close(), this.idleHoldMs);
            this.idleTimer.unref?.();
          }
          // A message longer than the read-ahead needs the rest of its bytes.
          if (this.socket.isPaused()) this.socket.resume();
          return;
        }
        if (this.phase !== 'ready') {
          if (!this.authenticate(msg)) continue;
          // Authenticated: PGlite now sees the startup packet, and answers AuthenticationOk.
          msg = { bytes: this.startup!, type: undefined };
          this.startup = undefined;
        } else if (msg.type === TERMINATE) {
          this.close();
          return;
        } else if (!FRONTEND_TYPES.has(msg.type!)) {
          this.refuse('08P01', `invalid frontend message type ${msg.type}`);
          return;
        }
        await this.lock.acquire(this);
        if (this.closed) {
          this.lock.release(this);
          return;
        }
        await this.db.runExclusive(() =>
          this.db.execProtocolRawStream(msg.bytes, {
            // `data` is a view of PGlite's WASM memory, which its next chunk overwrites; a write the
            // socket queues (a large result, a slow reader) would send those later bytes. Copy it.
            onRawData: (data) => {
              if (data.length > 0 && !this.closed && this.socket.writable)
                this.socket.write(Buffer.from(data));
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
    clearTimeout(this.authTimer);
    // After a refusal the FATAL message is already queued by end(); destroy once it is flushed.
    if (this.socket.writableLength > 0 && !this.socket.destroyed) {
      this.socket.once('finish', () => this.socket.destroy());
      setTimeout(() => this.socket.destroy(), 1_000).unref?.();
    } else this.socket.destroy();
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

export interface ServePgliteOptions {
  /**
   * A Unix-domain socket to listen on instead of host:port. Its directory should be the owner's
   * only; the socket file is made owner-only too. A file already there is an error (EADDRINUSE): the
   * caller removes a stale one, holding whatever lock says it may.
   */
  readonly path?: string;
  readonly host?: string;
  /** 0 (the default): a free port chosen by the OS at listen time. */
  readonly port?: number;
  /** The secret clients must prove; a random one when not given (see `PgSocketServer.password`). */
  readonly password?: string;
  readonly idleHoldMs?: number;
  /** How long a client has to authenticate (default 5 s). */
  readonly authDeadlineMs?: number;
  /** Connections at once, authenticated or not (default 32). */
  readonly maxConnections?: number;
}

/** A secret for the socket: 32 random bytes, hex (safe in a URL's password). */
export const newSocketPassword = (): string => randomBytes(32).toString('hex');

/** Serves `db` on a Unix-domain socket (`path`) or host:port to clients that know the password. */
export async function servePglite(db: PGlite, opts: ServePgliteOptions = {}): Promise<PgSocketServer> {
  const host = opts.host ?? '127.0.0.1';
  const idleHoldMs = opts.idleHoldMs ?? DEFAULT_IDLE_HOLD_MS;
  const password = opts.password ?? newSocketPassword();
  const verifier = scramVerifier(password);
  const lock = new SessionLock();
  const connections = new Set<Connection>();
  await db.waitReady;
  const server: Server = createServer((socket) => {
    const deadline = opts.authDeadlineMs ?? DEFAULT_AUTH_DEADLINE_MS;
    const onClose = (c: Connection) => connections.delete(c);
    connections.add(new Connection(socket, db, lock, onClose, idleHoldMs, verifier, deadline));
  });
  // Past the cap Node closes new sockets at once: a flood of connections cannot pile up here.
  server.maxConnections = opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const listening = () => {
      server.off('error', reject);
      resolve();
    };
    if (opts.path !== undefined) server.listen({ path: opts.path }, listening);
    else server.listen(opts.port ?? 0, host, listening);
  });
  let address: PgSocketAddress;
  if (opts.path !== undefined) {
    try {
      // The directory is the lock; the socket's own mode (from the umask) is made owner-only too.
      chmodSync(opts.path, 0o600);
    } catch (err) {
      await new Promise<void>((r) => server.close(() => r()));
      throw err;
    }
    address = { path: opts.path };
  } else {
    const bound = server.address();
    if (bound === null || typeof bound === 'string') throw new Error('no address for the database socket');
    address = { host, port: bound.port };
  }
  return {
    address,
    password,
    async stop() {
      for (const c of connections) c.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
