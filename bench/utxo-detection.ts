// UTXO detection latency (SPEC section 9, issue 4) on a real Litecoin Core regtest node: payments
// broadcast from the node's wallet to invoices' addresses while the gateway's UTXO watcher ticks as
// it does in production, a block mined after every few payments. For each payment:
//   broadcast     = just before sendtoaddress (the wallet signs and the node accepts it);
//   state change  = the database time of the transaction that recorded it and moved the invoice to
//                   processing (outbox `invoice.payment_received`, written with the status change);
//   block → settled = from generatetoaddress returning to the outbox `invoice.settled` (medium: 1 conf);
//   webhook       = when those events' deliveries reached a local receiver (bench/lib/webhook-arrivals).
// Goal: broadcast → processing p50 below 1 s, over at least 50 payments. Baseline: the watcher's tick
// period observed (start to start), the floor a polling watcher works against.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureWallet, findLitecoind, fundWallet, startLitecoind } from '../sandbox/litecoin';
import { createBitcoindBackend } from '../src/chains/utxo/backends/bitcoind';
import { createUtxoWatcher } from '../src/chains/utxo/watcher';
import { loadConfig } from '../src/config';
import { createSql } from '../src/db/client';
import { migrate } from '../src/db/migrate';
import { createInvoice } from '../src/invoices/create';
import { silentLogger } from '../src/lib/log';
import { formatUnits } from '../src/lib/money';
import { createMerchant } from '../src/merchants/repository';
import { createRatesService } from '../src/rates/aggregate';
import { createFixedSource } from '../src/rates/sources/fixed';
import { DEMO_VPUB } from '../src/seed';
import { createServices } from '../src/services';
import { openBenchDatabase } from './lib/database';
import { envNumber, ms, ratioOf, round } from './lib/format';
import { type LatencySummary, summariseLatencies } from './lib/latency';
import type { Bench, BenchOutcome } from './lib/types';
import { startWebhookArrivals, waitForArrivals } from './lib/webhook-arrivals';

export interface UtxoDetectionResult {
  readonly payments: number;
  readonly tickIntervalMs: number;
  readonly database: { kind: string; server: string; note?: string };
  readonly fromBroadcast: LatencySummary;
  readonly fromBlock: LatencySummary;
  /** Broadcast → `invoice.payment_received` at the receiver; block → `invoice.settled` at the receiver. */
  readonly webhookFromBroadcast: LatencySummary;
  readonly webhookFromBlock: LatencySummary;
  /** Mean start-to-start period of the watcher's ticks while paying: the baseline. */
  readonly observedTickMs: number;
  readonly goalMs: number;
  readonly pass: boolean;
  readonly creditedOnce: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function benchUtxoDetection(
  opts: { payments?: number; tickIntervalMs?: number; perBlock?: number } = {},
): Promise<UtxoDetectionResult> {
  if (!findLitecoind()) throw new Error('litecoind is not installed (apt-get install -y litecoind)');
  const total = opts.payments ?? envNumber('BENCH_UTXO_PAYMENTS', 60);
  const tickIntervalMs = opts.tickIntervalMs ?? envNumber('BENCH_UTXO_TICK_MS', 250);
  const perBlock = opts.perBlock ?? 10;
  const dir = mkdtempSync(join(tmpdir(), 'alatau-bench-ltc-'));
  const node = await startLitecoind({ dataDir: dir });
  const db = await openBenchDatabase({ maxConnections: 12 });
  const sql = createSql(db.url, { max: db.kind === 'embedded' ? 1 : 10 });
  const stops: (() => Promise<void>)[] = [];
  try {
    await migrate(sql);
    const wallet = await ensureWallet(node.rpc, 'bench');
    await fundWallet(node.rpc, wallet, 200);
    // The node is named in the config as well: options are offered only on watched networks.
    const config = loadConfig({
      NETWORK_MODE: 'sandbox',
      LOG_LEVEL: 'silent',
      LITECOIN_REGTEST_RPC_URL: node.rpcUrl,
    });
    const services = createServices(config, sql, {
      logger: silentLogger,
      rates: createRatesService({ sources: [createFixedSource()], maxAgeMs: 600_000, cacheTtlMs: 600_000 }),
    });
    const { merchant } = await createMerchant(sql, {
      name: 'Bench Café',
      mode: 'test',
      xpubs: { 'litecoin-regtest': DEMO_VPUB },
    });
    const arrivals = await startWebhookArrivals(services, merchant.id, {
      events: ['invoice.payment_received', 'invoice.settled'],
      tickIntervalMs,
    });
    stops.push(() => arrivals.stop());
    const invoices = [];
    for (let i = 0; i < total; i++) {
      const inv = await createInvoice(services, merchant.id, {
        amount: '15000.00',
        currency: 'KZT',
        options: ['LTC@litecoin-regtest'],
      });
      invoices.push({ id: inv.id, address: inv.options[0]!.address, amount: inv.options[0]!.amountAtomic });
    }

    const watcher = createUtxoWatcher({
      sql,
      state: services.state,
      backend: createBitcoindBackend({ network: 'litecoin-regtest', rpc: node.rpc, initialLookback: 0 }),
      screening: services.screening,
    });
    await watcher.tick();
    let ticking = true;
    const tickStarts: number[] = [];
    const loop = (async () => {
      while (ticking) {
        const started = Date.now();
        tickStarts.push(started);
        await watcher.tick().catch(() => {});
        await sleep(Math.max(0, tickIntervalMs - (Date.now() - started)));
      }
    })();
    stops.push(async () => {
      ticking = false;
      await loop;
    });

    const broadcastAt = new Map<string, number>();
    const minedAt = new Map<string, number>();
    const miner = await wallet.call<string>('getnewaddress');
    let unmined: string[] = [];
    const firstBroadcast = Date.now();
    let lastMined = firstBroadcast;
    for (let i = 0; i < invoices.length; i++) {
      const inv = invoices[i]!;
      unmined.push(inv.id);
      broadcastAt.set(inv.id, Date.now());
      await wallet.call('sendtoaddress', { address: inv.address, amount: formatUnits(inv.amount, 8) });
      // Spread over the tick interval, as real payments are.
      await sleep(37 + (i % 5) * 29);
      if ((i + 1) % perBlock === 0 || i === invoices.length - 1) {
        await sleep(tickIntervalMs * 2);
        await node.rpc.call('generatetoaddress', [1, miner]);
        const at = Date.now();
        lastMined = at;
        for (const id of unmined) minedAt.set(id, at);
        unmined = [];
      }
    }
    const ids = invoices.map((x) => x.id);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [row] = await sql<{ n: number }[]>`select count(*)::int as n from outbox
        where type = 'invoice.settled' and invoice_id in ${sql(ids)}`;
      if (row!.n >= ids.length || Date.now() > deadline) break;
      await sleep(100);
    }
    await waitForArrivals(arrivals, ids, 'invoice.settled', Math.max(0, deadline - Date.now()));
    for (const stop of stops.splice(0).reverse()) await stop();

    const rows = await sql<{ invoice_id: string; type: string; at: Date; n: number }[]>`
      select invoice_id, type, min(created_at) as at, count(*)::int as n from outbox
      where type in ('invoice.payment_received', 'invoice.settled') and invoice_id in ${sql(ids)}
      group by invoice_id, type`;
    const fromBroadcast: number[] = [];
    const fromBlock: number[] = [];
    const webhookFromBroadcast: number[] = [];
    const webhookFromBlock: number[] = [];
    for (const r of rows) {
      const t = new Date(r.at).getTime();
      const received = r.type === 'invoice.payment_received';
      const from = received ? broadcastAt.get(r.invoice_id)! : minedAt.get(r.invoice_id)!;
      (received ? fromBroadcast : fromBlock).push(t - from);
      const arrived = arrivals.at(r.invoice_id, r.type as 'invoice.payment_received' | 'invoice.settled');
      if (arrived !== undefined) (received ? webhookFromBroadcast : webhookFromBlock).push(arrived - from);
    }
    const received = rows.filter((r) => r.type === 'invoice.payment_received');
    const paying = tickStarts.filter((t) => t >= firstBroadcast && t <= lastMined);
    const observedTickMs =
      paying.length > 1 ? round((paying.at(-1)! - paying[0]!) / (paying.length - 1), 1) : tickIntervalMs;
    const goalMs = 1000;
    const b = summariseLatencies(fromBroadcast);
    return {
      payments: fromBroadcast.length,
      tickIntervalMs,
      database: { kind: db.kind, server: db.server, ...(db.note ? { note: db.note } : {}) },
      fromBroadcast: b,
      fromBlock: summariseLatencies(fromBlock),
      webhookFromBroadcast: summariseLatencies(webhookFromBroadcast),
      webhookFromBlock: summariseLatencies(webhookFromBlock),
      observedTickMs,
      goalMs,
      pass:
        fromBroadcast.length >= Math.min(50, total) &&
        webhookFromBroadcast.length === fromBroadcast.length &&
        b.p50 < goalMs,
      creditedOnce: received.length === ids.length && received.every((r) => r.n === 1),
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await sql.end({ timeout: 5 });
    await db.close();
    await node.stop({ kill: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

/** For bench/lib/registry.ts. */
export const utxoDetectionBench: Bench = {
  name: 'utxo-detection',
  description: 'UTXO payment detection on litecoind regtest: broadcast → invoice processing and webhook',
  async run(): Promise<BenchOutcome> {
    const r = await benchUtxoDetection();
    return {
      rows: [
        {
          name: `utxo: broadcast → processing p50 (${r.payments})`,
          figure: ms(r.fromBroadcast.p50),
          baseline: `tick ${ms(r.observedTickMs)}`,
          ratio: ratioOf(r.fromBroadcast.p50, r.observedTickMs),
          goal: `p50 < ${ms(r.goalMs)}`,
          pass: r.pass,
        },
        {
          name: 'utxo: broadcast → processing p95',
          figure: ms(r.fromBroadcast.p95),
          baseline: `tick ${ms(r.observedTickMs)}`,
          ratio: ratioOf(r.fromBroadcast.p95, r.observedTickMs),
        },
        {
          name: 'utxo: broadcast → webhook p50',
          figure: ms(r.webhookFromBroadcast.p50),
          baseline: `tick ${ms(r.observedTickMs)}`,
          ratio: ratioOf(r.webhookFromBroadcast.p50, r.observedTickMs),
        },
        {
          name: 'utxo: block → settled / webhook p50',
          figure: `${ms(r.fromBlock.p50)} / ${ms(r.webhookFromBlock.p50)}`,
          baseline: `tick ${ms(r.observedTickMs)}`,
          ratio: ratioOf(r.webhookFromBlock.p50, r.observedTickMs),
        },
      ],
      details: r,
      notes: [
        `utxo-detection: watcher and webhook dispatch tick every ${r.tickIntervalMs} ms (BENCH_UTXO_TICK_MS); ` +
          `baseline = the watcher's tick period observed; p95 webhook from broadcast ${ms(r.webhookFromBroadcast.p95)}` +
          (r.creditedOnce ? '' : '; WARNING: some payment was not credited exactly once'),
        ...(r.database.note ? [r.database.note] : []),
      ],
    };
  },
};
