// The embedded database's socket server (src/db/pg-socket.ts) shared by the gateway and the CLI.
import { connect, type Socket } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type PgSocketServer, servePglite } from '../../src/db/pg-socket';

let db: PGlite;
let server: PgSocketServer;

beforeAll(async () => {
  db = await PGlite.create();
  server = await servePglite(db, { idleHoldMs: 200 });
});
afterAll(async () => {
  await server.stop();
  await db.close();
});

function message(type: string, body: Buffer): Buffer {
  const b = Buffer.alloc(5 + body.length);
  b.write(type, 0);
  b.writeInt32BE(4 + body.length, 1);
  body.copy(b, 5);
  return b;
}

/** A raw client: the startup packet, then one simple query, answered up to ReadyForQuery. */
async function rawClientRuns(query: string): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port: server.port });
  await new Promise((r) => socket.once('connect', r));
  const params = Buffer.from('user\0postgres\0database\0postgres\0\0');
  const startup = Buffer.alloc(8 + params.length);
  startup.writeInt32BE(8 + params.length, 0);
  startup.writeInt32BE(196608, 4);
  params.copy(startup, 8);
  let seen = 0;
  const ready = new Promise<void>((resolve) =>
    socket.on('data', (chunk: Buffer) => {
      // Each ReadyForQuery ('Z', length 5) ends a batch: the startup's, then the query's.
      for (let i = 0; i + 5 < chunk.length; i++)
        if (chunk[i] === 0x5a && chunk.readInt32BE(i + 1) === 5 && ++seen === 2) resolve();
    }),
  );
  socket.write(startup);
  socket.write(message('Q', Buffer.from(`${query}\0`)));
  await ready;
  return socket;
}

it('a client that goes silent inside a transaction does not stall the others; its work is undone', async () => {
  // Holds the session: a transaction open, then nothing (a CLI suspended with Ctrl-Z).
  const silent = await rawClientRuns('BEGIN; CREATE TABLE left_open (x int)');
  const sql = postgres(`postgres://postgres@127.0.0.1:${server.port}/postgres`, { max: 1 });
  try {
    const [row] = await sql<{ t: string | null }[]>`select to_regclass('left_open')::text as t`;
    expect(row!.t).toBeNull();
    expect(silent.destroyed || silent.readableEnded).toBe(true);
  } finally {
    silent.destroy();
    await sql.end();
  }
}, 60_000);
