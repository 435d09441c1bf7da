// EVM detection latency (SPEC section 9, issue 3): anvil mining a block every second, payments to
// invoices' deposit addresses (ETH and USDC alternating, several per block), and the gateway's EVM
// watcher ticking as it does in production. For each payment:
//   inclusion  = when its block first answered eth_blockNumber (polled every 10 ms);
//   broadcast  = just before eth_sendRawTransaction;
//   state change = the database time of the transaction that recorded it and moved the invoice
//                  (outbox `invoice.payment_received`, written with the status change);
//   webhook      = when that event's delivery reached a local receiver (bench/lib/webhook-arrivals).
// Goal: p50 from inclusion below one block time plus 250 ms. Baseline: the block interval observed.
import { Contract, JsonRpcProvider, parseUnits, type Wallet } from 'ethers';
import { deployAll } from '../contracts/deploy';
import { TestTokenAbi } from '../contracts/generated/index';
import { anvilAccount, startAnvil } from '../sandbox/anvil';
import { loadConfig } from '../src/config';
import { createSql } from '../src/db/client';
import { migrate } from '../src/db/migrate';
import { createInvoice } from '../src/invoices/create';
import { silentLogger } from '../src/lib/log';
import { createMerchant } from '../src/merchants/repository';
import { createRatesService } from '../src/rates/aggregate';
import { createFixedSource } from '../src/rates/sources/fixed';
import { createServices } from '../src/services';
import { openBenchDatabase } from './lib/database';
import { envNumber, ms, ratioOf, round } from './lib/format';
import { type LatencySummary, summariseLatencies } from './lib/latency';
import type { Bench, BenchOutcome } from './lib/types';
import { startWebhookArrivals, waitForArrivals } from './lib/webhook-arrivals';

export interface EvmDetectionOptions {
  /** Payments measured (env BENCH_EVM_PAYMENTS, default 60; at least 50 for the goal). */
  readonly payments?: number;
  /** Payments sent per block (default 5, from different payer accounts). */
  readonly perBlock?: number;
  /** Milliseconds between watcher ticks (env BENCH_EVM_TICK_MS, default 250). */
  readonly tickIntervalMs?: number;
}

export interface EvmDetectionResult {
  readonly payments: number;
  readonly blockTimeMs: number;
  readonly tickIntervalMs: number;
  readonly database: { kind: string; server: string; note?: string };
  /** Milliseconds from the block's appearance to the invoice's state change. */
  readonly fromInclusion: LatencySummary;
  /** Milliseconds from broadcast to the invoice's state change. */
  readonly fromBroadcast: LatencySummary;
  /** Milliseconds from the block's appearance to the webhook's arrival at the receiver. */
  readonly webhookFromInclusion: LatencySummary;
  /** Milliseconds from broadcast to the webhook's arrival. */
  readonly webhookFromBroadcast: LatencySummary;
  /** Mean interval between the blocks seen while paying: the baseline. */
  readonly observedBlockMs: number;
  readonly goalMs: number;
  readonly pass: boolean;
  /** Every payment credited exactly once. */
  readonly creditedOnce: boolean;
}

const BLOCK_TIME_S = 1;
const PAYERS = [1, 2, 3, 4, 5, 6, 7, 8];
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function benchEvmDetection(opts: EvmDetectionOptions = {}): Promise<EvmDetectionResult> {
  const total = opts.payments ?? envNumber('BENCH_EVM_PAYMENTS', 60);
  const perBlock = Math.min(opts.perBlock ?? 5, PAYERS.length);
  const tickIntervalMs = opts.tickIntervalMs ?? envNumber('BENCH_EVM_TICK_MS', 250);
  const anvil = await startAnvil({ blockTime: BLOCK_TIME_S });
  const db = await openBenchDatabase({ maxConnections: 12 });
  const sql = createSql(db.url, { max: db.kind === 'embedded' ? 1 : 10 });
  const stops: (() => Promise<void>)[] = [];
  try {
    await migrate(sql);
    const deployer = anvilAccount(0, anvil.provider);
    const signer = anvilAccount(9);
    const d = await deployAll(deployer, { gatewaySigner: signer.address, routerUsesOracle: false });
    const payers: Wallet[] = PAYERS.map((i) => anvilAccount(i, anvil.provider));
    let nonce = await deployer.getNonce('pending');
    const mints = [];
    for (const p of payers)
      mints.push(await d.usdc.getFunction('mint')(p.address, parseUnits('1000000', 6), { nonce: nonce++ }));
    await Promise.all(mints.map((m) => m.wait()));

    const config = loadConfig({
      NETWORK_MODE: 'sandbox',
      LOG_LEVEL: 'silent',
      ANVIL_RPC_URLS: anvil.rpcUrl,
      ANVIL_DEPOSIT_FACTORY_ADDRESS: d.addresses.depositFactory,
      ANVIL_ROUTER_ADDRESS: d.addresses.router,
      ANVIL_USDC_ADDRESS: d.addresses.usdc,
      GATEWAY_SIGNER_KEY: signer.privateKey,
    });
    const services = createServices(config, sql, {
      logger: silentLogger,
      rates: createRatesService({ sources: [createFixedSource()], maxAgeMs: 600_000, cacheTtlMs: 600_000 }),
    });
    const { merchant } = await createMerchant(sql, {
      name: 'Bench Café',
      mode: 'test',
      evmPayout: anvilAccount(8).address,
    });
    const arrivals = await startWebhookArrivals(services, merchant.id, {
      events: ['invoice.payment_received'],
      tickIntervalMs,
    });
    stops.push(() => arrivals.stop());
    const invoices = [];
    for (let i = 0; i < total; i++) {
      const option = i % 2 === 0 ? 'ETH@anvil' : 'USDC@anvil';
      const inv = await createInvoice(services, merchant.id, {
        amount: '15000.00',
        currency: 'KZT',
        options: [option],
      });
      invoices.push({
        id: inv.id,
        option,
        address: inv.options[0]!.address,
        amount: inv.options[0]!.amountAtomic,
      });
    }

    // Inclusion clock: when each block first shows up.
    const seenAt = new Map<number, number>();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        try {
          const res = await fetch(anvil.rpcUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] }),
          });
          const n = Number(BigInt(((await res.json()) as { result: string }).result));
          if (!seenAt.has(n)) seenAt.set(n, Date.now());
        } catch {}
        await sleep(10);
      }
    })();
    stops.push(async () => {
      polling = false;
      await poller;
    });

    // The watcher as the tick loop runs it: never overlapping itself.
    const evm = services.evm!;
    await evm.tick();
    let ticking = true;
    const loop = (async () => {
      while (ticking) {
        const started = Date.now();
        await evm.tick().catch(() => {});
        await sleep(Math.max(0, tickIntervalMs - (Date.now() - started)));
      }
    })();
    stops.push(async () => {
      ticking = false;
      await loop;
    });

    const sendProvider = new JsonRpcProvider(anvil.rpcUrl, undefined, {
      cacheTimeout: -1,
      pollingInterval: 20,
    });
    stops.push(async () => sendProvider.destroy());
    const sent: { invoiceId: string; hash: string; broadcastAt: number }[] = [];
    const nonces = await Promise.all(
      payers.map((p) => sendProvider.getTransactionCount(p.address, 'pending')),
    );
    const usdc = (w: Wallet) => new Contract(d.addresses.usdc, TestTokenAbi, w.connect(sendProvider));
    for (let i = 0; i < invoices.length; i += perBlock) {
      // Right after a block, so the wave lands in the next one.
      const tip = Math.max(...seenAt.keys(), 0);
      while (Math.max(...seenAt.keys(), 0) === tip) await sleep(5);
      await sleep(50);
      const wave = invoices.slice(i, i + perBlock);
      await Promise.all(
        wave.map(async (inv, k) => {
          const w = payers[k]!.connect(sendProvider);
          const nonce = nonces[k]!++;
          const broadcastAt = Date.now();
          const tx =
            inv.option === 'ETH@anvil'
              ? await w.sendTransaction({ to: inv.address, value: inv.amount, nonce })
              : await usdc(payers[k]!).getFunction('transfer')(inv.address, inv.amount, { nonce });
          sent.push({ invoiceId: inv.id, hash: tx.hash, broadcastAt });
        }),
      );
    }
    const receipts = await Promise.all(sent.map((s) => sendProvider.waitForTransaction(s.hash)));
    const ids = sent.map((s) => s.invoiceId);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [row] = await sql<{ n: number }[]>`select count(*)::int as n from outbox
        where type = 'invoice.payment_received' and invoice_id in ${sql(ids)}`;
      if (row!.n >= ids.length || Date.now() > deadline) break;
      await sleep(100);
    }
    await waitForArrivals(arrivals, ids, 'invoice.payment_received', Math.max(0, deadline - Date.now()));
    for (const stop of stops.splice(0).reverse()) await stop();

    const rows = await sql<
      { invoice_id: string; at: Date; n: number }[]
    >`select invoice_id, min(created_at) as at,
        count(*)::int as n from outbox where type = 'invoice.payment_received' and invoice_id in ${sql(ids)}
        group by invoice_id`;
    const changedAt = new Map(rows.map((r) => [r.invoice_id, new Date(r.at).getTime()]));
    const fromInclusion: number[] = [];
    const fromBroadcast: number[] = [];
    const webhookFromInclusion: number[] = [];
    const webhookFromBroadcast: number[] = [];
    sent.forEach((s, i) => {
      const at = changedAt.get(s.invoiceId);
      const included = seenAt.get(receipts[i]!.blockNumber);
      if (at === undefined || included === undefined) return;
      fromInclusion.push(at - included);
      fromBroadcast.push(at - s.broadcastAt);
      const arrived = arrivals.at(s.invoiceId, 'invoice.payment_received');
      if (arrived === undefined) return;
      webhookFromInclusion.push(arrived - included);
      webhookFromBroadcast.push(arrived - s.broadcastAt);
    });
    // Blocks seen from the first payment's to the last's.
    const heights = receipts.map((r) => r!.blockNumber);
    const lo = Math.min(...heights);
    const hi = Math.max(...heights);
    const observedBlockMs =
      hi > lo && seenAt.has(lo) && seenAt.has(hi)
        ? round((seenAt.get(hi)! - seenAt.get(lo)!) / (hi - lo), 1)
        : BLOCK_TIME_S * 1000;
    const goalMs = BLOCK_TIME_S * 1000 + 250;
    const inc = summariseLatencies(fromInclusion);
    return {
      payments: fromInclusion.length,
      blockTimeMs: BLOCK_TIME_S * 1000,
      tickIntervalMs,
      database: { kind: db.kind, server: db.server, ...(db.note ? { note: db.note } : {}) },
      fromInclusion: inc,
      fromBroadcast: summariseLatencies(fromBroadcast),
      webhookFromInclusion: summariseLatencies(webhookFromInclusion),
      webhookFromBroadcast: summariseLatencies(webhookFromBroadcast),
      observedBlockMs,
      goalMs,
      pass:
        fromInclusion.length >= Math.min(50, total) &&
        webhookFromInclusion.length === fromInclusion.length &&
        inc.p50 < goalMs,
      creditedOnce: rows.length === ids.length && rows.every((r) => r.n === 1),
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await sql.end({ timeout: 5 });
    await db.close();
    await anvil.stop();
  }
}

/** For bench/lib/registry.ts. */
export const evmDetectionBench: Bench = {
  name: 'evm-detection',
  description: 'EVM payment detection on anvil with 1 s blocks: inclusion → invoice state change and webhook',
  async run(): Promise<BenchOutcome> {
    const r = await benchEvmDetection();
    return {
      rows: [
        {
          name: `evm: inclusion → state p50 (${r.payments} payments)`,
          figure: ms(r.fromInclusion.p50),
          baseline: `block ${ms(r.observedBlockMs)}`,
          ratio: ratioOf(r.fromInclusion.p50, r.observedBlockMs),
          goal: `p50 < ${ms(r.goalMs)}`,
          pass: r.pass,
        },
        {
          name: 'evm: inclusion → state p95',
          figure: ms(r.fromInclusion.p95),
          baseline: `block ${ms(r.observedBlockMs)}`,
          ratio: ratioOf(r.fromInclusion.p95, r.observedBlockMs),
        },
        {
          name: 'evm: inclusion → webhook p50',
          figure: ms(r.webhookFromInclusion.p50),
          baseline: `block ${ms(r.observedBlockMs)}`,
          ratio: ratioOf(r.webhookFromInclusion.p50, r.observedBlockMs),
        },
        {
          name: 'evm: broadcast → state / webhook p50',
          figure: `${ms(r.fromBroadcast.p50)} / ${ms(r.webhookFromBroadcast.p50)}`,
          baseline: `block ${ms(r.observedBlockMs)}`,
          ratio: ratioOf(r.webhookFromBroadcast.p50, r.observedBlockMs),
        },
      ],
      details: r,
      notes: [
        `evm: watcher and webhook dispatch tick every ${r.tickIntervalMs} ms (BENCH_EVM_TICK_MS), blocks every ${r.blockTimeMs} ms; ` +
          `baseline = the block interval observed; p95 webhook from inclusion ${ms(r.webhookFromInclusion.p95)}` +
          (r.creditedOnce ? '' : '; WARNING: some payment was not credited exactly once'),
        ...(r.database.note ? [r.database.note] : []),
      ],
    };
  },
};
