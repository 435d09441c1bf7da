// The JSON-RPC client against local HTTP servers: retries, fallback in order, a cooldown for a URL
// that failed, timeouts, and no retry for answers that retrying cannot change.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createEvmRpc, EvmRpcResponseError, EvmRpcUnavailableError } from '../../../src/chains/evm/rpc';

type Handler = (
  body: { id: number; method: string },
  n: number,
) => { status?: number; body?: unknown; hang?: boolean };

const servers: Server[] = [];
async function serve(handler: Handler): Promise<{ url: string; hits: () => number }> {
  let n = 0;
  const server = createServer(async (req, res) => {
    let raw = '';
    for await (const c of req) raw += c;
    const r = handler(JSON.parse(raw), ++n);
    if (r.hang) return;
    res.writeHead(r.status ?? 200, { 'content-type': 'application/json' });
    res.end(typeof r.body === 'string' ? r.body : JSON.stringify(r.body));
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => n };
}
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});

const ok =
  (result: unknown): Handler =>
  (b) => ({ body: { jsonrpc: '2.0', id: b.id, result } });

describe('EVM JSON-RPC client', () => {
  it('returns the result and sends a well-formed request', async () => {
    let seen: unknown;
    const s = await serve((b) => {
      seen = b;
      return { body: { jsonrpc: '2.0', id: b.id, result: '0x10' } };
    });
    const rpc = createEvmRpc({ urls: [s.url], timeoutMs: 1000 });
    expect(await rpc.call('eth_blockNumber')).toBe('0x10');
    expect(seen).toMatchObject({ jsonrpc: '2.0', method: 'eth_blockNumber', params: [] });
  });

  it('retries HTTP errors, overload answers and garbage, then succeeds', async () => {
    const s = await serve((b, n) => {
      if (n === 1) return { status: 502, body: 'bad gateway' };
      if (n === 2)
        return { body: { jsonrpc: '2.0', id: b.id, error: { code: -32005, message: 'limit exceeded' } } };
      if (n === 3) return { body: '{"jsonrpc":' };
      return { body: { jsonrpc: '2.0', id: b.id, result: 'fine' } };
    });
    const rpc = createEvmRpc({ urls: [s.url], timeoutMs: 1000, retries: 3, backoffMs: 1 });
    expect(await rpc.call('eth_chainId')).toBe('fine');
    expect(s.hits()).toBe(4);
  });

  it('gives up after its retries with EvmRpcUnavailableError', async () => {
    const s = await serve(() => ({ status: 500, body: 'down' }));
    const rpc = createEvmRpc({ urls: [s.url], timeoutMs: 1000, retries: 2, backoffMs: 1 });
    const err = await rpc.call<never>('eth_chainId').catch((e: unknown) => e as EvmRpcUnavailableError);
    expect(err).toBeInstanceOf(EvmRpcUnavailableError);
    expect(err.code).toBe('evm_rpc_unavailable');
    expect(s.hits()).toBe(3);
  });

  it('does not retry an answer retrying cannot change (a revert, bad params)', async () => {
    const s = await serve((b) => ({
      body: { jsonrpc: '2.0', id: b.id, error: { code: 3, message: 'execution reverted', data: '0x1234' } },
    }));
    const other = await serve(ok('never'));
    const rpc = createEvmRpc({ urls: [s.url, other.url], timeoutMs: 1000, retries: 3 });
    const err = await rpc.call<never>('eth_call').catch((e: unknown) => e as EvmRpcResponseError);
    expect(err).toBeInstanceOf(EvmRpcResponseError);
    expect(err).toMatchObject({ rpcCode: 3, data: '0x1234' });
    expect(s.hits()).toBe(1);
    expect(other.hits()).toBe(0);
  });

  it('falls back in order past a URL that times out, then leaves it last while it cools down', async () => {
    const hung = await serve(() => ({ hang: true }));
    const second = await serve(ok('second'));
    const third = await serve(ok('third'));
    const rpc = createEvmRpc({ urls: [hung.url, second.url, third.url], timeoutMs: 100, retries: 0 });
    expect(await rpc.call('eth_chainId')).toBe('second');
    expect(await rpc.call('eth_chainId')).toBe('second');
    expect(hung.hits()).toBe(1);
    expect(third.hits()).toBe(0);
  });

  it('times out every URL and reports it', async () => {
    const hung = await serve(() => ({ hang: true }));
    const rpc = createEvmRpc({ urls: [hung.url], timeoutMs: 50, retries: 1, backoffMs: 1, cooldownMs: 0 });
    const err = await rpc.call<never>('eth_chainId').catch((e: unknown) => e as EvmRpcUnavailableError);
    expect(err).toBeInstanceOf(EvmRpcUnavailableError);
    expect(String(err.message)).toMatch(/timed out/);
    expect(hung.hits()).toBe(2);
  });

  it('refuses to be built without a URL', () => {
    expect(() => createEvmRpc({ urls: [], timeoutMs: 1 })).toThrow(RangeError);
  });
});
