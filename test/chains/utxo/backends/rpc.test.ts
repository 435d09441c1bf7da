// The Core JSON-RPC client against a local HTTP server that answers the way bitcoind/litecoind do
// (HTTP 500 + JSON body for RPC errors, 401 with an empty body for bad credentials, arrays for
// batches): basic auth, exact amounts, retries only where a retry can help, timeouts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  coinsToAtomic,
  createRpcClient,
  parseRpcJson,
  RpcError,
  unwrapBatch,
} from '../../../../src/chains/utxo/backends/rpc';
import { TimeoutError } from '../../../../src/lib/http';

interface Call {
  readonly method: string;
  readonly params: unknown;
  readonly id: number;
}
type Reply = (calls: Call | Call[], req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let port: number;
let reply: Reply;
let requests: { auth: string | undefined; path: string; body: unknown }[];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      const parsed = JSON.parse(body) as Call | Call[];
      requests.push({ auth: req.headers.authorization, path: req.url ?? '', body: parsed });
      reply(parsed, req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => {
  server.closeAllConnections();
  return new Promise<void>((r) => server.close(() => r()));
});
beforeEach(() => {
  requests = [];
});

const send = (res: ServerResponse, status: number, body: string) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body);
};
const ok = (id: number, resultJson: string) => `{"result":${resultJson},"error":null,"id":${id}}`;
const fail = (id: number, code: number, message: string) =>
  `{"result":null,"error":{"code":${code},"message":"${message}"},"id":${id}}`;
const client = (o: { retries?: number; timeoutMs?: number } = {}) =>
  createRpcClient({ url: `http://alice:s%3Acret@127.0.0.1:${port}`, retryDelayMs: 1, ...o });

describe('Core JSON-RPC client', () => {
  it('authenticates with the URL credentials (never sent in the URL) and keeps amounts exact', async () => {
    reply = (c, _q, res) =>
      send(
        res,
        200,
        ok(
          (c as Call).id,
          '{"txid":"ab","vout":[{"value":0.10000001,"n":0},{"value":20999999.99999999,"n":1}]}',
        ),
      );
    const tx = await client().call<{ vout: { value: unknown }[] }>('getrawtransaction', ['ab', true]);
    expect(requests[0]!.auth).toBe(`Basic ${Buffer.from('alice:s:cret').toString('base64')}`);
    expect(requests[0]!.path).toBe('/');
    expect(requests[0]!.body).toMatchObject({ method: 'getrawtransaction', params: ['ab', true] });
    // 0.10000001 and 20999999.99999999 are not representable as binary floats.
    expect(tx.vout.map((o) => coinsToAtomic(o.value))).toEqual([10_000_001n, 2_099_999_999_999_999n]);
  });

  it('turns RPC errors into RpcError without retrying them', async () => {
    reply = (c, _q, res) =>
      send(res, 500, fail((c as Call).id, -5, 'No such mempool or blockchain transaction'));
    const err = await client()
      .call('getrawtransaction', ['00'])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect((err as RpcError).rpcCode).toBe(-5);
    expect(requests).toHaveLength(1);
  });

  it('retries while the node warms up and on transport failures, then succeeds', async () => {
    let n = 0;
    reply = (c, _q, res) => {
      n++;
      if (n === 1) return send(res, 500, fail((c as Call).id, -28, 'Loading block index...'));
      if (n === 2) return send(res, 503, '<html>Service Unavailable</html>');
      send(res, 200, ok((c as Call).id, '812'));
    };
    expect(await client({ retries: 2 }).call<number>('getblockcount')).toBe(812);
    expect(n).toBe(3);
  });

  it('names bad credentials, and times out a node that does not answer', async () => {
    reply = (_c, _q, res) => {
      res.writeHead(401);
      res.end();
    };
    await expect(client().call('getblockcount')).rejects.toThrow(/refused the credentials/);
    expect(requests).toHaveLength(1);
    reply = () => {}; // never answers
    await expect(client({ retries: 1, timeoutMs: 50 }).call('getblockcount')).rejects.toBeInstanceOf(
      TimeoutError,
    );
    expect(requests).toHaveLength(3);
  });

  it('sends batches in one request and returns each answer or its error, in order', async () => {
    reply = (calls, _q, res) => {
      const list = calls as Call[];
      // Answers out of order, as a server may: matched by id.
      const parts = [...list]
        .reverse()
        .map((c) =>
          c.method === 'getblockhash' && c.params && (c.params as number[])[0] === 99
            ? fail(c.id, -8, 'Block height out of range')
            : ok(c.id, `"${c.method}-${(c.params as number[])[0]}"`),
        );
      send(res, 200, `[${parts.join(',')}]`);
    };
    const r = await client().batch<string>([
      ['getblockhash', [1]],
      ['getblockhash', [99]],
      ['getblockhash', [2]],
    ]);
    expect(requests).toHaveLength(1);
    expect(r[0]).toBe('getblockhash-1');
    expect(r[1]).toBeInstanceOf(RpcError);
    expect(r[2]).toBe('getblockhash-2');
    expect(() => unwrapBatch(r)).toThrow(/out of range/);
  });

  it('sends named parameters and wallet paths', async () => {
    reply = (c, _q, res) => send(res, 200, ok((c as Call).id, '"txid"'));
    await client().withPath('/wallet/sandbox').call('sendtoaddress', { address: 'x', amount: '0.3' });
    expect(requests[0]!.path).toBe('/wallet/sandbox');
    expect(requests[0]!.body).toMatchObject({ params: { address: 'x', amount: '0.3' } });
  });
});

describe('exact amounts', () => {
  it('quotes only amount keys, never text inside strings', () => {
    const v = parseRpcJson('{"value":1.5,"n":3,"asm":"\\"value\\":2","fees":{"base":0.00001410}}') as Record<
      string,
      unknown
    >;
    expect(v).toEqual({ value: '1.5', n: 3, asm: '"value":2', fees: { base: '0.00001410' } });
  });

  it('reads decimal strings as atomic units and refuses exponents and excess places', () => {
    expect(coinsToAtomic('0.00000001')).toBe(1n);
    expect(coinsToAtomic('-0.5')).toBe(-50_000_000n);
    expect(() => coinsToAtomic('1e-8')).toThrow();
    expect(() => coinsToAtomic('0.123456789')).toThrow();
    expect(() => coinsToAtomic(0.5)).toThrow();
  });
});
