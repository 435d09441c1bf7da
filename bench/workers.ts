// Workers (SPEC section 9): invoice creation, invoice read and checkout page latency through
// `wrangler dev` (workerd, the real src/worker.ts with its Hyperdrive binding pointed at the database)
// beside the Node app, on the same PostgreSQL, in one run; and the same bundle in workerd without
// wrangler dev around it (lib/workerd.ts), to show what wrangler's own proxy and relay add. One
// client, requests one at a time and rotated between the sides, so all see the same database state
// and machine load. Locally every Worker request opens its own connection (production's Hyperdrive
// pools them), so this is the Workers per-request cost at its worst: a fresh connection (a backend
// fork) and, since postgres.js prepares per connection, a describe round trip before each
// parameterized statement's first run, which Node's warm pool skips. /readyz (one query) shows that
// floor. `npx tsx bench/workers-trace.ts` counts the connections, statements and round trips per
// request. Goal: Workers within 2× of Node per request.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { createApp } from '../src/app';
import { type Config, loadConfig } from '../src/config';
import { createSql, type Sql } from '../src/db/client';
import { migrate } from '../src/db/migrate';
import { silentLogger } from '../src/lib/log';
import { createMerchant } from '../src/merchants/repository';
import { DEMO_VPUB } from '../src/seed';
import { createServices, ratesFromConfig } from '../src/services';
import { openBenchDatabase } from './lib/database';
import { envNumber, ms, ratioOf } from './lib/format';
import { type LatencySummary, summariseLatencies } from './lib/latency';
import type { Bench, BenchRow } from './lib/types';
import { startWorkerd } from './lib/workerd';

export const WORKERS_RATIO_GOAL = 2;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NODELAY = fileURLToPath(new URL('./lib/nodelay.cjs', import.meta.url));
/**
 * Options are offered only on watched networks: nodes nobody answers make the merchant's two networks
 * watched, the same on both sides. The checkout page asks for a check of its invoice, which on these
 * networks fails at the node's refused connection: with no retries, at once (the default 200 + 400 ms
 * backoff would be most of the page's time on both sides and hide the difference measured here).
 */
export const WATCHED = {
  BITCOIN_REGTEST_RPC_URL: 'http://u:p@127.0.0.1:9',
  LITECOIN_REGTEST_RPC_URL: 'http://u:p@127.0.0.1:9',
  UTXO_RETRIES: '0',
} as const;
const OPS = ['create', 'read', 'checkout', 'healthz', 'readyz'] as const;
type Op = (typeof OPS)[number];
/** The SPEC's three; /healthz and /readyz are printed as the floor they stand on. */
const GOAL_OPS: readonly Op[] = ['create', 'read', 'checkout'];

export interface WorkersBenchResult {
  readonly database: string;
  readonly rounds: number;
  readonly node: Record<Op, LatencySummary>;
  readonly workers: Record<Op, LatencySummary>;
  /** workers p50 / node p50 per operation. */
  readonly ratio: Record<Op, number>;
  /**
   * The same bundle in workerd without wrangler dev around it (Miniflare, lib/workerd.ts): no
   * proxy worker in front and no local Hyperdrive relay behind, each request's client connecting
   * straight to PostgreSQL. What is left is the runtime and the per-request connection.
   */
  readonly workerd?: Record<Op, LatencySummary>;
  /** workerd p50 / node p50 per operation. */
  readonly workerdRatio?: Record<Op, number>;
  /**
   * The Node app run the Worker's way: a new client with one connection per request (fetch_types
   * off, prepared statements on), ended after the response. Its cost over `node` is the per-request
   * connection's, with no Workers runtime in it.
   */
  readonly nodeFresh: Record<Op, LatencySummary>;
  /** node-fresh p50 / node p50 per operation. */
  readonly nodeFreshRatio: Record<Op, number>;
  readonly wranglerStartSeconds: number;
}

interface Side {
  readonly name: 'node' | 'node-fresh' | 'workers' | 'workerd';
  readonly url: string;
  readonly times: Record<Op, number[]>;
}

export async function benchWorkers(
  opts: { rounds?: number; warmup?: number } = {},
): Promise<WorkersBenchResult> {
  const rounds = opts.rounds ?? envNumber('BENCH_WORKERS_ROUNDS', 100);
  const warmup = opts.warmup ?? envNumber('BENCH_WORKERS_WARMUP', 15);
  const db = await openBenchDatabase({ maxConnections: 20 });
  if (db.kind !== 'postgresql') {
    await db.close();
    throw new Error(`the Workers bench needs PostgreSQL (wrangler dev cannot reach PGlite): ${db.note}`);
  }
  const stops: (() => Promise<void>)[] = [async () => db.close()];
  try {
    const config = loadConfig({
      NETWORK_MODE: 'sandbox',
      LOG_LEVEL: 'silent',
      DATABASE_URL: db.url,
      ...WATCHED,
    });
    const sql = createSql(db.url);
    stops.unshift(() => sql.end({ timeout: 5 }));
    await migrate(sql);
    const { apiKey } = await createMerchant(sql, {
      name: 'Bench Café',
      mode: 'test',
      xpubs: { 'bitcoin-regtest': DEMO_VPUB, 'litecoin-regtest': DEMO_VPUB },
    });

    const app = createApp(config, createServices(config, sql, { logger: silentLogger }));
    const node = await listen(app.fetch);
    stops.unshift(node.close);
    const fresh = await listen(perRequestConnectionApp(config, db.url));
    stops.unshift(fresh.close);

    const started = performance.now();
    const wrangler = await startWranglerDev(db.url);
    stops.unshift(wrangler.stop);
    const wranglerStartSeconds = Math.round((performance.now() - started) / 100) / 10;

    const direct = process.env.BENCH_WORKERS_DIRECT === '0' ? undefined : await startWorkerd(db.url, WATCHED);
    if (direct) stops.unshift(direct.stop);

    const times = (): Record<Op, number[]> => ({
      create: [],
      read: [],
      checkout: [],
      healthz: [],
      readyz: [],
    });
    const sides: Side[] = [
      { name: 'node', url: node.url, times: times() },
      { name: 'node-fresh', url: fresh.url, times: times() },
      { name: 'workers', url: wrangler.url, times: times() },
      ...(direct ? [{ name: 'workerd' as const, url: direct.url, times: times() }] : []),
    ];
    for (let i = 0; i < warmup + rounds; i++) {
      // Alternate which side goes first, so neither always follows the other's writes.
      for (const side of rotate(sides, i)) {
        await oneRound(side, apiKey.apiKey, i >= warmup);
      }
    }
    const summary = (s: Side) =>
      Object.fromEntries(OPS.map((op) => [op, summariseLatencies(s.times[op])])) as Record<
        Op,
        LatencySummary
      >;
    const n = summary(sides[0]!);
    const f = summary(sides[1]!);
    const w = summary(sides[2]!);
    const d = sides[3] ? summary(sides[3]) : undefined;
    const ratios = (x: Record<Op, LatencySummary>) =>
      Object.fromEntries(OPS.map((op) => [op, ratioOf(x[op].p50, n[op].p50)])) as Record<Op, number>;
    return {
      database: db.server,
      rounds,
      node: n,
      workers: w,
      ratio: ratios(w),
      ...(d ? { workerd: d, workerdRatio: ratios(d) } : {}),
      nodeFresh: f,
      nodeFreshRatio: ratios(f),
      wranglerStartSeconds,
    };
  } finally {
    for (const stop of stops) await stop().catch(() => {});
  }
}

function listen(
  fetch: (req: Request) => Response | Promise<Response>,
): Promise<{ url: string; close: () => Promise<void> }> {
  return new Promise((resolve) => {
    const server = serve({ fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () => new Promise<void>((r) => server.close(() => r())),
      }),
    );
  });
}

/**
 * The Node app with the Worker's database policy (src/worker.ts): each request gets its own client
 * with at most one connection, no type lookup, prepared statements on, ended once the response body
 * has been read. What lives per isolate in the Worker (config, app, rates) lives per process here.
 */
function perRequestConnectionApp(config: Config, url: string): (req: Request) => Promise<Response> {
  const rates = ratesFromConfig(config, silentLogger);
  let clients: Sql[] = [];
  const app = createApp(config, () => {
    const sql = createSql(url, { max: 1, fetchTypes: false });
    clients.push(sql);
    return createServices(config, sql, { logger: silentLogger, rates });
  });
  return async (req) => {
    const res = await app.fetch(req);
    const body = await res.arrayBuffer();
    // Closed after the answer, as a Worker's socket is closed when its invocation ends: the close
    // is not part of the request's time.
    const done = clients;
    clients = [];
    void Promise.all(done.map((sql) => sql.end({ timeout: 5 }))).catch(() => {});
    return new Response(body, res);
  };
}

/** Each round starts with a different side, so none always follows another's writes. */
function rotate<T>(xs: readonly T[], i: number): T[] {
  const k = i % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

async function oneRound(side: Side, apiKey: string, record: boolean): Promise<void> {
  const auth = { authorization: `Bearer ${apiKey}` };
  const timed = async (op: Op, url: string, init: RequestInit, expect: number): Promise<Response> => {
    const t0 = performance.now();
    const res = await fetch(url, init);
    const body = await res.text();
    const t = performance.now() - t0;
    if (res.status !== expect)
      throw new Error(`${side.name} ${op}: HTTP ${res.status} ${body.slice(0, 300)}`);
    if (record) side.times[op].push(t);
    return new Response(body, { status: res.status });
  };
  const created = await timed(
    'create',
    `${side.url}/v1/invoices`,
    {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ amount: '15000.00', currency: 'KZT' }),
    },
    201,
  );
  const { id } = (await created.json()) as { id: string };
  await timed('read', `${side.url}/v1/invoices/${id}`, { headers: auth }, 200);
  await timed('checkout', `${side.url}/pay/${id}`, {}, 200);
  // The floor: the runtime alone, then one query on a fresh connection.
  await timed('healthz', `${side.url}/healthz`, {}, 200);
  await timed('readyz', `${side.url}/readyz`, {}, 200);
}

/** `wrangler dev` on a free port, the Hyperdrive binding on `databaseUrl`; resolves once /readyz answers. */
export async function startWranglerDev(
  databaseUrl: string,
  vars: Readonly<Record<string, string>> = WATCHED,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const u = new URL(databaseUrl);
  // wrangler insists on a password in the local connection string; a trusting local server ignores it.
  if (!u.password) u.password = 'postgres';
  const state = mkdtempSync(join(tmpdir(), 'alatau-wrangler-'));
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'node_modules/wrangler/bin/wrangler.js'),
      'dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--persist-to',
      state,
      '--log-level',
      'warn',
      '--show-interactive-dev-session=false',
      '--var',
      'LOG_LEVEL:silent',
      ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
    ],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE: u.toString(),
        WRANGLER_SEND_METRICS: 'false',
        // See bench/lib/nodelay.cjs: the local Hyperdrive relay's Nagle stalls are not the Worker's.
        ...(process.env.BENCH_WORKERS_NAGLE === '1'
          ? {}
          : { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${NODELAY}`.trim() }),
        CI: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const stop = async () => {
    await stopChild(child);
    rmSync(state, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return { url, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`wrangler dev did not become ready:\n${output}`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export const workersBench: Bench = {
  name: 'workers',
  spec: 'workers',
  description: 'invoice create/read/checkout page latency through wrangler dev (workerd) beside Node',
  async run() {
    const r = await benchWorkers();
    const labels: Record<Op, string> = {
      create: 'invoice create',
      read: 'invoice read',
      checkout: 'checkout page',
      healthz: '/healthz (no database)',
      readyz: '/readyz (one query)',
    };
    const rows: BenchRow[] = GOAL_OPS.map((op) => ({
      name: `workers: ${labels[op]} p50`,
      figure: ms(r.workers[op].p50),
      baseline: `${ms(r.node[op].p50)} (Node)`,
      ratio: r.ratio[op],
      goal: `ratio ≤ ${WORKERS_RATIO_GOAL}`,
      pass: r.ratio[op] <= WORKERS_RATIO_GOAL,
    }));
    for (const op of OPS.filter((o) => !GOAL_OPS.includes(o))) {
      rows.push({
        name: `workers: ${labels[op]} p50`,
        figure: ms(r.workers[op].p50),
        baseline: `${ms(r.node[op].p50)} (Node)`,
        ratio: r.ratio[op],
      });
    }
    for (const op of OPS) {
      rows.push({
        name: `node, a connection per request: ${labels[op]} p50`,
        figure: ms(r.nodeFresh[op].p50),
        baseline: `${ms(r.node[op].p50)} (Node)`,
        ratio: r.nodeFreshRatio[op],
      });
    }
    if (r.workerd && r.workerdRatio) {
      for (const op of OPS) {
        rows.push({
          name: `workerd direct: ${labels[op]} p50`,
          figure: ms(r.workerd[op].p50),
          baseline: `${ms(r.node[op].p50)} (Node)`,
          ratio: r.workerdRatio[op],
        });
      }
    }
    return {
      rows,
      details: r,
      notes: [
        `workers: ${r.rounds} rounds, one client, ${r.database}; locally each Worker request opens its own connection (Hyperdrive pools them in production)`,
        `workers: wrangler dev / Node with a connection per request (the same database work, the runtime's own cost): ${GOAL_OPS.map((op) => `${op} ${ratioOf(r.workers[op].p50, r.nodeFresh[op].p50).toFixed(2)}`).join(', ')}`,
        'workers: "a connection per request" is the Node app with the Worker\'s database policy (a new one-connection client per request, ended after it)',
        ...(r.workerd
          ? [
              'workers: "workerd direct" is the same bundle without wrangler dev (no proxy worker, no local Hyperdrive relay)',
            ]
          : []),
      ],
    };
  },
};
