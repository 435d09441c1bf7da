// UTXO detection latency (SPEC section 9, issue 4) on a real Litecoin Core regtest node: payments
// broadcast from the node's wallet to invoices' addresses while the gateway's UTXO watcher ticks as
// it does in production, a block mined after every few payments. For each payment:
//   broadcast     = just before sendtoaddress (the wallet signs and the node accepts it);
//   state change  = the database time of the transaction that recorded it and moved the invoice to
//                   processing (outbox `invoice.payment_received`, written with the status change);
//   block → settled = from generatetoaddress returning to the outbox `invoice.settled` (medium: 1 conf).
// Goal: broadcast → processing p50 below 1 s, over at least 50 payments.

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
import { envNumber, ms, percentile, round } from './lib/format';
import type { Bench, BenchOutcome } from './lib/types';

export interface LatencySummary {
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
}

export interface UtxoDetectionResult {
  readonly payments: number;
  readonly tickIntervalMs: number;
  readonly database: { kind: string; server: string; note?: string };
  readonly fromBroadcast: LatencySummary;
  readonly fromBlock: LatencySummary;
  readonly goalMs: number;
  readonly pass: boolean;
  readonly creditedOnce: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function summary(values: number[]): LatencySummary {
  const s = [...values].sort((a, b) => a - b);
  return {
    p50: round(percentile(s, 50), 1),
    p95: round(percentile(s, 95), 1),
    max: round(s.at(-1) ?? Number.NaN, 1),
  };
}

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
    const config = loadConfig({ NETWORK_MODE: 'sandbox', LOG_LEVEL: 'silent' });
    const services = createServices(config, sql, {
      logger: silentLogger,
      rates: createRatesService({ sources: [createFixedSource()], maxAgeMs: 600_000, cacheTtlMs: 600_000 }),
    });
    const { merchant } = await createMerchant(sql, {
      name: 'Bench Café',
      mode: 'test',
      xpubs: { 'litecoin-regtest': DEMO_VPUB },
    });
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
    const loop = (async () => {
      while (ticking) {
        const started = Date.now();
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
    for (const stop of stops.splice(0).reverse()) await stop();

    const rows = await sql<{ invoice_id: string; type: string; at: Date; n: number }[]>`
      select invoice_id, type, min(created_at) as at, count(*)::int as n from outbox
      where type in ('invoice.payment_received', 'invoice.settled') and invoice_id in ${sql(ids)}
      group by invoice_id, type`;
    const fromBroadcast: number[] = [];
    const fromBlock: number[] = [];
    for (const r of rows) {
      const t = new Date(r.at).getTime();
      if (r.type === 'invoice.payment_received') fromBroadcast.push(t - broadcastAt.get(r.invoice_id)!);
      else fromBlock.push(t - minedAt.get(r.invoice_id)!);
    }
    const received = rows.filter((r) => r.type === 'invoice.payment_received');
    const goalMs = 1000;
    const b = summary(fromBroadcast);
    return {
      payments: fromBroadcast.length,
      tickIntervalMs,
      database: { kind: db.kind, server: db.server, ...(db.note ? { note: db.note } : {}) },
      fromBroadcast: b,
      fromBlock: summary(fromBlock),
      goalMs,
      pass: fromBroadcast.length >= Math.min(50, total) && b.p50 < goalMs,
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
  description: 'UTXO payment detection on litecoind regtest: broadcast → invoice processing',
  async run(): Promise<BenchOutcome> {
    const r = await benchUtxoDetection();
    return {
      rows: [
        {
          name: `utxo: broadcast → processing p50 (${r.payments})`,
          figure: ms(r.fromBroadcast.p50),
          goal: `p50 < ${ms(r.goalMs)}`,
          pass: r.pass,
        },
        { name: 'utxo: broadcast → processing p95', figure: ms(r.fromBroadcast.p95) },
        {
          name: 'utxo: block → settled p50',
          figure: ms(r.fromBlock.p50),
          baseline: `p95 ${ms(r.fromBlock.p95)}`,
        },
      ],
      details: r,
      notes: [
        `utxo-detection: watcher ticks every ${r.tickIntervalMs} ms (BENCH_UTXO_TICK_MS)` +
          (r.creditedOnce ? '' : '; WARNING: some payment was not credited exactly once'),
        ...(r.database.note ? [r.database.note] : []),
      ],
    };
  },
};
