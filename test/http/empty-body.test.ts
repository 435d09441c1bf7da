// A POST that takes no body (cancel, rotate-secret, redeliver) sent as `curl -X POST` does it: over
// real HTTP on Node, no Content-Length and no Content-Type. It answered 415 (issue 13 item 11).
import { request } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestContext, createTestMerchant, jsonRequest, type TestContext } from '../helpers/services';

let ctx: TestContext;
let server: ReturnType<typeof serve>;
let port: number;
beforeAll(async () => {
  ctx = await createTestContext();
  server = serve({ fetch: ctx.app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((r) => server.once('listening', () => r()));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.close();
  await ctx.close();
});

// Written by hand on a socket: Node's own client adds Content-Length: 0 to a POST without a body,
// curl does not.
const post = (path: string, headers: Record<string, string>) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let raw = '';
    socket.setEncoding('utf8').on('data', (d: string) => (raw += d));
    socket.on('error', reject);
    socket.on('end', () => {
      const [head = '', body = ''] = raw.split('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), body });
    });
    const lines = Object.entries({ host: `127.0.0.1:${port}`, connection: 'close', ...headers }).map(
      ([k, v]) => `${k}: ${v}`,
    );
    socket.write(`POST ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
  });

it.each([
  ['no headers at all', {}],
  ['Content-Length: 0', { 'content-length': '0' }],
])('cancel with %s is a cancel, not a 415', async (_what, extra) => {
  const { apiKey } = await createTestMerchant(ctx);
  const created = await ctx.app.request(
    '/v1/invoices',
    jsonRequest(apiKey.apiKey, { amount: '100.00', currency: 'KZT' }),
  );
  const { id } = (await created.json()) as { id: string };
  const res = await post(`/v1/invoices/${id}/cancel`, { authorization: `Bearer ${apiKey.apiKey}`, ...extra });
  expect(res.status, res.body).toBe(200);
  expect(JSON.parse(res.body)).toMatchObject({ id, status: 'invalid' });
});

it('a body that is not JSON is still 415', async () => {
  const { apiKey } = await createTestMerchant(ctx);
  const res = await new Promise<number>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/invoices',
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey.apiKey}`, 'content-type': 'text/plain' },
      },
      (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end('amount=1');
  });
  expect(res).toBe(415);
});
