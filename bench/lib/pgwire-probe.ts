// A TCP relay in front of PostgreSQL that reads the wire protocol both ways and records, per
// connection, when it opened, when it was ready (startup + auth done), and each client message and
// ReadyForQuery: so a bench can count connections, statements and round trips per request rather
// than guess them. Diagnostic only; adds one loopback hop to each packet.
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface WireEvent {
  readonly t: number;
  readonly dir: 'c' | 's';
  /** Message type byte ('P' parse, 'B' bind, 'Q' query, 'Z' ready, …); '0' startup. */
  readonly type: string;
  /** For Parse and Query: the statement text (shortened). */
  readonly text?: string;
}

export interface WireConnection {
  readonly id: number;
  readonly openedAt: number;
  readyAt?: number;
  closedAt?: number;
  readonly events: WireEvent[];
}

export interface WireProbe {
  readonly port: number;
  readonly connections: WireConnection[];
  close(): Promise<void>;
}

/** Splits a stream into protocol messages; `startup` when the first message has no type byte. */
function framer(startup: boolean, onMessage: (type: string, body: Buffer) => void) {
  let buf: Buffer = Buffer.alloc(0);
  let first = startup;
  return (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    for (;;) {
      if (first) {
        if (buf.length < 8) return;
        const len = buf.readInt32BE(0);
        if (buf.length < len) return;
        const code = buf.readInt32BE(4);
        // SSLRequest (80877103): answered with one byte 'N'/'S', then a real startup follows.
        onMessage(code === 80877103 ? 'ssl' : '0', buf.subarray(8, len));
        buf = buf.subarray(len);
        if (code !== 80877103) first = false;
        continue;
      }
      if (buf.length < 5) return;
      const len = buf.readInt32BE(1);
      if (buf.length < len + 1) return;
      onMessage(String.fromCharCode(buf[0]!), buf.subarray(5, len + 1));
      buf = buf.subarray(len + 1);
    }
  };
}

export async function startWireProbe(target: { host: string; port: number }): Promise<WireProbe> {
  const connections: WireConnection[] = [];
  let next = 1;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const conn: WireConnection = { id: next++, openedAt: performance.now(), events: [] };
    connections.push(conn);
    const upstream = connect(target.port, target.host);
    // No Nagle on the relay: it must not hold a small message back waiting for an ACK.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    let sslPending = false;
    const fromClient = framer(true, (type, body) => {
      if (type === 'ssl') sslPending = true;
      const text =
        type === 'P'
          ? body.subarray(body.indexOf(0) + 1, body.indexOf(0, body.indexOf(0) + 1)).toString()
          : type === 'Q'
            ? body.subarray(0, body.length - 1).toString()
            : undefined;
      conn.events.push({
        t: performance.now(),
        dir: 'c',
        type,
        ...(text ? { text: text.replace(/\s+/g, ' ').slice(0, 90) } : {}),
      });
    });
    let serverFramer = framer(false, () => {});
    const onServerMessage = (type: string) => {
      if (type === 'Z' && conn.readyAt === undefined) conn.readyAt = performance.now();
      conn.events.push({ t: performance.now(), dir: 's', type });
    };
    serverFramer = framer(false, onServerMessage);
    client.on('data', (d) => {
      fromClient(d);
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (sslPending && d.length >= 1) {
        // The one-byte SSL answer comes before any typed message.
        sslPending = false;
        conn.events.push({ t: performance.now(), dir: 's', type: `ssl:${String.fromCharCode(d[0]!)}` });
        serverFramer(d.subarray(1));
      } else serverFramer(d);
      client.write(d);
    });
    const end = () => {
      conn.closedAt ??= performance.now();
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    connections,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
