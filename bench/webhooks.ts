// Webhooks (SPEC section 9): deliveries per second through the whole path — outbox events written by
// the state machine, fan-out, leases, signing, HTTP to a local receiver that fails 20 % of requests,
// retries, attempt log — until every event is delivered. The count delivered must equal the count
// enqueued, or the bench fails.
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HDKey } from '@scure/bip32';
import postgres from 'postgres';
import { EMBEDDED_POOL_MAX } from '../src/boot';
import { loadConfig } from '../src/config';
import { createSql, type Sql } from '../src/db/client';
import { startEmbeddedDatabase } from '../src/db/embedded';
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

export interface WebhooksBenchOptions {
  /** Events written to the outbox (one endpoint, so one delivery each). */
  readonly events?: number;
  /** Share of requests the receiver answers with 500. */
  readonly failureRate?: number;
  /** Deliveries in flight at once (WEBHOOK_CONCURRENCY). */
  readonly concurrency?: number;
}

export interface WebhooksBenchResult {
  readonly database: 'postgres' | 'embedded';
  readonly enqueued: number;
  readonly delivered: number;
  readonly requests: number;
  readonly failedRequests: number;
  readonly seconds: number;
  readonly deliveriesPerSecond: number;
  readonly requestsPerSecond: number;
}

interface BenchDatabase {
  readonly kind: 'postgres' | 'embedded';
  readonly sql: Sql;
  close(): Promise<void>;
}

/** A throwaway database: a new one on DATABASE_URL's server, else an embedded one in a temp dir. */
async function openBenchDatabase(): Promise<BenchDatabase> {
  const adminUrl = process.env.DATABASE_URL;
  if (adminUrl) {
    const name = `alatau_bench_wh_${process.pid}_${Date.now()}`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const sql = createSql(url.toString(), { max: 10 });
    await migrate(sql);
    return {
      kind: 'postgres',
      sql,
      async close() {
        await sql.end({ timeout: 5 });
        await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
        await admin.end({ timeout: 5 });
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'alatau-bench-wh-'));
  const db = await startEmbeddedDatabase({ dataDir: dir, maxConnections: EMBEDDED_POOL_MAX + 2 });
  const sql = createSql(db.url, { max: EMBEDDED_POOL_MAX });
  await migrate(sql);
  return {
    kind: 'embedded',
    sql,
    async close() {
      await sql.end({ timeout: 5 });
      await db.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A receiver that fails every 1/failureRate-th request (deterministic), and checks a sample of signatures. */
async function startFlakyReceiver(failureRate: number, secret: () => string) {
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
    if (n % 20 === 1) {
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

export async function benchWebhooks(opts: WebhooksBenchOptions = {}): Promise<WebhooksBenchResult> {
  const events = opts.events ?? 2000;
  const failureRate = opts.failureRate ?? 0.2;
  const db = await openBenchDatabase();
  let secret = '';
  const receiver = await startFlakyReceiver(failureRate, () => secret);
  try {
    const config = loadConfig({
      NETWORK_MODE: 'sandbox',
      LOG_LEVEL: 'silent',
      WEBHOOK_ENCRYPTION_KEY: generateEncryptionKey(),
      WEBHOOK_ALLOW_PRIVATE: 'true',
      // Ten attempts, all due at once: the bench measures throughput, not the waiting.
      WEBHOOK_RETRY_SCHEDULE: '0,0,0,0,0,0,0,0,0,0',
      WEBHOOK_RETRY_JITTER_PERCENT: '0',
      WEBHOOK_CONCURRENCY: String(opts.concurrency ?? 32),
    });
    const services = createServices(config, db.sql, { logger: silentLogger });
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
    return {
      database: db.kind,
      enqueued: events,
      delivered: row!.succeeded,
      requests: receiver.stats.requests,
      failedRequests: receiver.stats.failed,
      seconds: Math.round(seconds * 100) / 100,
      deliveriesPerSecond: Math.round(events / seconds),
      requestsPerSecond: Math.round(receiver.stats.requests / seconds),
    };
  } finally {
    await receiver.close();
    await db.close();
  }
}

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
