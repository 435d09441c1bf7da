// Invoice creation (SPEC section 9): POST /v1/invoices on the real app over real HTTP at 32 concurrent
// clients, beside a bare Hono route doing one INSERT into a table of similar columns, on the same
// database, in the same run, under the same load generator. Reported: invoices/s, p50, p99, and
// the ratio ours/bare (goal ≥ 0.5).

import { realpathSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createApp } from '../src/app';
import { type DerivationThreads, startDerivationThreads } from '../src/chains/utxo/derive-pool';
import { loadConfig } from '../src/config';
import { createSql, type Sql } from '../src/db/client';
import { migrate } from '../src/db/migrate';
import { newId } from '../src/lib/ids';
import { silentLogger } from '../src/lib/log';
import { parseKzt } from '../src/lib/money';
import { createMerchant } from '../src/merchants/repository';
import { DEMO_VPUB } from '../src/seed';
import { createServices } from '../src/services';
import { openBenchDatabase } from './lib/database';
import { envNumber, grouped, ms, ratioOf, round } from './lib/format';
import {
  type LoadGenerator,
  type LoadJob,
  type LoadResult,
  type LoadSummary,
  startLoadGenerator,
  summarise,
} from './lib/load';
import { mainThreadCpuMs, postgresCpuMs } from './lib/server-cpu';
import type { Bench, BenchOutcome } from './lib/types';

export interface InvoiceBenchOptions {
  /** Measured seconds per side (env BENCH_SECONDS, default 10), split into two interleaved halves. */
  readonly seconds?: number;
  /** Warm-up seconds per side (env BENCH_WARMUP_SECONDS, default 3). */
  readonly warmupSeconds?: number;
  readonly concurrency?: number;
  /** Connection pool of each server (env BENCH_POOL_MAX, default: the gateway's DATABASE_POOL_MAX default). */
  readonly poolMax?: number;
}

export interface InvoiceBenchResult {
  readonly database: { kind: string; server: string; note?: string };
  readonly concurrency: number;
  readonly secondsPerSide: number;
  readonly poolMax: number;
  readonly optionsPerInvoice: number;
  readonly ours: LoadSummary;
  readonly bare: LoadSummary;
  /** ours.perSecond / bare.perSecond. */
  readonly ratio: number;
  /** Statements per invoice creation (one client, counted at the driver), begin/commit included. */
  readonly profile: { invoices: number; queriesPerInvoice: number; byStatement: Record<string, number> };
  /**
   * Statements per invoice during the measured runs at `concurrency` clients: below the one-client
   * figure because concurrent requests share batched statements (src/lib/batch.ts).
   */
  readonly statementsPerInvoiceUnderLoad: number;
  /** CPU milliseconds of this process (server and load thread) per successful request. */
  readonly cpuMsPerRequest: { readonly ours: number; readonly bare: number };
  /**
   * CPU milliseconds of the main thread (the event loop that serves both routes) per request, when it
   * can be read: what is left of cpuMsPerRequest once the load generator and the derivation thread go.
   */
  readonly mainThreadCpuMsPerRequest?: { readonly ours: number; readonly bare: number };
  /** CPU milliseconds of the local PostgreSQL server's processes per request, when they can be read. */
  readonly serverCpuMsPerRequest?: { readonly ours: number; readonly bare: number };
  /** Rows in the database after the run match the 201s counted. */
  readonly rowsChecked: boolean;
}

const BODY = JSON.stringify({
  amount: '15000.00',
  currency: 'KZT',
  orderId: 'bench-1',
  description: 'Benchmark invoice',
});

const BARE_TABLE = `create table if not exists bench_bare_invoices (
  id text primary key,
  merchant_id text not null,
  status text not null default 'new',
  amount_tiyn bigint not null check (amount_tiyn > 0),
  currency text not null,
  order_id text,
  description text,
  metadata jsonb not null default '{}',
  expires_at timestamptz not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
)`;

/** The baseline: what any JSON API in front of PostgreSQL does at the least — parse, one INSERT, answer. */
function bareApp(sql: Sql, merchantId: string) {
  const app = new Hono();
  app.post('/bare', async (c) => {
    const body = await c.req.json<{
      amount: string;
      currency: string;
      orderId?: string;
      description?: string;
    }>();
    const id = newId('inv');
    const expiresAt = new Date(Date.now() + 15 * 60_000);
    const [row] = await sql<{ created_at: Date }[]>`insert into bench_bare_invoices
        (id, merchant_id, amount_tiyn, currency, order_id, description, metadata, expires_at)
      values (${id}, ${merchantId}, ${parseKzt(body.amount).toString()}, ${body.currency}, ${body.orderId ?? null},
        ${body.description ?? null}, ${sql.json({})}, ${expiresAt}) returning created_at`;
    return c.json(
      {
        id,
        status: 'new',
        amount: body.amount,
        currency: body.currency,
        createdAt: new Date(row!.created_at).toISOString(),
        expiresAt: expiresAt.toISOString(),
      },
      201,
    );
  });
  return app;
}

async function listen(fetch: (req: Request) => Response | Promise<Response>) {
  return new Promise<{ url: string; close: () => Promise<void> }>((resolve) => {
    const server = serve({ fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () => new Promise<void>((res) => server.close(() => res())),
      });
    });
  });
}

/** Counts statements per invoice creation with the driver's debug hook, one client, in-process. */
async function profileCreation(url: string, apiKey: string, poolMax: number, count: number) {
  const byStatement: Record<string, number> = {};
  let total = 0;
  const sql = createSql(url, {
    max: poolMax,
    onStatement: (query) => {
      total++;
      const key = query.replace(/\s+/g, ' ').trim().slice(0, 60);
      byStatement[key] = (byStatement[key] ?? 0) + 1;
    },
  });
  try {
    const config = loadConfig({
      NETWORK_MODE: 'sandbox',
      LOG_LEVEL: 'silent',
      DATABASE_URL: url,
      JOBS: 'false',
    });
    const app = createApp(
      config,
      createServices(config, sql, { logger: silentLogger }, { offerUnwatched: true }),
    );
    const req = () =>
      app.request('/v1/invoices', {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: BODY,
      });
    await req(); // the first one pays for prepared statements and type fetching
    total = 0;
    for (const k of Object.keys(byStatement)) delete byStatement[k];
    for (let i = 0; i < count; i++) {
      const res = await req();
      if (res.status !== 201) throw new Error(`profile: ${res.status} ${await res.text()}`);
    }
    const perInvoice: Record<string, number> = {};
    for (const [k, n] of Object.entries(byStatement)) perInvoice[k] = round(n / count, 2);
    return { invoices: count, queriesPerInvoice: round(total / count, 2), byStatement: perInvoice };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export async function benchInvoices(opts: InvoiceBenchOptions = {}): Promise<InvoiceBenchResult> {
  const seconds = opts.seconds ?? envNumber('BENCH_SECONDS', 10);
  const warmupSeconds = opts.warmupSeconds ?? envNumber('BENCH_WARMUP_SECONDS', 3);
  const concurrency = opts.concurrency ?? 32;
  let poolMax = opts.poolMax ?? envNumber('BENCH_POOL_MAX', loadConfig({}).DATABASE_POOL_MAX);

  const db = await openBenchDatabase({ maxConnections: poolMax * 2 + 4 });
  // pglite-socket interleaves the extended-protocol messages of concurrent connections outside a
  // transaction (one connection's Bind lands on another's portal), so the embedded database gets one.
  if (db.kind === 'embedded') poolMax = 1;
  // Counts the statements the gateway sends (a counter, so it costs next to nothing).
  let statements = 0;
  const oursSql = createSql(db.url, { max: poolMax, onStatement: () => void statements++ });
  const bareSql = createSql(db.url, { max: poolMax });
  let load: LoadGenerator | undefined;
  let derivation: DerivationThreads | undefined;
  const servers: { close(): Promise<void> }[] = [];
  try {
    await migrate(oursSql);
    await bareSql.unsafe(BARE_TABLE);
    const config = loadConfig({
      NETWORK_MODE: 'sandbox',
      LOG_LEVEL: 'silent',
      DATABASE_URL: db.url,
      JOBS: 'false',
      PUBLIC_URL: 'http://127.0.0.1:8787',
      // The gateway's default unless the environment sets it, so both ways can be compared.
      ...(process.env.DERIVATION_THREADS ? { DERIVATION_THREADS: process.env.DERIVATION_THREADS } : {}),
    });
    // As src/node.ts runs the gateway: addresses derived on DERIVATION_THREADS threads.
    derivation = startDerivationThreads(config.DERIVATION_THREADS);
    const services = createServices(
      config,
      oursSql,
      {
        logger: silentLogger,
        deriveAddresses: derivation.derive,
      },
      // No node here: the options are created, never paid.
      { offerUnwatched: true },
    );
    // A Bitcoin and a Litecoin regtest key, so two options, two addresses (as before the demo dropped BTC).
    const { merchant, apiKey } = await createMerchant(oursSql, {
      name: 'Bench Café',
      mode: services.keyMode,
      xpubs: { 'bitcoin-regtest': DEMO_VPUB, 'litecoin-regtest': DEMO_VPUB },
    });
    const ours = await listen(createApp(config, services).fetch);
    servers.push(ours);
    const bare = await listen(bareApp(bareSql, merchant.id).fetch);
    servers.push(bare);

    const job = (url: string, durationMs: number): LoadJob => ({
      url,
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey.apiKey}`, 'content-type': 'application/json' },
      body: BODY,
      concurrency,
      durationMs,
      expectStatus: 201,
    });
    const oursUrl = `${ours.url}/v1/invoices`;
    const bareUrl = `${bare.url}/bare`;
    load = startLoadGenerator();
    const oursRuns: LoadResult[] = [];
    const bareRuns: LoadResult[] = [];
    const warm = [
      await load.run(job(oursUrl, warmupSeconds * 1000)),
      await load.run(job(bareUrl, warmupSeconds * 1000)),
    ];
    // ABBA: a slow moment of the machine weighs on both sides alike.
    const half = (seconds * 1000) / 2;
    // CPU of this process per request (server and load thread alike): unlike requests/s, it hardly
    // moves with what else the machine is running.
    const cpuUs = { ours: 0, bare: 0 };
    // The database's share, where it is a local server whose processes can be read (not PGlite,
    // which runs inside this process and is already in cpuUs).
    const serverMs: { ours: number; bare: number } | undefined =
      db.kind === 'postgresql' && postgresCpuMs() !== undefined ? { ours: 0, bare: 0 } : undefined;
    const mainMs: { ours: number; bare: number } | undefined =
      mainThreadCpuMs() !== undefined ? { ours: 0, bare: 0 } : undefined;
    let oursStatements = 0;
    const measured = async (side: 'ours' | 'bare', into: LoadResult[]) => {
      const before = process.cpuUsage();
      const serverBefore = serverMs && postgresCpuMs();
      const mainBefore = mainMs && mainThreadCpuMs();
      const sentBefore = statements;
      into.push(await load!.run(job(side === 'ours' ? oursUrl : bareUrl, half)));
      const used = process.cpuUsage(before);
      cpuUs[side] += used.user + used.system;
      if (serverMs && serverBefore !== undefined)
        serverMs[side] += (postgresCpuMs() ?? serverBefore) - serverBefore;
      if (mainMs && mainBefore !== undefined) mainMs[side] += (mainThreadCpuMs() ?? mainBefore) - mainBefore;
      if (side === 'ours') oursStatements += statements - sentBefore;
    };
    await measured('ours', oursRuns);
    await measured('bare', bareRuns);
    await measured('bare', bareRuns);
    await measured('ours', oursRuns);

    const oursSummary = summarise(oursRuns);
    const bareSummary = summarise(bareRuns);
    const oursTotal = [warm[0]!, ...oursRuns].reduce((n, r) => n + r.ok, 0);
    const bareTotal = [warm[1]!, ...bareRuns].reduce((n, r) => n + r.ok, 0);
    const [counts] = await oursSql<{ invoices: number; options: number; bare: number }[]>`select
      (select count(*)::int from invoices) as invoices,
      (select count(*)::int from payment_options) as options,
      (select count(*)::int from bench_bare_invoices) as bare`;
    const rowsChecked = counts!.invoices === oursTotal && counts!.bare === bareTotal;
    const optionsPerInvoice = counts!.invoices ? round(counts!.options / counts!.invoices, 2) : 0;

    const profile = await profileCreation(db.url, apiKey.apiKey, poolMax, 50);
    const cpuMsPerRequest = {
      ours: round(cpuUs.ours / 1000 / Math.max(1, oursSummary.requests), 3),
      bare: round(cpuUs.bare / 1000 / Math.max(1, bareSummary.requests), 3),
    };
    const mainThreadCpuMsPerRequest = mainMs && {
      ours: round(mainMs.ours / Math.max(1, oursSummary.requests), 3),
      bare: round(mainMs.bare / Math.max(1, bareSummary.requests), 3),
    };
    const serverCpuMsPerRequest = serverMs && {
      ours: round(serverMs.ours / Math.max(1, oursSummary.requests), 3),
      bare: round(serverMs.bare / Math.max(1, bareSummary.requests), 3),
    };
    return {
      database: { kind: db.kind, server: db.server, ...(db.note ? { note: db.note } : {}) },
      concurrency,
      secondsPerSide: seconds,
      poolMax,
      optionsPerInvoice,
      ours: oursSummary,
      bare: bareSummary,
      ratio: ratioOf(oursSummary.perSecond, bareSummary.perSecond),
      profile,
      statementsPerInvoiceUnderLoad: round(oursStatements / Math.max(1, oursSummary.requests), 2),
      cpuMsPerRequest,
      ...(mainThreadCpuMsPerRequest ? { mainThreadCpuMsPerRequest } : {}),
      ...(serverCpuMsPerRequest ? { serverCpuMsPerRequest } : {}),
      rowsChecked,
    };
  } finally {
    await load?.close();
    await derivation?.close();
    for (const s of servers) await s.close().catch(() => {});
    await oursSql.end({ timeout: 5 });
    await bareSql.end({ timeout: 5 });
    await db.close();
  }
}

export const INVOICE_RATIO_GOAL = 0.5;

export const invoicesBench: Bench = {
  name: 'invoices',
  description: 'POST /v1/invoices at 32 clients beside a bare one-INSERT Hono route',
  async run(): Promise<BenchOutcome> {
    const r = await benchInvoices();
    const c = r.concurrency;
    const notes: string[] = [
      `invoices: ${r.database.server}; pool ${r.poolMax} per server; ${r.secondsPerSide} s per side; ` +
        `${r.optionsPerInvoice} payment options per invoice; ${r.profile.queriesPerInvoice} statements per invoice ` +
        `alone, ${r.statementsPerInvoiceUnderLoad} at ${r.concurrency} clients (batched); ` +
        `CPU per request ${r.cpuMsPerRequest.ours} ms beside ${r.cpuMsPerRequest.bare} ms (this process, load thread included)` +
        (r.mainThreadCpuMsPerRequest
          ? `, main thread ${r.mainThreadCpuMsPerRequest.ours} ms beside ${r.mainThreadCpuMsPerRequest.bare} ms`
          : '') +
        (r.serverCpuMsPerRequest
          ? `, PostgreSQL ${r.serverCpuMsPerRequest.ours} ms beside ${r.serverCpuMsPerRequest.bare} ms`
          : ''),
    ];
    if (r.database.note) notes.push(`invoices: ${r.database.note}`);
    for (const [side, s] of [
      ['ours', r.ours],
      ['bare', r.bare],
    ] as const) {
      if (s.errors)
        notes.push(`invoices: ${side} had ${s.errors} failed requests; first: ${s.firstError ?? '?'}`);
    }
    if (!r.rowsChecked) notes.push('invoices: rows in the database do not match the 201s counted');
    const clean = r.ours.errors === 0 && r.bare.errors === 0 && r.rowsChecked;
    return {
      rows: [
        {
          name: `invoices: created/s @${c}`,
          figure: `${grouped(r.ours.perSecond)}/s`,
          baseline: `${grouped(r.bare.perSecond)}/s`,
          ratio: r.ratio,
          goal: `ratio ≥ ${INVOICE_RATIO_GOAL}`,
          pass: clean && r.ratio >= INVOICE_RATIO_GOAL,
        },
        {
          name: `invoices: p50 @${c}`,
          figure: ms(r.ours.p50Ms),
          baseline: ms(r.bare.p50Ms),
          ratio: ratioOf(r.ours.p50Ms, r.bare.p50Ms),
        },
        {
          name: `invoices: p99 @${c}`,
          figure: ms(r.ours.p99Ms),
          baseline: ms(r.bare.p99Ms),
          ratio: ratioOf(r.ours.p99Ms, r.bare.p99Ms),
        },
      ],
      details: r,
      notes,
    };
  },
};

const isMain = (() => {
  try {
    return (
      !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))
    );
  } catch {
    return false;
  }
})();

if (isMain) console.log(JSON.stringify(await benchInvoices(), null, 2));
