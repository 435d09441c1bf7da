// A JSON-RPC proxy in front of anvil that can fail or hang on command: the RPC-failure tests point the
// watcher at it. Modes apply per request; `failMethods` fails only those methods.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ProxyMode = 'pass' | 'fail' | 'hang' | 'flaky' | 'rpc-error' | 'garbage';

export interface RpcProxy {
  readonly url: string;
  mode: ProxyMode;
  /** Methods that get HTTP 503 while the mode is `pass`. */
  failMethods: Set<string>;
  /** Requests seen, by method. */
  readonly seen: string[];
  close(): Promise<void>;
}

export async function startRpcProxy(upstream: string): Promise<RpcProxy> {
  const hung: ServerResponse[] = [];
  let n = 0;
  const state = { mode: 'pass' as ProxyMode, failMethods: new Set<string>(), seen: [] as string[] };
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    let method = '?';
    let id: unknown = null;
    try {
      const parsed = JSON.parse(body) as { method?: string; id?: unknown };
      method = parsed.method ?? '?';
      id = parsed.id ?? null;
    } catch {}
    state.seen.push(method);
    n++;
    const mode = state.mode;
    if (mode === 'hang') {
      hung.push(res);
      return;
    }
    if (mode === 'fail' || (mode === 'flaky' && n % 2 === 0) || state.failMethods.has(method)) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('upstream unavailable');
      return;
    }
    if (mode === 'rpc-error') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32603, message: 'internal error' } }));
      return;
    }
    if (mode === 'garbage') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0",');
      return;
    }
    const up = await fetch(upstream, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    res.writeHead(up.status, { 'content-type': 'application/json' }).end(await up.text());
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get mode() {
      return state.mode;
    },
    set mode(m: ProxyMode) {
      state.mode = m;
    },
    get failMethods() {
      return state.failMethods;
    },
    set failMethods(s: Set<string>) {
      state.failMethods = s;
    },
    seen: state.seen,
    async close() {
      for (const r of hung) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
