// The Esplora backend against responses in Esplora's real format (test/fixtures/esplora), served by
// a local HTTP server: parsing edge cases, paging, backoff on 429/5xx, and the verdicts on payments
// it no longer sees (status, outspends).
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createEsploraBackend,
  createEsploraClient,
  EsploraError,
} from '../../../../src/chains/utxo/backends/esplora';
import type { KnownPayment } from '../../../../src/chains/utxo/backends/types';

const FIX = join(import.meta.dirname, '../../../fixtures/esplora');
const fixture = (name: string) => readFileSync(join(FIX, name), 'utf8');

const A = 'tb1q6rz28mcfaxtmd6v789l9rrlrusdprr9pqcpvkl';
const SA = '0014d0c4a3ef09e997b6e99e397e518fe3e41a118ca1';
const B = 'tb1qd7spv5q28348xl4myc8zmh983w5jx32cjhkn97';
const SB = '00146fa016500a3c6a737ebb260e2ddca78ba9234558';
const PAYER = 'tb1qynpgs6wap6h9uvy7j0xlesew2w82qn038zm5km';
const P2TR = 'tb1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqp3mvzv';
const TXS = JSON.parse(fixture('address-txs.json')) as { txid: string }[];
const [MEMPOOL_TX, TWO_OUT_TX, COINBASE_TX] = TXS.map((t) => t.txid) as [string, string, string];
const BUSY = JSON.parse(fixture('address-txs-busy.json')) as { txid: string }[];

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let server: Server;
let base: string;
let routes: Map<string, Handler>;
let hits: string[];

const text =
  (body: string, status = 200, headers: Record<string, string> = {}): Handler =>
  (_q, res) => {
    res.writeHead(status, { 'content-type': 'text/plain', ...headers });
    res.end(body);
  };
const json = (name: string): Handler => text(fixture(name));

function standardRoutes() {
  routes = new Map<string, Handler>([
    ['/blocks/tip/height', text(fixture('tip-height.txt'))],
    [`/address/${A}/txs`, json('address-txs.json')],
    [`/address/${B}/txs`, json('address-txs-busy.json')],
    [`/address/${B}/txs/chain/${BUSY[24]!.txid}`, json('address-txs-chain-busy.json')],
  ]);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    const h = routes.get(req.url ?? '');
    if (h) return h(req, res);
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('Transaction not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  hits = [];
  standardRoutes();
});

const client = (o: { retries?: number } = {}) =>
  createEsploraClient({ baseUrl: base, retries: o.retries ?? 2, retryDelayMs: 1, maxRetryDelayMs: 5 });
const backend = (o: { retries?: number } = {}) =>
  createEsploraBackend({ network: 'bitcoin-testnet4', client: client(o) });
const watched = (pairs: [string, string][]) => ({
  scripts: new Set(pairs.map(([, s]) => s)),
  addresses: new Map(pairs),
});

describe('Esplora backend: parsing', () => {
  it('reports every output paying a watched script, with confirmations, senders and RBF', async () => {
    const obs = await backend().observe({ cursor: undefined, watched: watched([[A, SA]]), known: new Map() });
    expect(obs.tipHeight).toBe(72391);
    // One request for the tip, one for the address's history: nothing else is asked for.
    expect(hits).toEqual(['GET /blocks/tip/height', `GET /address/${A}/txs`]);
    expect(obs.stats.requests).toBe(2);
    expect(obs.cursor).toEqual({ tipHeight: 72391 });
    const byKey = new Map(obs.outputs.map((o) => [`${o.txid}:${o.vout}`, o]));
    expect([...byKey.keys()].sort()).toEqual(
      [`${MEMPOOL_TX}:0`, `${TWO_OUT_TX}:0`, `${TWO_OUT_TX}:1`, `${COINBASE_TX}:0`].sort(),
    );
    const pool = byKey.get(`${MEMPOOL_TX}:0`)!;
    expect(pool).toMatchObject({ confirmations: 0, blockHash: null, blockHeight: null, rbf: true });
    expect(pool.valueAtomic).toBe(30_000_000n);
    expect(pool.fromAddresses).toEqual([PAYER]);
    expect(pool.inputs).toHaveLength(1);

    // Two outputs to one address; values above 2^32 kept exact; a P2TR sender; no RBF (0xfffffffe).
    const first = byKey.get(`${TWO_OUT_TX}:0`)!;
    const second = byKey.get(`${TWO_OUT_TX}:1`)!;
    expect(first.valueAtomic).toBe(4_294_967_297n);
    expect(second.valueAtomic).toBe(12_345n);
    expect(first).toMatchObject({ confirmations: 2, blockHeight: 72390, rbf: false });
    expect([...first.fromAddresses].sort()).toEqual([PAYER, P2TR].sort());

    const cb = byKey.get(`${COINBASE_TX}:0`)!;
    expect(cb).toMatchObject({ confirmations: 17, fromAddresses: [], inputs: [] });
    expect(obs.verdicts.size).toBe(0);
  });

  it('follows the confirmed history of a busy address onto its next page', async () => {
    const obs = await backend().observe({ cursor: undefined, watched: watched([[B, SB]]), known: new Map() });
    // 25 on the first page, 1 on the next, plus the output to B inside the shared fixture is not
    // fetched (A is not watched).
    expect(obs.outputs).toHaveLength(26);
    expect(hits).toContain(`GET /address/${B}/txs/chain/${BUSY[24]!.txid}`);
    expect(obs.outputs.find((o) => o.blockHeight === 72000)!.valueAtomic).toBe(100_025n);
  });

  it('refuses values that are not whole satoshis and answers that are not JSON', async () => {
    const bad = JSON.parse(fixture('address-txs.json'));
    bad[0].vout[0].value = 0.3;
    routes.set(`/address/${A}/txs`, text(JSON.stringify(bad)));
    await expect(
      backend().observe({ cursor: undefined, watched: watched([[A, SA]]), known: new Map() }),
    ).rejects.toThrow(/whole number of satoshis/);
    routes.set(`/address/${A}/txs`, text('<html>upstream error</html>'));
    await expect(client().addressTxs(A)).rejects.toBeInstanceOf(EsploraError);
    routes.set('/blocks/tip/height', text('not a number'));
    await expect(client().tipHeight()).rejects.toThrow(/not a number/);
  });
});

describe('Esplora backend: retries', () => {
  it('backs off on 429 (Retry-After) and 5xx, then succeeds', async () => {
    let n = 0;
    routes.set('/blocks/tip/height', (q, r) => {
      n++;
      if (n === 1) return text('slow down', 429, { 'retry-after': '0' })(q, r);
      if (n === 2) return text('bad gateway', 502)(q, r);
      return text('100')(q, r);
    });
    expect(await client().tipHeight()).toBe(100);
    expect(n).toBe(3);
  });

  it('gives up after its retries with the status, and does not retry a 400', async () => {
    routes.set('/blocks/tip/height', text('down', 503));
    const err = await client({ retries: 2 })
      .tipHeight()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EsploraError);
    expect((err as EsploraError).httpStatus).toBe(503);
    expect(hits.filter((h) => h.endsWith('/blocks/tip/height'))).toHaveLength(3);
    hits = [];
    routes.set(
      '/tx',
      text('sendrawtransaction RPC error: {"code":-25,"message":"bad-txns-inputs-missingorspent"}', 400),
    );
    await expect(client().broadcast('00')).rejects.toThrow(/HTTP 400/);
    expect(hits).toHaveLength(1);
  });
});

describe('Esplora backend: verdicts on counted payments', () => {
  const known = (txid: string, inputs: string[] = []): KnownPayment => ({
    txid,
    blockHash: null,
    blockHeight: null,
    confirmations: 0,
    inputs,
  });
  const P1 = 'a'.repeat(64);
  const P2 = 'b'.repeat(64);
  const P3 = 'c'.repeat(64);
  const PREV = 'd'.repeat(64);

  it('reads confirmations of payments seen again, and asks the status of the others', async () => {
    routes.set(`/tx/${P1}/status`, json('tx-status-confirmed.json'));
    routes.set(`/tx/${P2}/status`, json('tx-status-mempool.json'));
    const obs = await backend().observe({
      cursor: undefined,
      watched: watched([[A, SA]]),
      known: new Map([
        [TWO_OUT_TX, known(TWO_OUT_TX)],
        [P1, known(P1)],
        [P2, known(P2)],
      ]),
    });
    expect(obs.verdicts.get(TWO_OUT_TX)).toMatchObject({
      kind: 'confirmed',
      confirmations: 2,
      blockHeight: 72390,
    });
    expect(obs.verdicts.get(P1)).toMatchObject({ kind: 'confirmed', confirmations: 12, blockHeight: 72380 });
    expect(obs.verdicts.get(P2)).toEqual({ kind: 'mempool' });
  });

  it('calls a vanished payment replaced when its input is spent elsewhere, reorged otherwise', async () => {
    routes.set(`/tx/${PREV}/outspend/0`, json('outspend-spent.json'));
    routes.set(`/tx/${PREV}/outspend/1`, json('outspend-unspent.json'));
    const spender = JSON.parse(fixture('outspend-spent.json')).txid as string;
    const obs = await backend().observe({
      cursor: undefined,
      watched: watched([]),
      known: new Map([
        [P1, known(P1, [`${PREV}:0`])],
        [P3, known(P3, [`${PREV}:1`])],
      ]),
    });
    expect(obs.verdicts.get(P1)).toEqual({ kind: 'gone', reason: 'replaced', replacedBy: spender });
    expect(obs.verdicts.get(P3)).toEqual({ kind: 'gone', reason: 'reorged' });
  });
});

/** Just enough of a parsed fixture transaction to break it. */
interface RawTx {
  txid: unknown;
  vout: { value: unknown; scriptpubkey: unknown }[];
  status?: { block_height?: unknown };
}

describe('Esplora backend: malformed answers', () => {
  const tamper = (edit: (txs: RawTx[]) => unknown) => {
    const txs = JSON.parse(fixture('address-txs.json'));
    routes.set(`/address/${A}/txs`, text(JSON.stringify(edit(txs) ?? txs)));
  };
  const observeA = () =>
    backend().observe({ cursor: undefined, watched: watched([[A, SA]]), known: new Map() });

  it.each([
    [
      'a transaction without status',
      (t: RawTx[]) => {
        delete t[0]!.status;
      },
      /at \[0\]\.status:/,
    ],
    [
      'outputs that are not a list',
      (t: RawTx[]) => {
        t[1]!.vout = {} as never;
      },
      /at \[1\]\.vout:/,
    ],
    [
      'a value as a string',
      (t: RawTx[]) => {
        t[0]!.vout[0]!.value = '30000000';
      },
      /at \[0\]\.vout\[0\]\.value:/,
    ],
    [
      'a negative value',
      (t: RawTx[]) => {
        t[0]!.vout[0]!.value = -1;
      },
      /at \[0\]\.vout\[0\]\.value:/,
    ],
    [
      'a value beyond 2^53',
      (t: RawTx[]) => {
        t[0]!.vout[0]!.value = 2 ** 53;
      },
      /at \[0\]\.vout\[0\]\.value:/,
    ],
    [
      'a txid that is not hex',
      (t: RawTx[]) => {
        t[0]!.txid = 'zz';
      },
      /at \[0\]\.txid: expected a 64-digit hex id/,
    ],
    [
      'a script that is not hex',
      (t: RawTx[]) => {
        t[0]!.vout[0]!.scriptpubkey = 'OP_0 ab';
      },
      /scriptpubkey: expected a hex script/,
    ],
    [
      'a confirmed status without its block',
      (t: RawTx[]) => {
        delete t[1]!.status!.block_height;
      },
      /at \[1\]\.status: a confirmed status needs block_height and block_hash/,
    ],
    ['an object instead of the list', () => ({ txs: [] }), /at \(root\)/],
  ])('refuses %s, naming the field, and reports no output', async (_name, edit, message) => {
    tamper(edit as (t: RawTx[]) => unknown);
    const err = await observeA().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EsploraError);
    expect((err as Error).message).toMatch(/malformed answer/);
    expect((err as Error).message).toMatch(message);
  });

  it('refuses a spent outspend without its spender, and a status that is not one', async () => {
    const PREV = 'e'.repeat(64);
    routes.set(`/tx/${PREV}/outspend/0`, text('{"spent":true}'));
    await expect(client().outspend(PREV, 0)).rejects.toThrow(/spending txid/);
    routes.set(`/tx/${PREV}/status`, text('{"confirmed":"yes"}'));
    await expect(client().txStatus(PREV)).rejects.toThrow(/malformed answer at \.confirmed/);
  });

  it('with retryRateLimited off, a 429 is thrown at once with its Retry-After', async () => {
    routes.set('/blocks/tip/height', text('slow down', 429, { 'retry-after': '7' }));
    const c = createEsploraClient({ baseUrl: base, retries: 3, retryDelayMs: 1, retryRateLimited: false });
    const err = (await c.tipHeight().catch((e: unknown) => e)) as EsploraError;
    expect(err).toBeInstanceOf(EsploraError);
    expect(err.httpStatus).toBe(429);
    expect(err.retryAfterMs).toBe(7000);
    expect(hits).toHaveLength(1);
    expect(c.requests).toBe(1);
  });
});
