// A local stand-in for the rate services: serves recorded bodies from test/fixtures/rates by route.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Reply {
  status?: number;
  body?: string;
  contentType?: string;
  /** Never answer: for timeouts. */
  hang?: boolean;
}

export interface FixtureServer {
  baseUrl: string;
  /** Path and query of every request, in order. */
  requests: string[];
  close(): Promise<void>;
}

const FIXTURES = new URL('../fixtures/rates/', import.meta.url);

export function fixture(name: string): string {
  return readFileSync(new URL(name, FIXTURES), 'utf8');
}

export async function startServer(
  route: (url: URL, req: IncomingMessage) => Reply | undefined,
): Promise<FixtureServer> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(decodeURIComponent(url.pathname + url.search));
    const reply = route(url, req) ?? { status: 404, body: 'not found', contentType: 'text/plain' };
    if (reply.hang) return;
    res.writeHead(reply.status ?? 200, { 'content-type': reply.contentType ?? 'application/json' });
    res.end(reply.body ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const json = (body: string, status = 200): Reply => ({ status, body });
export const xml = (body: string, status = 200): Reply => ({ status, body, contentType: 'application/xml' });
