// The pinned fetch of webhook deliveries (src/webhooks/pinned.ts): the connection goes to the address
// the checked resolution answered, never to a second, unchecked lookup's.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchText, TimeoutError } from '../../src/lib/http';
import { createPinnedFetch } from '../../src/webhooks/pinned';
import { UnsafeWebhookUrlError } from '../../src/webhooks/ssrf';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly host: string;
  readonly body: string;
  readonly remotePort: number;
}

let server: Server;
let port: number;
const seen: Seen[] = [];

beforeAll(async () => {
  server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      host: req.headers.host ?? '',
      body: Buffer.concat(chunks).toString('utf8'),
      remotePort: req.socket.remotePort ?? 0,
    });
    if (req.url === '/empty') {
      res.writeHead(204).end();
    } else if (req.url === '/slow') {
      setTimeout(() => res.writeHead(200).end('late'), 2_000);
    } else {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.writeHead(202, { 'content-type': 'text/plain', 'retry-after': '7' }).end(`got ${req.method}`);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

/** A resolver that answers from a script: one answer per lookup, the last one repeated. */
function scripted(...answers: string[][]) {
  const calls: string[] = [];
  const resolve = async (host: string) => {
    calls.push(host);
    return answers[Math.min(calls.length - 1, answers.length - 1)]!;
  };
  return { resolve, calls };
}

describe('createPinnedFetch', () => {
  it('connects to the address the resolver gave, for a name no real DNS knows', async () => {
    const { resolve, calls } = scripted(['127.0.0.1']);
    const pinned = createPinnedFetch({ allowPrivate: true, resolve });
    const before = seen.length;
    const res = await pinned(`http://receiver.invalid:${port}/hooks?x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': 'msg_1' },
      body: '{"type":"invoice.created"}',
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(res.headers.get('set-cookie')).toBe('a=1, b=2');
    expect(await res.text()).toBe('got POST');
    expect(calls).toEqual(['receiver.invalid']);
    expect(seen.slice(before)).toEqual([
      expect.objectContaining({
        method: 'POST',
        url: '/hooks?x=1',
        host: `receiver.invalid:${port}`,
        body: '{"type":"invoice.created"}',
      }),
    ]);
  });

  it('refuses the connection when the lookup it makes answers a private address (DNS rebinding)', async () => {
    // The check saw a public address; the connection's own lookup now answers loopback.
    const { resolve, calls } = scripted(['127.0.0.1']);
    const pinned = createPinnedFetch({ allowPrivate: false, resolve });
    const before = seen.length;
    const err = await pinned(`http://rebind.invalid:${port}/hooks`, { method: 'POST', body: '{}' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UnsafeWebhookUrlError);
    expect((err as UnsafeWebhookUrlError).message).toMatch(/resolves to 127\.0\.0\.1, a loopback address/);
    expect(calls).toEqual(['rebind.invalid']);
    expect(seen.length).toBe(before);
  });

  it('refuses a name whose answers mix public and private addresses', async () => {
    const { resolve } = scripted(['93.184.216.34', '10.0.0.7']);
    const pinned = createPinnedFetch({ allowPrivate: false, resolve });
    await expect(pinned(`http://mixed.invalid:${port}/`)).rejects.toThrow(/10\.0\.0\.7, a private-network/);
  });

  it('a 204 has no body; a second request reuses the kept-alive connection', async () => {
    const pinned = createPinnedFetch({ allowPrivate: true, resolve: scripted(['127.0.0.1']).resolve });
    const before = seen.length;
    const a = await pinned(`http://keepalive.invalid:${port}/empty`, { method: 'POST', body: 'x' });
    expect(a.status).toBe(204);
    expect(a.body).toBeNull();
    const b = await pinned(`http://keepalive.invalid:${port}/other`, { method: 'POST', body: 'y' });
    await b.text();
    const [first, second] = seen.slice(before);
    expect(second!.remotePort).toBe(first!.remotePort);
  });

  it('the caller’s signal aborts it: fetchText times out as with any fetch', async () => {
    const pinned = createPinnedFetch({ allowPrivate: true, resolve: scripted(['127.0.0.1']).resolve });
    const started = Date.now();
    await expect(
      fetchText(`http://slow.invalid:${port}/slow`, { method: 'POST', timeoutMs: 200, fetchImpl: pinned }),
    ).rejects.toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('an unresolvable name fails with the resolver’s error code', async () => {
    const pinned = createPinnedFetch({
      allowPrivate: false,
      resolve: async () => {
        throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.invalid'), { code: 'ENOTFOUND' });
      },
    });
    await expect(pinned(`http://nowhere.invalid:${port}/`)).rejects.toMatchObject({ reason: 'unresolvable' });
  });
});

describe('createPinnedFetch over https', () => {
  // A self-signed certificate for webhook.test (test/fixtures/tls), trusted only where said.
  const fixture = (name: string) => readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url), 'utf8');
  const cert = fixture('webhook.test.crt');
  let tlsServer: ReturnType<typeof createTlsServer>;
  let tlsPort: number;
  const servernames: (string | false)[] = [];
  beforeAll(async () => {
    tlsServer = createTlsServer({ cert, key: fixture('webhook.test.key') }, (req, res) => {
      // The name the client asked for in its TLS hello (SNI), as node:tls records it.
      servernames.push((req.socket as unknown as { servername?: string | false }).servername ?? false);
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`tls ${req.headers.host}`);
    });
    await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', () => r()));
    tlsPort = (tlsServer.address() as AddressInfo).port;
  });
  afterAll(async () => {
    tlsServer.closeAllConnections();
    await new Promise<void>((r) => tlsServer.close(() => r()));
  });

  it('connects to the pinned address yet verifies the certificate for the URL’s name (SNI too)', async () => {
    const { resolve, calls } = scripted(['127.0.0.1']);
    const pinned = createPinnedFetch({ allowPrivate: true, resolve, extraCa: [cert] });
    const res = await pinned(`https://webhook.test:${tlsPort}/hooks`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(`tls webhook.test:${tlsPort}`);
    expect(calls).toEqual(['webhook.test']);
    expect(servernames.at(-1)).toBe('webhook.test');
  });

  it('refuses a certificate for another name, and one nobody trusts', async () => {
    const wrongName = createPinnedFetch({
      allowPrivate: true,
      resolve: scripted(['127.0.0.1']).resolve,
      extraCa: [cert],
    });
    await expect(wrongName(`https://other.test:${tlsPort}/`)).rejects.toMatchObject({
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
    const untrusted = createPinnedFetch({ allowPrivate: true, resolve: scripted(['127.0.0.1']).resolve });
    await expect(untrusted(`https://webhook.test:${tlsPort}/`)).rejects.toMatchObject({
      code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    });
  });

  it('checks the resolved address over https as over http (DNS rebinding)', async () => {
    const pinned = createPinnedFetch({
      allowPrivate: false,
      resolve: scripted(['127.0.0.1']).resolve,
      extraCa: [cert],
    });
    await expect(pinned(`https://webhook.test:${tlsPort}/`)).rejects.toBeInstanceOf(UnsafeWebhookUrlError);
  });
});
