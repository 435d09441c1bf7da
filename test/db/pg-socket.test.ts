// The embedded database's socket server (src/db/pg-socket.ts) shared by the gateway and the CLI: the
// session shared safely, and nobody reaches the database without the secret.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PgSocketServer, servePglite } from '../../src/db/pg-socket';

let db: PGlite;
let server: PgSocketServer;

beforeAll(async () => {
  db = await PGlite.create();
  server = await servePglite(db, { idleHoldMs: 200, authDeadlineMs: 300, maxConnections: 6 });
});
afterAll(async () => {
  await server.stop();
  await db.close();
});

/** The server above listens on loopback TCP (no `path`): its port. */
const tcpPort = (): number => {
  if (!('port' in server.address)) throw new Error('expected a TCP server');
  return server.address.port;
};
const url = (password?: string) =>
  `postgres://postgres${password === undefined ? '' : `:${password}`}@127.0.0.1:${tcpPort()}/postgres`;

function message(type: string, body: Buffer): Buffer {
  const b = Buffer.alloc(5 + body.length);
  b.write(type, 0);
  b.writeInt32BE(4 + body.length, 1);
  body.copy(b, 5);
  return b;
}

function startupPacket(): Buffer {
  const params = Buffer.from('user\0postgres\0database\0postgres\0\0');
  const startup = Buffer.alloc(8 + params.length);
  startup.writeInt32BE(8 + params.length, 0);
  startup.writeInt32BE(196608, 4);
  params.copy(startup, 8);
  return startup;
}

/** A raw connection that collects every backend message it is sent, and whether it was closed. */
class Raw {
  readonly messages: { type: string; body: Buffer }[] = [];
  closed = false;
  private pending = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.pending = Buffer.concat([this.pending, chunk]);
      while (this.pending.length >= 5) {
        const len = this.pending.readInt32BE(1);
        if (this.pending.length < len + 1) break;
        this.messages.push({
          type: String.fromCharCode(this.pending[0]!),
          body: this.pending.subarray(5, len + 1),
        });
        this.pending = this.pending.subarray(len + 1);
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }
  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }
  /** Waits until `pred` holds (or the connection closes, when `pred` is then checked once more). */
  async until(pred: () => boolean): Promise<void> {
    while (!pred()) {
      if (this.closed) return;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }
  static async open(): Promise<Raw> {
    const socket = connect({ host: '127.0.0.1', port: tcpPort() });
    const raw = new Raw(socket);
    await new Promise((r, j) => socket.once('connect', r).once('error', j));
    return raw;
  }
  errorCode(): string | undefined {
    const e = this.messages.find((m) => m.type === 'E');
    return e ? /C([0-9A-Z]{5})\0/.exec(e.body.toString('utf8'))?.[1] : undefined;
  }
}

/** The client half of SCRAM-SHA-256 over a raw socket; true when the server accepted `password`. */
async function scramSignIn(raw: Raw, password: string): Promise<boolean> {
  raw.socket.write(startupPacket());
  await raw.until(() => raw.messages.some((m) => m.type === 'R'));
  const nonce = randomBytes(18).toString('base64');
  const first = `n=*,r=${nonce}`;
  const mech = Buffer.from('SCRAM-SHA-256\0');
  const len = Buffer.alloc(4);
  len.writeInt32BE(first.length + 3);
  raw.socket.write(message('p', Buffer.concat([mech, len, Buffer.from(`n,,${first}`)])));
  await raw.until(() => raw.messages.filter((m) => m.type === 'R').length >= 2);
  if (raw.closed) return false;
  const serverFirst = raw.messages
    .filter((m) => m.type === 'R')[1]!
    .body.subarray(4)
    .toString();
  const attrs = Object.fromEntries(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)]));
  const salted = pbkdf2Sync(password, Buffer.from(attrs.s!, 'base64'), Number(attrs.i), 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const stored = createHash('sha256').update(clientKey).digest();
  const withoutProof = `c=biws,r=${attrs.r}`;
  const sig = createHmac('sha256', stored).update(`${first},${serverFirst},${withoutProof}`).digest();
  const proof = Buffer.from(clientKey.map((b, i) => b ^ sig[i]!)).toString('base64');
  raw.socket.write(message('p', Buffer.from(`${withoutProof},p=${proof}`)));
  await raw.until(() => raw.messages.some((m) => m.type === 'Z'));
  return !raw.closed && raw.messages.some((m) => m.type === 'Z');
}

describe('authentication', () => {
  it('the right secret gets in; none or a wrong one is refused with 28P01 before any query', async () => {
    const right = postgres(url(server.password), { max: 1 });
    try {
      expect((await right`select 1 as one`)[0]!.one).toBe(1);
    } finally {
      await right.end();
    }
    for (const password of [undefined, '', 'wrong', `${server.password.slice(0, -1)}0`]) {
      if (password === `${server.password.slice(0, -1)}0` && server.password.endsWith('0')) continue;
      const wrong = postgres(url(password), { max: 1, connect_timeout: 5 });
      try {
        await expect(wrong`create table should_not_exist (x int)`).rejects.toMatchObject({
          code: '28P01',
        });
      } finally {
        await wrong.end();
      }
    }
    expect((await db.query(`select to_regclass('should_not_exist')::text as t`)).rows[0]).toEqual({
      t: null,
    });
  });

  it('a client that skips authentication and sends a query is refused, and the query never runs', async () => {
    const raw = await Raw.open();
    // Startup and a query in one write, as if the password step did not exist.
    raw.socket.write(
      Buffer.concat([startupPacket(), message('Q', Buffer.from('create table sneaked_in (x int)\0'))]),
    );
    await raw.until(() => raw.closed);
    expect(raw.closed).toBe(true);
    expect(raw.messages.map((m) => m.type)).toEqual(['R', 'E']);
    // AuthenticationSASL, offering SCRAM-SHA-256 only: never AuthenticationOk (0).
    expect(raw.messages[0]!.body.readInt32BE(0)).toBe(10);
    expect(raw.errorCode()).toBe('28000');
    expect((await db.query(`select to_regclass('sneaked_in')::text as t`)).rows[0]).toEqual({ t: null });
  });

  it('a forged proof is refused; a replayed exchange does not get in either', async () => {
    const raw = await Raw.open();
    expect(await scramSignIn(raw, 'not the secret')).toBe(false);
    expect(raw.errorCode()).toBe('28P01');
    expect(raw.messages.some((m) => m.type === 'Z')).toBe(false);
    // The raw client does sign in with the right secret (the refusal above is the secret, not the client).
    const ok = await Raw.open();
    expect(await scramSignIn(ok, server.password)).toBe(true);
    ok.socket.destroy();
  });

  it('a connection that never authenticates is cut at the deadline', async () => {
    const raw = await Raw.open();
    raw.socket.write(startupPacket());
    await raw.until(() => raw.closed);
    expect(raw.closed).toBe(true);
    expect(raw.messages.map((m) => m.type)).toEqual(['R']);
  });

  it('an oversized message before authentication closes the connection at once', async () => {
    const raw = await Raw.open();
    raw.socket.write(startupPacket());
    await raw.until(() => raw.messages.length > 0);
    const header = Buffer.alloc(5);
    header.write('p', 0);
    header.writeInt32BE(200 * 1024 * 1024, 1);
    raw.socket.write(header);
    await raw.until(() => raw.closed);
    expect(raw.closed).toBe(true);
  });

  it('an unsupported protocol version is refused', async () => {
    const raw = await Raw.open();
    const p = startupPacket();
    p.writeInt32BE(131072, 4); // protocol 2.0
    raw.socket.write(p);
    await raw.until(() => raw.closed);
    expect(raw.errorCode()).toBe('0A000');
  });
});

describe('after authentication', () => {
  it('an unknown message type is refused and closes that client, without stalling the others', async () => {
    const raw = await Raw.open();
    expect(await scramSignIn(raw, server.password)).toBe(true);
    // Parse (holds the session until Sync), then a type that does not exist.
    raw.socket.write(message('P', Buffer.from('\0select 1\0\0\0')));
    raw.socket.write(message('~', Buffer.from('junk')));
    await raw.until(() => raw.closed);
    expect(raw.errorCode()).toBe('08P01');
    const sql = postgres(url(server.password), { max: 1 });
    try {
      expect((await sql`select 2 as two`)[0]!.two).toBe(2);
    } finally {
      await sql.end();
    }
  });

  it('a large value (8 MiB, many chunks) and pipelined queries from several clients come back whole', async () => {
    const big = 'x'.repeat(8 * 1024 * 1024);
    const clients = [1, 2, 3].map(() => postgres(url(server.password), { max: 1 }));
    try {
      const [len] = await clients[0]!<{ n: number }[]>`select length(${big}::text) as n`;
      expect(len!.n).toBe(big.length);
      const answers = await Promise.all(
        clients.flatMap((sql, c) =>
          Array.from({ length: 20 }, (_, i) => sql<{ v: number }[]>`select ${c * 100 + i}::int as v`),
        ),
      );
      expect(answers.map((r) => r[0]!.v)).toEqual(
        [0, 1, 2].flatMap((c) => Array.from({ length: 20 }, (_, i) => c * 100 + i)),
      );
    } finally {
      await Promise.all(clients.map((sql) => sql.end()));
    }
  });

  it('a large result (20,000 rows, many chunks) arrives byte for byte, also to several clients at once', async () => {
    // PGlite hands each chunk over as a view of its memory and reuses it for the next one; a chunk
    // the socket had to queue was once sent with later bytes in it (rows garbled, JSON unparseable).
    const clients = [1, 2, 3].map(() => postgres(url(server.password), { max: 1 }));
    try {
      const results = await Promise.all(
        clients.map(
          (sql) => sql<
            { g: number; t: string; j: { a: number } }[]
          >`select g, repeat('x', 200) || g::text as t,
            jsonb_build_object('a', g, 'b', repeat('y', 50)) as j from generate_series(1, 20000) g`,
        ),
      );
      for (const rows of results) {
        expect(rows).toHaveLength(20000);
        const wrong = rows.findIndex(
          (r, i) => r.g !== i + 1 || r.t !== `${'x'.repeat(200)}${i + 1}` || r.j.a !== i + 1,
        );
        expect(wrong).toBe(-1);
      }
    } finally {
      await Promise.all(clients.map((sql) => sql.end()));
    }
  });

  it('a client that goes silent inside a transaction does not stall the others; its work is undone', async () => {
    // Holds the session: a transaction open, then nothing (a CLI suspended with Ctrl-Z).
    const silent = await Raw.open();
    expect(await scramSignIn(silent, server.password)).toBe(true);
    silent.socket.write(message('Q', Buffer.from('BEGIN; CREATE TABLE left_open (x int)\0')));
    await silent.until(() => silent.messages.filter((m) => m.type === 'Z').length >= 2);
    const sql = postgres(url(server.password), { max: 1 });
    try {
      const [row] = await sql<{ t: string | null }[]>`select to_regclass('left_open')::text as t`;
      expect(row!.t).toBeNull();
      await silent.until(() => silent.closed);
      expect(silent.closed).toBe(true);
    } finally {
      silent.socket.destroy();
      await sql.end();
    }
  }, 60_000);
});

describe('limits', () => {
  it('connections beyond the cap are closed at once; the slots free up when they go', async () => {
    // Six at once (the cap): none of them authenticates.
    const held = await Promise.all(Array.from({ length: 6 }, () => Raw.open()));
    const extra = await Raw.open();
    extra.socket.write(startupPacket());
    await extra.until(() => extra.closed);
    expect(extra.closed).toBe(true);
    expect(extra.messages).toEqual([]);
    // The unauthenticated ones are cut at the deadline; then a real client gets in.
    await Promise.all(held.map((h) => h.until(() => h.closed)));
    const sql = postgres(url(server.password), { max: 1 });
    try {
      expect((await sql`select 3 as three`)[0]!.three).toBe(3);
    } finally {
      await sql.end();
    }
  });
});

describe('hostile clients before authentication (review)', () => {
  const sneaked = async () => (await db.query(`select to_regclass('sneaked_in')::text as t`)).rows[0];
  const saslInitial = (mechanism: string, data: Buffer | undefined, declared = data?.length ?? -1) => {
    const len = Buffer.alloc(4);
    len.writeInt32BE(declared);
    return message('p', Buffer.concat([Buffer.from(`${mechanism}\0`), len, data ?? Buffer.alloc(0)]));
  };
  const query = message('Q', Buffer.from('create table sneaked_in (x int)\0'));
  const special = (code: number) => {
    const b = Buffer.alloc(8);
    b.writeInt32BE(8, 0);
    b.writeInt32BE(code, 4);
    return b;
  };
  const negative = Buffer.alloc(5);
  negative.write('p', 0);
  negative.writeInt32BE(-5, 1);
  const negativeStartup = Buffer.alloc(8);
  negativeStartup.writeInt32BE(-1, 0);

  // Each sequence is written in one go; none may reach AuthenticationOk or run the query.
  const cases: [string, Buffer[]][] = [
    ['SSLRequest, then a query', [special(80877103), query]],
    ['GSSENCRequest, then startup and a query', [special(80877104), startupPacket(), query]],
    ['CancelRequest, then startup and a query', [special(80877102), startupPacket(), query]],
    [
      'SSLRequest twice, then startup and a query',
      [special(80877103), special(80877103), startupPacket(), query],
    ],
    ['a query before any startup', [query]],
    ['startup twice, then a query', [startupPacket(), startupPacket(), query]],
    ['a negative startup length', [negativeStartup, query]],
    ['a negative message length', [startupPacket(), negative, query]],
    [
      'the final SCRAM message first',
      [startupPacket(), message('p', Buffer.from('c=biws,r=x,p=AAAA')), query],
    ],
    [
      'another mechanism',
      [startupPacket(), saslInitial('SCRAM-SHA-256-PLUS', Buffer.from('p=tls,,n=*,r=abc')), query],
    ],
    ['no initial data (-1)', [startupPacket(), saslInitial('SCRAM-SHA-256', undefined), query]],
    [
      'a declared length past the message',
      [startupPacket(), saslInitial('SCRAM-SHA-256', Buffer.from('n,,n=*,r=abc'), 900), query],
    ],
    [
      'a huge declared length',
      [startupPacket(), saslInitial('SCRAM-SHA-256', Buffer.from('n,,n=*,r=abc'), 0x7fffffff), query],
    ],
    [
      'NUL inside the client-first message',
      [startupPacket(), saslInitial('SCRAM-SHA-256', Buffer.from('n,,n=*,r=a\0b')), query],
    ],
    ['no mechanism NUL', [startupPacket(), message('p', Buffer.from('SCRAM-SHA-256')), query]],
    [
      'a PasswordMessage in cleartext',
      [startupPacket(), message('p', Buffer.from(`${'x'.repeat(64)}\0`)), query],
    ],
  ];

  it.for(cases)('%s: refused, and the query never runs', async ([, parts]) => {
    const raw = await Raw.open();
    raw.socket.write(Buffer.concat(parts));
    await raw.until(() => raw.closed);
    expect(raw.closed).toBe(true);
    const auth = raw.messages.filter((m) => m.type === 'R').map((m) => m.body.readInt32BE(0));
    expect(auth).not.toContain(0);
    expect(raw.messages.some((m) => m.type === 'Z' || m.type === 'C')).toBe(false);
    expect(await sneaked()).toEqual({ t: null });
  });

  it('a right first message and then a second SASLInitialResponse in place of the proof is refused', async () => {
    const raw = await Raw.open();
    raw.socket.write(startupPacket());
    raw.socket.write(saslInitial('SCRAM-SHA-256', Buffer.from('n,,n=*,r=abcdef')));
    await raw.until(() => raw.messages.filter((m) => m.type === 'R').length >= 2);
    raw.socket.write(Buffer.concat([saslInitial('SCRAM-SHA-256', Buffer.from('n,,n=*,r=abcdef')), query]));
    await raw.until(() => raw.closed);
    expect(raw.errorCode()).toBe('28P01');
    expect(await sneaked()).toEqual({ t: null });
  });

  it('thirty wrong clients at once: all refused, nothing run, and the right one gets in after', async () => {
    const wrong = await Promise.all(
      Array.from({ length: 30 }, async () => {
        const raw = await Raw.open();
        const ok = await scramSignIn(raw, 'not the secret').catch(() => false);
        raw.socket.destroy();
        return ok;
      }),
    );
    expect(wrong.every((ok) => ok === false)).toBe(true);
    expect(await sneaked()).toEqual({ t: null });
    const sql = postgres(url(server.password), { max: 1 });
    try {
      expect((await sql`select 4 as four`)[0]!.four).toBe(4);
    } finally {
      await sql.end();
    }
  });
});

describe('on a Unix-domain socket', () => {
  it('listens on the path, owner-only, asks for the secret there too, and removes the file on stop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'alatau-sock-'));
    const path = join(dir, '.s.PGSQL.5432');
    const other = await PGlite.create();
    const onPath = await servePglite(other, { path });
    try {
      expect(onPath.address).toEqual({ path });
      expect(statSync(path).isSocket()).toBe(true);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      const wrong = postgres({ path, user: 'postgres', pass: 'guess', database: 'postgres', max: 1 });
      try {
        await expect(wrong`select 1`).rejects.toMatchObject({ code: '28P01' });
      } finally {
        await wrong.end();
      }
      const right = postgres({ path, user: 'postgres', pass: onPath.password, database: 'postgres', max: 1 });
      try {
        expect((await right`select 5 as five`)[0]!.five).toBe(5);
      } finally {
        await right.end();
      }
    } finally {
      await onPath.stop();
      await other.close();
    }
    expect(() => statSync(path)).toThrow(/ENOENT/);
    rmSync(dir, { recursive: true, force: true });
  });
});
