// Fairness (SPEC section 9, issue 13 item 10): one merchant's payment-detection and webhook latency
// while another merchant's 16 webhook endpoints never answer, beside the same run without them.
//
// The gateway's background jobs run as `npm start` runs them (the watchers' tick loop and the webhook
// delivery loop, default WEBHOOK_TIMEOUT_MS and WEBHOOK_CONCURRENCY) on a Litecoin Core regtest node.
// Merchant A takes payments (invoice, then broadcast from the node's wallet; a block every few).
// For each payment:
//   detection = broadcast → the outbox row of `invoice.payment_received` (the state change's time);
//   webhook   = broadcast → that event's arrival at A's receiver;
//   created   = invoice creation → its `invoice.created` arrival at A's receiver.
// In both phases merchant B creates invoices all along (a backlog first, then one every 500 ms).
// Phase 1: B has no webhook endpoint. Phase 2: B has 16 endpoints on a server that accepts each
// request and never answers. Ratio = phase 2 p50 / phase 1 p50; goal ≤ 1.2.
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HDKey } from '@scure/bip32';
import { ensureWallet, findLitecoind, fundWallet, startLitecoind } from '../sandbox/litecoin';
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
import { createServices, type Services } from '../src/services';
import * as tick from '../src/watch/tick';
import * as dispatch from '../src/webhooks/dispatch';
import { createEndpoint } from '../src/webhooks/repository';
import { generateEncryptionKey } from '../src/webhooks/secrets';
import { openBenchDatabase } from './lib/database';
import { envNumber, ms, ratioOf } from './lib/format';
import { type LatencySummary, summariseLatencies } from './lib/latency';
import type { Bench, BenchOutcome } from './lib/types';
import { startArrivalReceiver } from './lib/webhook-arrivals';

export const FAIRNESS_RATIO_GOAL = 1.2;
const DEAD_ENDPOINTS = 16;

export interface FairnessPhase {
  readonly payments: number;
  readonly detection: LatencySummary;
  readonly webhook: LatencySummary;
  readonly created: LatencySummary;
  /** Payments or invoices whose webhook had not arrived when the phase gave up waiting (counted at the wait). */
  readonly missing: number;
  readonly deadRequests: number;
}

export interface FairnessResult {
  readonly database: { kind: string; server: string; note?: string };
  readonly tickIntervalMs: number;
  readonly webhookTimeoutMs: number;
  readonly concurrency: number;
  readonly separateDeliveryLoop: boolean;
  readonly alone: FairnessPhase;
  readonly withDeadEndpoints: FairnessPhase;
  readonly ratio: { detection: number; webhook: number; created: number };
  readonly pass: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A server that reads each request and never answers it. */
async function startBlackHole() {
  const open = new Set<ServerResponse>();
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    open.add(res);
    req.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of open) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The background jobs as src/node.ts starts them; before issue 13 there was the one tick loop. */
function startJobs(services: Services, intervalMs: number): { separate: boolean; stop(): Promise<void> } {
  const startDeliveryLoop = (dispatch as Record<string, unknown>)['startDeliveryLoop'] as
    | typeof dispatch.startDeliveryLoop
    | undefined;
  if (!startDeliveryLoop) {
    const all = tick.startTickLoop(services, intervalMs);
    return { separate: false, stop: () => all.stop() };
  }
  const ticks = tick.startTickLoop(services, intervalMs, { webhooks: false });
  const deliveries = startDeliveryLoop(services, intervalMs);
  return {
    separate: true,
    async stop() {
      await ticks.stop();
      await deliveries.stop();
    },
  };
}

function randomTpub(): string {
  const seed = crypto.getRandomValues(new Uint8Array(32));
  return HDKey.fromMasterSeed(seed, { private: 0x04358394, public: 0x043587cf }).derive("m/84'/1'/0'")
    .publicExtendedKey;
}

export async function benchFairness(
  opts: { payments?: number; tickIntervalMs?: number; waitMs?: number } = {},
): Promise<FairnessResult> {
  if (!findLitecoind()) throw new Error('litecoind is not installed (apt-get install -y litecoind)');
  const payments = opts.payments ?? envNumber('BENCH_FAIRNESS_PAYMENTS', 20);
  const tickIntervalMs = opts.tickIntervalMs ?? envNumber('BENCH_FAIRNESS_TICK_MS', 250);
  const waitMs = opts.waitMs ?? envNumber('BENCH_FAIRNESS_WAIT_MS', 60_000);
  const dir = mkdtempSync(join(tmpdir(), 'alatau-bench-fair-'));
  const node = await startLitecoind({ dataDir: dir });
  const db = await openBenchDatabase({ maxConnections: 12 });
  const sql = createSql(db.url, { max: db.kind === 'embedded' ? 1 : 10 });
  const closers: (() => Promise<void>)[] = [];
  try {
    await migrate(sql);
    const wallet = await ensureWallet(node.rpc, 'bench');
    await fundWallet(node.rpc, wallet, 200);
    const miner = await wallet.call<string>('getnewaddress');
    const config = loadConfig({
      NETWORK_MODE: 'sandbox',
      LOG_LEVEL: 'silent',
      LITECOIN_REGTEST_RPC_URL: node.rpcUrl,
      // The dead-hooks merchant's network must be watched for its option to be offered at all; a
      // node nobody answers, with no retries, costs both phases the same.
      BITCOIN_REGTEST_RPC_URL: 'http://u:p@127.0.0.1:9',
      UTXO_RETRIES: '0',
      WEBHOOK_ENCRYPTION_KEY: generateEncryptionKey(),
      WEBHOOK_ALLOW_PRIVATE: 'true',
    });
    const services = createServices(config, sql, {
      logger: silentLogger,
      rates: createRatesService({ sources: [createFixedSource()], maxAgeMs: 600_000, cacheTtlMs: 600_000 }),
    });
    const endpointDeps = { sql, secretBox: services.secretBox, urlCheck: { allowPrivate: true } };
    const { merchant: a } = await createMerchant(sql, {
      name: 'Fair Café',
      mode: 'test',
      xpubs: { 'litecoin-regtest': DEMO_VPUB },
    });
    const { merchant: b } = await createMerchant(sql, {
      name: 'Dead Hooks Ltd',
      mode: 'test',
      xpubs: { 'bitcoin-regtest': randomTpub() },
    });
    const arrivals = await startArrivalReceiver();
    closers.push(() => arrivals.close());
    await createEndpoint(endpointDeps, a.id, { url: arrivals.url });
    const hole = await startBlackHole();
    closers.push(() => hole.close());
    const bInvoice = () =>
      createInvoice(services, b.id, { amount: '1000.00', currency: 'KZT', options: ['BTC@bitcoin-regtest'] });

    let separate = true;
    const phase = async (withDead: boolean): Promise<FairnessPhase> => {
      if (withDead) {
        for (let i = 0; i < DEAD_ENDPOINTS; i++) {
          await createEndpoint(endpointDeps, b.id, { url: `${hole.origin}/hook/${i}` });
        }
      }
      for (let i = 0; i < 10; i++) await bInvoice(); // a backlog: 160 deliveries with the endpoints
      const jobs = startJobs(services, tickIntervalMs);
      separate = jobs.separate;
      let feeding = true;
      const feeder = (async () => {
        while (feeding) {
          await bInvoice().catch(() => {});
          await sleep(500);
        }
      })();
      const createdAt = new Map<string, number>();
      const broadcastAt = new Map<string, number>();
      try {
        for (let i = 0; i < payments; i++) {
          const inv = await createInvoice(services, a.id, {
            amount: '15000.00',
            currency: 'KZT',
            options: ['LTC@litecoin-regtest'],
          });
          createdAt.set(inv.id, inv.createdAt.getTime());
          const o = inv.options[0]!;
          await sleep(150);
          broadcastAt.set(inv.id, Date.now());
          await wallet.call('sendtoaddress', { address: o.address, amount: formatUnits(o.amountAtomic, 8) });
          await sleep(400);
          if ((i + 1) % 4 === 0) await node.rpc.call('generatetoaddress', [1, miner]);
        }
        const ids = [...broadcastAt.keys()];
        const deadline = Date.now() + waitMs;
        while (
          Date.now() < deadline &&
          ids.some(
            (id) =>
              arrivals.at(id, 'invoice.payment_received') === undefined ||
              arrivals.at(id, 'invoice.created') === undefined,
          )
        ) {
          await sleep(100);
        }
        const gaveUp = Date.now();
        const rows = await sql<{ invoice_id: string; at: Date }[]>`
          select invoice_id, min(created_at) as at from outbox
          where type = 'invoice.payment_received' and invoice_id in ${sql(ids)} group by invoice_id`;
        const detection: number[] = [];
        const webhook: number[] = [];
        const created: number[] = [];
        let missing = 0;
        for (const id of ids) {
          const sent = broadcastAt.get(id)!;
          const row = rows.find((r) => r.invoice_id === id);
          detection.push((row ? new Date(row.at).getTime() : gaveUp) - sent);
          const got = arrivals.at(id, 'invoice.payment_received');
          const made = arrivals.at(id, 'invoice.created');
          if (got === undefined || made === undefined) missing++;
          webhook.push((got ?? gaveUp) - sent);
          created.push((made ?? gaveUp) - createdAt.get(id)!);
        }
        return {
          payments: ids.length,
          detection: summariseLatencies(detection),
          webhook: summariseLatencies(webhook),
          created: summariseLatencies(created),
          missing,
          deadRequests: hole.requests,
        };
      } finally {
        feeding = false;
        await feeder;
        // The hanging requests end with the black hole; then the loops stop without waiting them out.
        if (withDead) await hole.close();
        await jobs.stop();
      }
    };

    const alone = await phase(false);
    const withDeadEndpoints = await phase(true);
    const ratio = {
      detection: ratioOf(withDeadEndpoints.detection.p50, alone.detection.p50),
      webhook: ratioOf(withDeadEndpoints.webhook.p50, alone.webhook.p50),
      created: ratioOf(withDeadEndpoints.created.p50, alone.created.p50),
    };
    return {
      database: { kind: db.kind, server: db.server, ...(db.note ? { note: db.note } : {}) },
      tickIntervalMs,
      webhookTimeoutMs: config.WEBHOOK_TIMEOUT_MS,
      concurrency: config.WEBHOOK_CONCURRENCY,
      separateDeliveryLoop: separate,
      alone,
      withDeadEndpoints,
      ratio,
      pass:
        withDeadEndpoints.missing === 0 &&
        ratio.detection <= FAIRNESS_RATIO_GOAL &&
        ratio.webhook <= FAIRNESS_RATIO_GOAL &&
        ratio.created <= FAIRNESS_RATIO_GOAL,
    };
  } finally {
    for (const close of closers.reverse()) await close().catch(() => {});
    await sql.end({ timeout: 5 });
    await db.close();
    await node.stop({ kill: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

/** For bench/lib/registry.ts. */
export const fairnessBench: Bench = {
  name: 'fairness',
  spec: 'fairness',
  description: "one merchant's detection and webhook latency while another's 16 endpoints never answer",
  async run(): Promise<BenchOutcome> {
    const r = await benchFairness();
    const row = (name: string, key: 'detection' | 'webhook' | 'created') => ({
      name: `fairness: ${name} p50`,
      figure: ms(r.withDeadEndpoints[key].p50),
      baseline: ms(r.alone[key].p50),
      ratio: r.ratio[key],
      goal: `ratio ≤ ${FAIRNESS_RATIO_GOAL}`,
      pass: r.ratio[key] <= FAIRNESS_RATIO_GOAL && r.withDeadEndpoints.missing === 0,
    });
    return {
      rows: [
        row('broadcast → processing', 'detection'),
        row('broadcast → webhook', 'webhook'),
        row('created → invoice.created webhook', 'created'),
      ],
      details: r,
      notes: [
        `fairness: ${r.alone.payments} payments per phase on litecoind regtest, jobs every ${r.tickIntervalMs} ms; ` +
          `the other merchant's ${DEAD_ENDPOINTS} endpoints never answer (timeout ${r.webhookTimeoutMs} ms, ` +
          `${r.withDeadEndpoints.deadRequests} requests held); baseline = the same run without them` +
          (r.withDeadEndpoints.missing ? `; ${r.withDeadEndpoints.missing} webhooks had not arrived` : ''),
        ...(r.database.note ? [r.database.note] : []),
      ],
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

if (isMain) {
  console.log(JSON.stringify({ fairness: await benchFairness() }, null, 2));
}
