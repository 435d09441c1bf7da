// The database-termination storm (issue 13 item 1), shared by `npm run chaos` and its test: one
// gateway process (src/node.ts, ticks on) on a fresh PostgreSQL database takes keyed invoice
// creations from 10 parallel clients while an admin connection terminates every other backend of
// that database every ~0.7 s. Then: the process is alive, every key has exactly one invoice (each
// client retries on 503/409 and dropped connections until it gets its 201), nothing is half-written,
// ticks carry on (every invoice.created reaches a webhook receiver), /readyz said 503 while the
// database was gone and says 200 after. A 500 or a dead process is a breach.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HDKey } from '@scure/bip32';
import postgres from 'postgres';
import { createSql } from '../src/db/client';
import { migrate } from '../src/db/migrate';
import { createMerchant } from '../src/merchants/repository';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface StormOptions {
  /** A PostgreSQL URL allowed to create and drop databases. */
  readonly adminUrl: string;
  /** Keyed creations in all (default 60), sent by `parallel` clients (default 10). */
  readonly requests?: number;
  readonly parallel?: number;
  /** Between terminations (default 700 ms). */
  readonly everyMs?: number;
  readonly log?: (line: string) => void;
}

export interface StormReport {
  readonly breaches: string[];
  readonly lines: string[];
  readonly terminations: number;
  readonly retried: Record<string, number>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  await new Promise<void>((r) => server.close(() => r()));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

function accountKey(): string {
  const testnet = { private: 0x04358394, public: 0x043587cf };
  return HDKey.fromMasterSeed(randomBytes(32), testnet).derive("m/84'/1'/0'").publicExtendedKey;
}

export async function runDbStorm(opts: StormOptions): Promise<StormReport> {
  const total = opts.requests ?? 60;
  const parallel = opts.parallel ?? 10;
  const everyMs = opts.everyMs ?? 700;
  const log = opts.log ?? (() => {});
  const breaches: string[] = [];
  const lines: string[] = [];
  const retried: Record<string, number> = {};
  const dir = mkdtempSync(join(tmpdir(), 'alatau-storm-'));
  const dbName = `alatau_storm_${process.pid}_${Date.now().toString(36)}`;
  const admin = postgres(opts.adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${dbName}`);
  const u = new URL(opts.adminUrl);
  u.pathname = `/${dbName}`;
  const dbUrl = u.toString();
  const db = createSql(dbUrl, { max: 2 });
  let child: ChildProcess | undefined;
  let exit: string | undefined;
  const hooks = new Set<string>();
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = req.headers['webhook-id'];
      if (typeof id === 'string') hooks.add(id);
      res.writeHead(204).end();
    });
  });
  const logPath = join(dir, 'gateway.log');
  try {
    await migrate(db);
    const { apiKey } = await createMerchant(
      db,
      { name: 'Storm Shop', mode: 'test', xpubs: { 'bitcoin-regtest': accountKey() } },
      'storm',
    );
    const hookPort = await freePort();
    await new Promise<void>((r) => receiver.listen(hookPort, '127.0.0.1', r));
    const port = await freePort();
    // Options are offered only on watched networks. The storm is about the database, not a chain: a
    // bitcoind that nobody answers makes bitcoin-regtest watched (its polls fail fast and are logged),
    // and SANDBOX_CHAINS=false keeps the gateway from starting anvil and litecoind for nothing.
    const deadRpcPort = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const fd = openSync(logPath, 'a');
    child = spawn(process.execPath, ['--import', 'tsx', 'src/node.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        NETWORK_MODE: 'sandbox',
        HOST: '127.0.0.1',
        PORT: String(port),
        PUBLIC_URL: base,
        DATABASE_URL: dbUrl,
        DATABASE_POOL_MAX: '5',
        DATA_DIR: dir,
        LOG_LEVEL: 'warn',
        SEED_DEMO: 'false',
        SANDBOX_CHAINS: 'false',
        BITCOIN_REGTEST_RPC_URL: `http://storm:storm@127.0.0.1:${deadRpcPort}`,
        JOBS: 'true',
        TICK_INTERVAL_MS: '300',
        WEBHOOK_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
        WEBHOOK_RETRY_SCHEDULE: Array.from({ length: 25 }, (_, i) => (i === 0 ? '0' : '1s')).join(','),
        WEBHOOK_RETRY_JITTER_PERCENT: '0',
      },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    child.once('exit', (code, signal) => {
      exit = `exit code ${code ?? '-'} signal ${signal ?? '-'}`;
    });
    const readyz = async () => {
      try {
        return (await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(3_000) })).status;
      } catch {
        return 0;
      }
    };
    const started = Date.now();
    while ((await readyz()) !== 200) {
      if (exit || Date.now() - started > 90_000)
        throw new Error(`the gateway did not start (${exit ?? 'timeout'})`);
      await sleep(200);
    }
    const auth = { authorization: `Bearer ${apiKey.apiKey}`, 'content-type': 'application/json' };
    const hook = await fetch(`${base}/v1/webhooks`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ url: `http://127.0.0.1:${hookPort}/hooks` }),
    });
    if (hook.status !== 201) throw new Error(`webhook endpoint: HTTP ${hook.status} ${await hook.text()}`);

    // --- the storm: terminations every ~everyMs while the clients create
    let storming = true;
    let terminations = 0;
    const killer = (async () => {
      const k = postgres(opts.adminUrl, { max: 1, onnotice: () => {} });
      // The first termination comes at once: a short run (chaos --short) can finish its requests
      // within one interval, and a storm that never terminated anything proves nothing.
      while (storming) {
        const rows = await k`select pg_terminate_backend(pid) as t from pg_stat_activity
          where datname = ${dbName} and pid <> pg_backend_pid()`.catch(() => []);
        terminations += rows.length;
        await sleep(everyMs * (0.7 + Math.random() * 0.6));
      }
      await k.end({ timeout: 2 });
    })();
    const keys = Array.from({ length: total }, (_, i) => `storm-${i}-${randomBytes(4).toString('hex')}`);
    const answered = new Map<string, string>();
    let next = 0;
    const client = async () => {
      for (let i = next++; i < total; i = next++) {
        const key = keys[i]!;
        const body = JSON.stringify({
          amount: `${1000 + i}.00`,
          currency: 'KZT',
          orderId: key,
          options: ['BTC@bitcoin-regtest'],
        });
        for (let attempt = 0; ; attempt++) {
          if (exit) return;
          if (attempt > 400) {
            breaches.push(`${key}: no invoice after 400 attempts`);
            return;
          }
          let status: number;
          let text: string;
          try {
            const res = await fetch(`${base}/v1/invoices`, {
              method: 'POST',
              headers: { ...auth, 'idempotency-key': key },
              body,
              signal: AbortSignal.timeout(20_000),
            });
            status = res.status;
            text = await res.text();
            if (status === 503 && !res.headers.get('retry-after'))
              breaches.push(`${key}: 503 without Retry-After: ${text.slice(0, 200)}`);
          } catch (err) {
            status = 0;
            text = (err as Error).message;
          }
          if (status === 201) {
            answered.set(key, (JSON.parse(text) as { id: string }).id);
            break;
          }
          retried[status] = (retried[status] ?? 0) + 1;
          if (status !== 503 && status !== 409 && status !== 0) {
            breaches.push(`${key}: HTTP ${status} ${text.slice(0, 300)}`);
            if (status < 500) return;
          }
          await sleep(100 + Math.random() * 200);
        }
      }
    };
    const stormStart = Date.now();
    await Promise.all(Array.from({ length: parallel }, client));
    // While terminations continue, /readyz must say 503 at least once when the database is gone:
    // a termination ends the pool's connections; readyz's query then fails or reconnects.
    const stormMs = Date.now() - stormStart;
    storming = false;
    await killer;
    log(`storm: ${terminations} backends terminated over ${(stormMs / 1000).toFixed(1)}s`);

    if (exit) breaches.push(`the gateway died during the storm (${exit})`);
    else lines.push(`[ok]   the gateway survived ${terminations} terminated backends`);

    // --- after: the database is back
    const t1 = Date.now();
    while (!exit && (await readyz()) !== 200 && Date.now() - t1 < 30_000) await sleep(200);
    if (!exit && (await readyz()) !== 200) breaches.push('/readyz is not 200 after the database came back');

    // Exactly one invoice per key, and the one the client was told.
    const rows = await db<{ order_id: string; id: string }[]>`select order_id, id from invoices`;
    const byKey = new Map<string, string[]>();
    for (const r of rows) byKey.set(r.order_id, [...(byKey.get(r.order_id) ?? []), r.id]);
    let exact = 0;
    for (const key of keys) {
      const ids = byKey.get(key) ?? [];
      if (ids.length !== 1) breaches.push(`${key}: ${ids.length} invoices`);
      else if (answered.has(key) && answered.get(key) !== ids[0])
        breaches.push(`${key}: answered ${answered.get(key)} but stored ${ids[0]}`);
      else exact++;
    }
    if (rows.length !== keys.length) breaches.push(`${rows.length} invoices for ${keys.length} keys`);
    lines.push(
      `${exact === keys.length ? '[ok]  ' : '[FAIL]'} exactly one invoice per key (${exact} of ${keys.length})`,
    );

    const [half] = await db<
      { no_options: number; no_event: number; orphan_events: number; done_without_invoice: number }[]
    >`select
      (select count(*)::int from invoices i where not exists
        (select 1 from payment_options o where o.invoice_id = i.id)) as no_options,
      (select count(*)::int from invoices i where not exists
        (select 1 from outbox e where e.invoice_id = i.id and e.type = 'invoice.created')) as no_event,
      (select count(*)::int from outbox e where e.invoice_id is not null and not exists
        (select 1 from invoices i where i.id = e.invoice_id)) as orphan_events,
      (select count(*)::int from idempotency_keys k where k.state = 'done' and not exists
        (select 1 from invoices i where i.id = k.response_body->>'id')) as done_without_invoice`;
    const halfTotal = Object.values(half!).reduce((a, b) => a + b, 0);
    if (halfTotal > 0) breaches.push(`half-written rows: ${JSON.stringify(half)}`);
    lines.push(`${halfTotal === 0 ? '[ok]  ' : '[FAIL]'} nothing half-written ${JSON.stringify(half)}`);

    // Ticks carry on: every invoice.created reaches the receiver.
    const events = await db<
      { event_id: string }[]
    >`select event_id from outbox where type = 'invoice.created'`;
    const t2 = Date.now();
    const missing = () => events.filter((e) => !hooks.has(e.event_id)).length;
    while (!exit && missing() > 0 && Date.now() - t2 < 60_000) await sleep(300);
    if (missing() > 0)
      breaches.push(`${missing()} of ${events.length} invoice.created events never delivered`);
    lines.push(
      `${missing() === 0 ? '[ok]  ' : '[FAIL]'} ticks carry on: ${events.length - missing()} of ${events.length} events delivered after the storm`,
    );
    if (exit) breaches.push(`the gateway died after the storm (${exit})`);
    // The entry logs an unhandled rejection instead of dying; each one is still a bug to fix.
    const unhandled = readFileSync(logPath, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"unhandled rejection"'));
    if (unhandled.length)
      breaches.push(`${unhandled.length} unhandled rejections: ${unhandled.join('\n').slice(0, 2000)}`);
    lines.push(`${unhandled.length ? '[FAIL]' : '[ok]  '} no unhandled rejection (${unhandled.length})`);
    lines.push(`       retries by status: ${JSON.stringify(retried)}`);

    // Down means 503: with the database refusing connections for this database, /readyz says so.
    await admin.unsafe(`alter database ${dbName} allow_connections false`);
    await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${dbName}`;
    const down = await readyz();
    await admin.unsafe(`alter database ${dbName} allow_connections true`);
    if (down !== 503) breaches.push(`/readyz answered ${down} with the database gone`);
    lines.push(`${down === 503 ? '[ok]  ' : '[FAIL]'} /readyz says 503 while the database is gone`);
    return { breaches, lines, terminations, retried };
  } catch (err) {
    breaches.push(`storm could not run: ${(err as Error).message}`);
    return { breaches, lines, terminations: 0, retried };
  } finally {
    if (breaches.length) {
      try {
        lines.push(
          `gateway log (last lines):\n${readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-30).join('\n')}`,
        );
      } catch {}
    }
    if (child && !exit) {
      const c = child;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 8_000);
      await exited;
      clearTimeout(timer);
    }
    receiver.closeAllConnections();
    receiver.close();
    await db.end({ timeout: 2 }).catch(() => {});
    await admin.unsafe(`drop database if exists ${dbName} with (force)`).catch(() => {});
    await admin.end({ timeout: 2 });
    rmSync(dir, { recursive: true, force: true });
  }
}
