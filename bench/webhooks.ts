// Webhooks (SPEC section 9): deliveries per second through the whole path — outbox events written by
// the state machine, fan-out, leases, signing, HTTP to a local receiver that fails 20 % of requests,
// retries, attempt log — until every event is delivered. The count delivered must equal the count
// enqueued, or the bench fails. Baseline, same run: the same bodies POSTed with plain fetch() at the
// same concurrency to an identical receiver, retried until each is acknowledged (no database, no
// signing) — what the HTTP leg alone allows on this machine.
import { realpathSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { HDKey } from '@scure/bip32';
import { EMBEDDED_POOL_MAX } from '../src/boot';
import { loadConfig } from '../src/config';
import { createSql } from '../src/db/client';
import { migrate } from '../src/db/migrate';
import { loadInvoice } from '../src/invoices/repository';
import { emitEvent } from '../src/invoices/state';
import { newId } from '../src/lib/ids';
import { silentLogger } from '../src/lib/log';
import { createMerchant } from '../src/merchants/repository';
import { createServices } from '../src/services';
import { runWebhookTick } from '../src/webhooks/dispatch';
import { createEndpoint } from '../src/webhooks/repository';
import { generateEncryptionKey } from '../src/webhooks/secrets';
import { verifyWebhook } from '../src/webhooks/verify';
import { openBenchDatabase } from './lib/database';
import { envNumber, grouped, ratioOf, round } from './lib/format';
import type { Bench, BenchOutcome } from './lib/types';

export interface WebhooksBenchOptions {
  /** Events written to the outbox (one endpoint, so one delivery each). */
  readonly events?: number;
  /** Share of requests the receiver answers with 500. */
  readonly failureRate?: number;
  /** Deliveries in flight at once (WEBHOOK_CONCURRENCY). */
  readonly concurrency?: number;
}

export interface WebhooksBenchResult {
  readonly database: { kind: string; server: string; note?: string };
  readonly concurrency: number;
  readonly failureRate: number;
  readonly enqueued: number;
  readonly delivered: number;
  readonly requests: number;
  readonly failedRequests: number;
  readonly seconds: number;
  readonly deliveriesPerSecond: number;
  readonly requestsPerSecond: number;
  /** Plain fetch() of the same bodies to an identical receiver, retried until acknowledged. */
  readonly baseline: {
    readonly delivered: number;
    readonly seconds: number;
    readonly deliveriesPerSecond: number;
  };
  /** deliveriesPerSecond / baseline.deliveriesPerSecond. */
  readonly ratio: number;
}

/** A receiver that fails every 1/failureRate-th request (deterministic), and checks a sample of signatures. */
async function startFlakyReceiver(failureRate: number, secret?: () => string) {
  const every = Math.round(1 / failureRate);
  const acknowledged = new Set<string>();
  const stats = { requests: 0, failed: 0, badSignatures: 0 };
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const n = ++stats.requests;
    if (n % every === 0) {
      stats.failed++;
      res.writeHead(500).end('induced failure');
      return;
    }
    const id = String(req.headers['webhook-id']);
    if (secret && n % 20 === 1) {
      await verifyWebhook(secret(), req.headers, Buffer.concat(chunks)).catch(() => {
        stats.badSignatures++;
      });
    }
    acknowledged.add(id);
    res.writeHead(204).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    acknowledged,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The baseline: `bodies` POSTed with fetch() by `concurrency` workers, each retried until acknowledged. */
async function plainPosts(bodies: readonly string[], failureRate: number, concurrency: number) {
  const receiver = await startFlakyReceiver(failureRate);
  try {
    let next = 0;
    const started = performance.now();
    const worker = async () => {
      for (let i = next++; i < bodies.length; i = next++) {
        for (;;) {
          const res = await fetch(receiver.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'webhook-id': `msg_${i}` },
            body: bodies[i]!,
          });
          await res.arrayBuffer();
          if (res.ok) break;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const seconds = (performance.now() - started) / 1000;
    const delivered = receiver.acknowledged.size;
    return { delivered, seconds: round(seconds, 2), deliveriesPerSecond: Math.round(delivered / seconds) };
  } finally {
    await receiver.close();
  }
}

export async function benchWebhooks(opts: WebhooksBenchOptions = {}): Promise<WebhooksBenchResult> {
  const events = opts.events ?? envNumber('BENCH_WEBHOOK_EVENTS', 2000);
  const failureRate = opts.failureRate ?? 0.2;
  const concurrency = opts.concurrency ?? 32;
  const bench = await openBenchDatabase({ maxConnections: EMBEDDED_POOL_MAX + 12 });
  const sql = createSql(bench.url, { max: bench.kind === 'embedded' ? EMBEDDED_POOL_MAX : 10 });
  const db = { kind: bench.kind, sql };
  let secret = '';
  const receiver = await startFlakyReceiver(failureRate, () => secret);
  try {
    await migrate(sql);
    const config = loadConfig({
      NETWORK_MODE: 'sandbox',
      LOG_LEVEL: 'silent',
      WEBHOOK_ENCRYPTION_KEY: generateEncryptionKey(),
      WEBHOOK_ALLOW_PRIVATE: 'true',
      // Ten attempts, all due at once: the bench measures throughput, not the waiting.
      WEBHOOK_RETRY_SCHEDULE: '0,0,0,0,0,0,0,0,0,0',
      WEBHOOK_RETRY_JITTER_PERCENT: '0',
      WEBHOOK_CONCURRENCY: String(concurrency),
    });
    const services = createServices(config, db.sql, { logger: silentLogger }, { offerUnwatched: true });
    const seed = crypto.getRandomValues(new Uint8Array(32));
    const tpub = HDKey.fromMasterSeed(seed, { private: 0x04358394, public: 0x043587cf }).derive(
      "m/84'/1'/0'",
    ).publicExtendedKey;
    const { merchant } = await createMerchant(db.sql, {
      name: 'Bench Shop',
      mode: 'test',
      xpubs: { 'bitcoin-regtest': tpub },
    });
    const created = await createEndpoint(
      { sql: db.sql, secretBox: services.secretBox, urlCheck: { allowPrivate: true } },
      merchant.id,
      { url: receiver.url },
    );
    secret = created.secret;

    // The events, written by the state machine as a payment flow would (full invoice bodies).
    const invoiceId = newId('inv');
    const expiresAt = new Date(Date.now() + 3_600_000);
    await db.sql`insert into invoices (id, merchant_id, amount_tiyn, speed_policy, payment_tolerance_bp,
        expires_at, monitoring_until)
      values (${invoiceId}, ${merchant.id}, 1500000, 'medium', 0, ${expiresAt}, ${expiresAt})`;
    for (let done = 0; done < events; ) {
      const n = Math.min(500, events - done);
      await db.sql.begin(async (tx) => {
        const inv = (await loadInvoice(tx, invoiceId))!;
        for (let i = 0; i < n; i++) await emitEvent(tx, services.state, inv, 'invoice.processing');
      });
      done += n;
    }

    const started = performance.now();
    let delivered = 0;
    let idleTicks = 0;
    while (delivered < events && idleTicks < 50) {
      const r = await runWebhookTick(services, { budgetMs: 5000 });
      delivered += r.succeeded;
      idleTicks = r.leased === 0 && r.events === 0 ? idleTicks + 1 : 0;
    }
    const seconds = (performance.now() - started) / 1000;

    const [row] = await db.sql<{ succeeded: number; other: number }[]>`select
        count(*) filter (where status = 'succeeded')::int as succeeded,
        count(*) filter (where status <> 'succeeded')::int as other
      from webhook_deliveries`;
    if (row!.succeeded !== events || row!.other !== 0 || receiver.acknowledged.size !== events) {
      throw new Error(
        `webhooks bench: ${events} enqueued but ${row!.succeeded} delivered (${row!.other} not), ` +
          `${receiver.acknowledged.size} acknowledged by the receiver`,
      );
    }
    if (receiver.stats.badSignatures > 0) {
      throw new Error(`webhooks bench: ${receiver.stats.badSignatures} sampled signatures did not verify`);
    }
    const bodies = (
      await db.sql<{ payload: unknown }[]>`select payload from outbox order by created_at limit ${events}`
    ).map((r) => (typeof r.payload === 'string' ? r.payload : JSON.stringify(r.payload)));
    const baseline = await plainPosts(bodies, failureRate, concurrency);
    if (baseline.delivered !== events) {
      throw new Error(`webhooks bench: the baseline delivered ${baseline.delivered} of ${events}`);
    }
    const deliveriesPerSecond = Math.round(events / seconds);
    return {
      database: { kind: bench.kind, server: bench.server, ...(bench.note ? { note: bench.note } : {}) },
      concurrency,
      failureRate,
      enqueued: events,
      delivered: row!.succeeded,
      requests: receiver.stats.requests,
      failedRequests: receiver.stats.failed,
      seconds: Math.round(seconds * 100) / 100,
      deliveriesPerSecond,
      requestsPerSecond: Math.round(receiver.stats.requests / seconds),
      baseline,
      ratio: ratioOf(deliveriesPerSecond, baseline.deliveriesPerSecond),
    };
  } finally {
    await receiver.close();
    await sql.end({ timeout: 5 });
    await bench.close();
  }
}

/** For bench/lib/registry.ts. */
export const webhooksBench: Bench = {
  name: 'webhooks',
  description: 'webhook deliveries/s to a local receiver failing 20 % of requests, beside plain fetch()',
  async run(): Promise<BenchOutcome> {
    const r = await benchWebhooks();
    return {
      rows: [
        {
          name: `webhooks: delivered/s (${Math.round(r.failureRate * 100)} % fail)`,
          figure: `${grouped(r.deliveriesPerSecond)}/s`,
          baseline: `${grouped(r.baseline.deliveriesPerSecond)}/s`,
          ratio: r.ratio,
          goal: 'delivered = enqueued',
          pass: r.delivered === r.enqueued,
        },
      ],
      details: r,
      notes: [
        `webhooks: ${grouped(r.enqueued)} events, ${grouped(r.requests)} requests (${grouped(r.failedRequests)} failed on purpose), ` +
          `${r.concurrency} in flight; baseline = the same bodies by plain fetch(), retried until acknowledged`,
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
  console.log(JSON.stringify({ webhooks: await benchWebhooks() }, null, 2));
}
