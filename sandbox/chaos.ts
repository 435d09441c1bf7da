// `npm run chaos [-- --short] [--invoices N] [--seed S] [--keep]`: proof under fire. Starts the
// sandbox chains (anvil, and Litecoin Core regtest), a fresh PostgreSQL database (PG_ADMIN_URL, else
// postgres://postgres@127.0.0.1:5432/postgres) and TWO gateway processes on it, plus a webhook
// receiver that refuses some deliveries. It then creates invoices, pays them in full, in part (once,
// or in two parts that add up) and over, SIGKILLs a random gateway every few seconds and restarts it,
// reorgs anvil once (evm_snapshot/evm_revert) and regtest once (invalidateblock), and at the end
// checks: every on-chain payment credited exactly once, every invoice's state as the chain says,
// every outbox event delivered at least once (by webhook-id), the audit chain intact; then runs the
// database-termination storm (sandbox/db-storm.ts) on a gateway of its own. Exits 1 on any
// breach, printing it (and the gateways' last log lines), 2 when it cannot run. --short is the CI
// form (30 invoices, 1-3 minutes); --keep leaves the database and the temp directory for a look.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HDKey } from '@scure/bip32';
import postgres from 'postgres';
import { verifyAuditChain } from '../src/audit/log';
import { writeSandboxOwner } from '../src/chains/sandbox-owner';
import { writeSandboxUtxo } from '../src/chains/utxo/backends/sandbox-file';
import { paymentTiyn } from '../src/chains/utxo/scan';
import { createSql, type Sql } from '../src/db/client';
import { migrate } from '../src/db/migrate';
import { formatUnits, parseDecimal } from '../src/lib/money';
import { createMerchant } from '../src/merchants/repository';
import { verifyWebhook } from '../src/webhooks/verify';
import { anvilAccount, revertTo, snapshot } from './anvil';
import { runDbStorm } from './db-storm';
import { PAYER_INDEXES, startSandboxEvm } from './evm';
import { ensureWallet, findLitecoind, freePort, fundWallet, mine, startLitecoind } from './litecoin';
import { payEvm } from './pay-evm';
import { payUtxo } from './pay-utxo';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Arguments and the seeded random source (the same seed makes the same plan; timing still varies).

interface Args {
  readonly short: boolean;
  readonly invoices: number;
  readonly seed: number;
  readonly keep: boolean;
}

const USAGE = 'usage: npm run chaos -- [--short] [--invoices N] [--seed S] [--keep]';

export function parseChaosArgs(argv: readonly string[]): Args {
  let short = false;
  let keep = false;
  let invoices: number | undefined;
  let seed = Date.now() % 1_000_000;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const num = (min: number, max: number) => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < min || n > max)
        throw new Error(`${a} takes a whole number from ${min} to ${max}\n${USAGE}`);
      return n;
    };
    if (a === '--short') short = true;
    else if (a === '--keep') keep = true;
    else if (a === '--invoices') invoices = num(6, 5000);
    else if (a === '--seed') seed = num(0, 2 ** 31 - 1);
    else if (a === '--help' || a === '-h') throw new Error(USAGE);
    else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  return { short, keep, seed, invoices: invoices ?? (short ? 30 : 300) };
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------
// The gateway processes: plain `node --import tsx` (no wrapper process), so SIGKILL hits the gateway.

// Whatever happens to this script, no gateway outlives it.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

class Gateway {
  child: ChildProcess | undefined;
  ready = false;
  starts = 0;
  readonly url: string;
  constructor(
    readonly slot: number,
    readonly port: number,
    readonly env: Record<string, string>,
    readonly logPath: string,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  start(): void {
    this.starts++;
    this.ready = false;
    const fd = openSync(this.logPath, 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/node.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...this.env, PORT: String(this.port), PUBLIC_URL: this.url },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    this.child = child;
    live.add(child);
    child.once('exit', () => {
      live.delete(child);
      if (this.child === child) this.ready = false;
    });
    void this.waitReady(child);
  }

  private async waitReady(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + 90_000;
    while (
      Date.now() < deadline &&
      this.child === child &&
      child.exitCode === null &&
      child.signalCode === null
    ) {
      try {
        const res = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(1_000) });
        if (res.ok && this.child === child) {
          this.ready = true;
          return;
        }
      } catch {
        // not listening yet
      }
      await sleep(200);
    }
  }

  async kill(): Promise<void> {
    const child = this.child;
    this.ready = false;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.ready = false;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 8_000);
    await exited;
    clearTimeout(timer);
  }

  log(): string {
    try {
      return readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  tail(lines = 15): string {
    return this.log().trimEnd().split('\n').slice(-lines).join('\n');
  }
}

// ---------------------------------------------------------------------------------------------
// The plan: what each invoice is and how it is paid.

const OPTIONS = ['ETH@anvil', 'USDC@anvil', 'USDT@anvil', 'LTC@litecoin-regtest'] as const;
type Option = (typeof OPTIONS)[number];
const KINDS = ['full', 'partial', 'over', 'split'] as const;
type Kind = (typeof KINDS)[number];

interface PlannedInvoice {
  readonly index: number;
  readonly option: Option;
  readonly kind: Kind;
  readonly amount: string;
  /** Percentages of the amount due, one per payment. */
  readonly parts: readonly number[];
  id?: string;
  address?: string;
  dueAtomic?: bigint;
  decimals?: number;
}

interface Sent {
  readonly invoiceId: string;
  readonly option: Option;
  readonly network: 'anvil' | 'litecoin-regtest';
  readonly txid: string;
  readonly amountAtomic: bigint;
  /** Sent on the anvil branch that the reorg threw away. */
  orphaned?: boolean;
}

function plan(n: number, rnd: () => number): PlannedInvoice[] {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const between = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  return Array.from({ length: n }, (_, index) => {
    const option = OPTIONS[index % OPTIONS.length]!;
    const kind = pick(KINDS);
    const parts =
      kind === 'full'
        ? [100]
        : kind === 'partial'
          ? [between(20, 80)]
          : kind === 'over'
            ? [between(110, 160)]
            : ((p) => [p, 100 - p])(between(25, 75));
    const tenge = between(1_000, 40_000);
    return { index, option, kind, parts, amount: `${tenge}.${String(between(0, 99)).padStart(2, '0')}` };
  });
}

// ---------------------------------------------------------------------------------------------

interface Receiver {
  readonly url: string;
  secret: string | undefined;
  requests: number;
  refused: number;
  /** webhook-id → times answered 2xx. */
  readonly delivered: Map<string, number>;
  /** webhook-id → event type as received. */
  readonly types: Map<string, string>;
  readonly badSignatures: string[];
  close(): Promise<void>;
}

async function startReceiver(rnd: () => number): Promise<Receiver> {
  const port = await freePort();
  const r: Receiver = {
    url: `http://127.0.0.1:${port}/hooks`,
    secret: undefined,
    requests: 0,
    refused: 0,
    delivered: new Map(),
    types: new Map(),
    badSignatures: [],
    close: async () => {},
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        r.requests++;
        const body = Buffer.concat(chunks).toString('utf8');
        const id = String(req.headers['webhook-id'] ?? '');
        const roll = rnd();
        // About a quarter refused: 500s, 503s, and connections dropped without an answer.
        if (roll < 0.04) {
          r.refused++;
          req.socket.destroy();
          return;
        }
        if (roll < 0.25) {
          r.refused++;
          res.writeHead(roll < 0.15 ? 500 : 503).end('chaos says no');
          return;
        }
        try {
          const parsed = (await verifyWebhook(r.secret ?? '', req.headers, body)) as { type?: string };
          r.types.set(id, String(parsed.type));
        } catch (err) {
          r.badSignatures.push(`${id}: ${(err as Error).message}`);
          res.writeHead(400).end('bad signature');
          return;
        }
        r.delivered.set(id, (r.delivered.get(id) ?? 0) + 1);
        res.writeHead(204).end();
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  r.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return r;
}

/** A watch-only tpub of a fresh random wallet (m/84'/1'/0'): the chaos merchant's own addresses. */
function randomAccountKey(): string {
  const testnet = { private: 0x04358394, public: 0x043587cf };
  return HDKey.fromMasterSeed(randomBytes(32), testnet).derive("m/84'/1'/0'").publicExtendedKey;
}

// ---------------------------------------------------------------------------------------------

async function main(argv: readonly string[]): Promise<number> {
  let args: Args;
  try {
    args = parseChaosArgs(argv);
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  if (!findLitecoind()) {
    console.error('chaos: litecoind is not installed (apt-get install -y litecoind, or set LITECOIND_BIN)');
    return 2;
  }
  const t0 = Date.now();
  const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
  const log = (line: string) => console.log(`[${elapsed().padStart(6)}] ${line}`);
  const rnd = mulberry32(args.seed);
  const hookRnd = mulberry32(args.seed ^ 0x5eed);
  const runMs = args.short ? 45_000 : Math.max(120_000, args.invoices * 600);
  const settleMs = args.short ? 150_000 : 300_000;
  // The short form reports by then whatever happens (CI gives it five minutes).
  const reportBy = args.short ? t0 + 290_000 : Number.POSITIVE_INFINITY;
  log(
    `chaos: seed ${args.seed}, ${args.invoices} invoices over ${runMs / 1000}s${args.short ? ' (short)' : ''}`,
  );

  const dir = mkdtempSync(join(tmpdir(), 'alatau-chaos-'));
  const cleanups: (() => Promise<unknown>)[] = [];
  const gateways: Gateway[] = [];
  const breaches: string[] = [];
  const notes: string[] = [];
  // Ctrl-C: stop the nodes and the gateways, drop the database, then leave.
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    console.error('chaos: interrupted, cleaning up');
    void (async () => {
      for (const c of [...cleanups].reverse()) await c().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    })();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // --- chains, owned by this run (sandbox.json says so: whatever reads it uses these)
    writeSandboxOwner(dir, { pid: process.pid, by: 'npm run chaos', startedAt: new Date().toISOString() });
    const anvilPort = await freePort();
    const evm = await startSandboxEvm({ dataDir: dir, port: anvilPort, blockTime: 1 });
    cleanups.push(() => evm.stop());
    const provider = evm.anvil!.provider;
    log(`anvil: ${evm.record.rpcUrl}, contracts deployed`);
    const ltc = await startLitecoind({ dataDir: join(dir, 'litecoind') });
    live.add(ltc.process);
    cleanups.push(() => ltc.stop({ kill: true }));
    const wallet = await ensureWallet(ltc.rpc, 'sandbox');
    await fundWallet(ltc.rpc, wallet, 200);
    writeSandboxUtxo(dir, 'litecoin-regtest', {
      rpcUrl: ltc.rpcUrl,
      wallet: 'sandbox',
      startedAt: new Date().toISOString(),
    });
    log(`litecoind: regtest at height ${await ltc.rpc.call<number>('getblockcount')}, wallet funded`);

    // --- database
    const adminUrl = process.env['PG_ADMIN_URL'] || 'postgres://postgres@127.0.0.1:5432/postgres';
    const dbName = `alatau_chaos_${process.pid}_${Date.now().toString(36)}`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${dbName}`);
    const u = new URL(adminUrl);
    u.pathname = `/${dbName}`;
    const dbUrl = u.toString();
    cleanups.push(async () => {
      if (!args.keep) await admin.unsafe(`drop database if exists ${dbName} with (force)`).catch(() => {});
      await admin.end({ timeout: 5 });
    });
    const db = createSql(dbUrl, { max: 4 });
    cleanups.push(() => db.end({ timeout: 5 }));
    await migrate(db);
    const { merchant, apiKey } = await createMerchant(
      db,
      {
        name: 'Chaos Shop',
        mode: 'test',
        xpubs: { 'litecoin-regtest': randomAccountKey() },
        evmPayout: anvilAccount(8).address,
      },
      'chaos',
    );
    // Partial invoices must still be open (not expired) when the run is judged.
    await db`update merchants set invoice_expiry_minutes = 240 where id = ${merchant.id}`;
    log(`database: ${dbName}${args.keep ? ' (kept)' : ''}, merchant ${merchant.id}`);

    // --- webhook receiver and gateways
    const receiver = await startReceiver(hookRnd);
    cleanups.push(() => receiver.close());
    const env: Record<string, string> = {
      NETWORK_MODE: 'sandbox',
      HOST: '127.0.0.1',
      DATABASE_URL: dbUrl,
      DATABASE_POOL_MAX: '5',
      DATA_DIR: dir,
      LOG_LEVEL: 'warn',
      SEED_DEMO: 'false',
      // The run's own chains (recorded in DATA_DIR/sandbox.json above): a gateway that started its
      // own anvil on every restart would watch a chain no payment of this run is made on.
      SANDBOX_CHAINS: 'false',
      JOBS: 'true',
      TICK_INTERVAL_MS: '500',
      WEBHOOK_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      WEBHOOK_TIMEOUT_MS: '2000',
      // Many quick retries: a refused delivery comes back within seconds, and 25 refusals in a row
      // (a quarter each) do not happen.
      WEBHOOK_RETRY_SCHEDULE: Array.from({ length: 25 }, (_, i) => (i === 0 ? '0' : '1s')).join(','),
      WEBHOOK_RETRY_JITTER_PERCENT: '0',
    };
    for (const slot of [0, 1]) {
      gateways.push(new Gateway(slot, await freePort(), env, join(dir, `gateway-${slot}.log`)));
    }
    cleanups.push(() => Promise.all(gateways.map((g) => g.stop())));
    gateways[0]!.start();
    await waitFor(() => gateways[0]!.ready, 90_000, 'gateway 0 to start');
    gateways[1]!.start();
    await waitFor(() => gateways[1]!.ready, 90_000, 'gateway 1 to start');
    log(`gateways: ${gateways.map((g) => g.url).join(', ')} on one database`);

    let serverErrors = 0;
    let rr = 0;
    const liveGateway = async (): Promise<Gateway> => {
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        for (let k = 0; k < gateways.length; k++) {
          const g = gateways[(rr + k) % gateways.length]!;
          if (g.ready) {
            rr++;
            return g;
          }
        }
        await sleep(100);
      }
      throw new Error('no gateway came up within 120 s');
    };
    // A client that fails over: a killed gateway drops the connection, another one is asked.
    const failoverFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const target = new URL(String(input));
      let last: unknown;
      for (let attempt = 0; attempt < 200; attempt++) {
        const g = await liveGateway();
        target.host = `127.0.0.1:${g.port}`;
        try {
          const res = await fetch(target, { ...init, signal: AbortSignal.timeout(15_000) });
          if (res.status >= 500) {
            serverErrors++;
            breaches.push(
              `${init?.method ?? 'GET'} ${target.pathname}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`,
            );
            await sleep(300);
            continue;
          }
          if (res.status === 409) {
            const body = await res.clone().text();
            if (body.includes('idempotency_key_in_flight')) {
              await sleep(1_000);
              continue;
            }
          }
          return res;
        } catch (err) {
          last = err;
          await sleep(150);
        }
      }
      throw new Error(`${target.pathname}: no answer (${(last as Error)?.message ?? 'gave up'})`);
    };
    const apiJson = async <T>(
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ) => {
      const res = await failoverFetch(`http://gateway${path}`, {
        method,
        headers: {
          authorization: `Bearer ${apiKey.apiKey}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
      return JSON.parse(text) as T;
    };

    const hook = await apiJson<{ id: string; secret: string }>('POST', '/v1/webhooks', { url: receiver.url });
    receiver.secret = hook.secret;
    log(`webhooks: endpoint ${hook.id} → ${receiver.url} (refuses about a quarter)`);

    // --- the chaos: SIGKILL a random gateway every few seconds, restart it at once.
    let kills = 0;
    let killing = true;
    let killUntil = Date.now() + runMs + 30_000;
    const killer = (async () => {
      const kr = mulberry32(args.seed ^ 0x0dead);
      while (killing) {
        await sleep(3_000 + kr() * 4_000);
        // Only while the workload is planned to run: a stalled client must not stretch the chaos.
        if (!killing || Date.now() > killUntil) break;
        const g = gateways[Math.floor(kr() * gateways.length)]!;
        await g.kill();
        kills++;
        // The leases of the killed process would only run out in 30 s; correctness never depends
        // on them (SKIP LOCKED and the payment key do), so free them and let both processes race.
        await db`delete from leases`.catch(() => {});
        g.start();
      }
    })();

    // --- the workload
    const invoices = plan(args.invoices, rnd);
    const sent: Sent[] = [];
    const failures: string[] = [];
    const lanes = new Map<string, Promise<void>>();
    // While set, EVM payments wait (the anvil reorg needs a quiet chain around its snapshot).
    let evmPaused: Promise<void> | undefined;
    const inLane = (lane: string, job: () => Promise<void>): Promise<void> => {
      const run = (lanes.get(lane) ?? Promise.resolve()).then(job).catch((err) => {
        failures.push(`${lane}: ${(err as Error).message}`);
      });
      lanes.set(lane, run);
      return run;
    };
    const evmLanes = PAYER_INDEXES.map((p) => `evm-${p}`);
    let evmTurn = 0;
    let evmInFlight = 0;
    let reverted = 0;
    let ltcInFlight = 0;
    let ltcPaused: Promise<void> | undefined;
    const payOnce = async (
      inv: PlannedInvoice,
      atomic: bigint,
      lane: string,
      bypassGate = false,
    ): Promise<Sent> => {
      const amount = formatUnits(atomic, inv.decimals!);
      if (inv.option === 'LTC@litecoin-regtest') {
        // Not while invalidateblock rewinds the node: a wallet send then may never reach the mempool.
        while (ltcPaused) await ltcPaused;
        ltcInFlight++;
        const r = await payUtxo({
          invoiceId: inv.id!,
          option: inv.option,
          amount,
          dataDir: dir,
          gatewayUrl: 'http://gateway',
          fetchImpl: failoverFetch as typeof fetch,
        }).finally(() => {
          ltcInFlight--;
        });
        const s: Sent = {
          invoiceId: inv.id!,
          option: inv.option,
          network: 'litecoin-regtest',
          txid: r.txid,
          amountAtomic: atomic,
        };
        sent.push(s);
        return s;
      }
      if (!bypassGate) {
        while (evmPaused) await evmPaused;
      }
      evmInFlight++;
      const pay = () =>
        payEvm({
          invoiceId: inv.id!,
          option: inv.option,
          amount,
          payer: Number(lane.slice(4)),
          rpcUrl: evm.record.rpcUrl,
          gatewayUrl: 'http://gateway',
          fetchImpl: failoverFetch as typeof fetch,
        });
      const r = await pay()
        .catch((err: { code?: string }) => {
          // A plain ETH transfer's gas is estimated (21,000) while the deposit address is empty; a
          // sweep that deploys its forwarder before the transfer is mined makes it run out of gas.
          // Nothing moved; the payer, like a person, pays again (now with the code in the estimate).
          if (err.code !== 'CALL_EXCEPTION') throw err;
          reverted++;
          return pay();
        })
        .finally(() => {
          evmInFlight--;
        });
      const s: Sent = {
        invoiceId: inv.id!,
        option: inv.option,
        network: 'anvil',
        txid: r.txid,
        amountAtomic: atomic,
      };
      sent.push(s);
      return s;
    };
    const payPlanned = (inv: PlannedInvoice) => {
      const lane = inv.option === 'LTC@litecoin-regtest' ? 'ltc' : evmLanes[evmTurn++ % evmLanes.length]!;
      return inLane(lane, async () => {
        let left = inv.dueAtomic!;
        for (const [k, pct] of inv.parts.entries()) {
          // The last part of a split pays exactly what is left, so the parts add up to the amount due.
          const atomic =
            inv.kind === 'split' && k === inv.parts.length - 1 ? left : (inv.dueAtomic! * BigInt(pct)) / 100n;
          left -= atomic;
          await payOnce(inv, atomic > 0n ? atomic : 1n, lane);
        }
      });
    };

    // Litecoin blocks keep coming; the invalidateblock step pauses them.
    let mining = true;
    let miningLock: Promise<unknown> = Promise.resolve();
    const withMining = <T>(fn: () => Promise<T>): Promise<T> => {
      const run = miningLock.then(fn);
      miningLock = run.catch(() => undefined);
      return run;
    };
    const miner = (async () => {
      while (mining) {
        await sleep(1_500);
        await withMining(() => mine(ltc.rpc, wallet, 1)).catch((err) =>
          notes.push(`mining: ${(err as Error).message}`),
        );
      }
    })();

    const reorg = { evmDepth: 0, evmOrphaned: 0, ltcHeight: 0, ltcTxs: 0 };
    const evmReorgAt = Math.floor(invoices.length * 0.4);
    const ltcReorgAt = Math.floor(invoices.length * 0.6);
    const createInvoice = async (inv: PlannedInvoice, orderId: string): Promise<void> => {
      const created = await apiJson<{
        id: string;
        paymentOptions: { option: string; address: string; amountAtomic: string; decimals: number }[];
      }>(
        'POST',
        '/v1/invoices',
        { amount: inv.amount, currency: 'KZT', orderId, options: [inv.option] },
        { 'idempotency-key': `chaos-${args.seed}-${orderId}` },
      );
      const o = created.paymentOptions.find((x) => x.option === inv.option)!;
      inv.id = created.id;
      inv.address = o.address;
      inv.dueAtomic = BigInt(o.amountAtomic);
      inv.decimals = o.decimals;
    };
    /** Invoices made for the anvil reorg: paid, reorged away, paid again in full. */
    const reorgInvoices: PlannedInvoice[] = [];
    const creations: Promise<void>[] = [];
    const started = Date.now();
    killUntil = started + runMs;
    for (const inv of invoices) {
      const due = started + (inv.index * runMs) / invoices.length;
      if (due > Date.now()) await sleep(due - Date.now());
      if (inv.index === evmReorgAt) await anvilReorg();
      if (inv.index === ltcReorgAt) await regtestReorg();
      creations.push(
        (async () => {
          await createInvoice(inv, `chaos-${inv.index}`);
          await payPlanned(inv);
        })().catch((err) => {
          failures.push(`invoice ${inv.index}: ${(err as Error).message}`);
        }),
      );
    }
    await Promise.all(creations);
    await Promise.all(lanes.values());
    log(`workload: ${invoices.length} invoices created, ${sent.length} payments sent, ${kills} kills so far`);

    /**
     * anvil: a snapshot, a few full payments on top of it (waited for until the gateways credit
     * them), then back to the snapshot and a longer branch without them. The payers pay again.
     */
    async function anvilReorg(): Promise<void> {
      let resume!: () => void;
      evmPaused = new Promise<void>((r) => {
        resume = r;
      });
      try {
        const victims = (['ETH@anvil', 'USDC@anvil', 'USDT@anvil'] as const).map(
          (option, k): PlannedInvoice => ({
            index: invoices.length + k,
            option,
            kind: 'full',
            parts: [100],
            amount: `${5_000 + k * 1_000}.00`,
          }),
        );
        for (const [k, v] of victims.entries()) await createInvoice(v, `chaos-reorg-${k}`);
        reorgInvoices.push(...victims);
        await waitFor(() => evmInFlight === 0, 60_000, 'EVM payments in flight');
        const snap = await snapshot(provider);
        const from = await provider.getBlockNumber();
        const gone: Sent[] = [];
        for (const [k, v] of victims.entries()) {
          gone.push(await payOnce(v, v.dueAtomic!, evmLanes[k % evmLanes.length]!, true));
        }
        await waitFor(
          async () =>
            (await countCredited(
              db,
              gone.map((s) => s.txid),
            )) === gone.length,
          60_000,
          'the gateways to credit the payments the reorg will remove',
        );
        const to = await provider.getBlockNumber();
        await revertTo(provider, snap);
        for (let k = 0; k < to - from + 2; k++) await provider.send('evm_mine', []);
        for (const s of gone) s.orphaned = true;
        reorg.evmDepth = to - from;
        reorg.evmOrphaned = gone.length;
        log(
          `anvil reorg: blocks ${from + 1}..${to} replaced, ${gone.length} credited payments left the chain`,
        );
        // The payers pay those invoices again, on the new branch.
        for (const v of victims) void payPlanned(v);
      } finally {
        evmPaused = undefined;
        resume();
      }
    }

    /** regtest: invalidateblock on a block holding credited payments; its transactions are mined again. */
    async function regtestReorg(): Promise<void> {
      let resume!: () => void;
      ltcPaused = new Promise<void>((r) => {
        resume = r;
      });
      await waitFor(() => ltcInFlight === 0, 60_000, 'Litecoin payments in flight');
      await withMining(async () => {
        const mined = sent.filter((s) => s.network === 'litecoin-regtest');
        let block: string | undefined;
        for (const s of mined.reverse()) {
          const tx = await wallet.call<{ blockhash?: string; confirmations: number }>('gettransaction', [
            s.txid,
          ]);
          if (tx.blockhash && tx.confirmations > 0) {
            block = tx.blockhash;
            break;
          }
        }
        if (!block) {
          notes.push('regtest reorg skipped: no Litecoin payment was mined yet');
          return;
        }
        const inBlock = await ltc.rpc.call<{ tx: string[]; height: number }>('getblock', [block, 1]);
        const ours = mined.filter((s) => inBlock.tx.includes(s.txid)).map((s) => s.txid);
        await waitFor(
          async () => (await countCredited(db, ours)) === ours.length,
          60_000,
          'the gateways to credit the payments of the block to invalidate',
        ).catch(() => notes.push('regtest reorg: not every payment was credited before invalidateblock'));
        const oldTip = await ltc.rpc.call<number>('getblockcount');
        await ltc.rpc.call('invalidateblock', [block]);
        reorg.ltcHeight = inBlock.height;
        reorg.ltcTxs = ours.length;
        log(
          `regtest reorg: invalidateblock at height ${inBlock.height} (${ours.length} payments back to the mempool)`,
        );
        // Give the gateways a look at the shorter chain before the new branch overtakes it.
        await sleep(2_000);
        // A branch one block longer than the one it replaces.
        const tip = await ltc.rpc.call<number>('getblockcount');
        await mine(ltc.rpc, wallet, oldTip - tip + 1);
      }).finally(() => {
        ltcPaused = undefined;
        resume();
      });
    }

    /** What a wallet does in time anyway: sends again those of our transactions the node dropped. */
    async function rebroadcast(): Promise<void> {
      for (const s of sent) {
        if (s.network !== 'litecoin-regtest') continue;
        const tx = await wallet.call<{ confirmations: number; hex: string }>('gettransaction', [s.txid]);
        if (tx.confirmations > 0) continue;
        const inPool = await ltc.rpc.call('getmempoolentry', [s.txid]).then(
          () => true,
          () => false,
        );
        if (inPool) continue;
        await ltc.rpc.call('sendrawtransaction', [tx.hex]).then(
          () => notes.push(`rebroadcast ${s.txid}: the node had dropped it`),
          (err) => notes.push(`rebroadcast ${s.txid} refused: ${(err as Error).message}`),
        );
      }
    }

    // --- settle: stop the chaos, make sure both processes run, let the chains move on.
    killing = false;
    await killer;
    for (const g of gateways)
      if (!g.child || g.child.exitCode !== null || g.child.signalCode !== null) g.start();
    await waitFor(() => gateways.every((g) => g.ready), 90_000, 'both gateways to run');
    for (const f of failures) breaches.push(`workload: ${f}`);
    log(`settling: ${kills} kills done; waiting for the gateways to agree with the chains`);

    const judge = async () =>
      judgeRun({
        db,
        merchantId: merchant.id,
        invoices: [...invoices, ...reorgInvoices],
        sent,
        receiver,
        provider,
        wallet,
      });
    let result = await judge();
    const settleDeadline = Math.min(Date.now() + settleMs, reportBy);
    let shown = Date.now();
    while (result.breaches.length > 0 && Date.now() < settleDeadline) {
      await rebroadcast().catch(() => {});
      await sleep(2_000);
      result = await judge();
      if (result.breaches.length > 0 && Date.now() - shown > 15_000) {
        shown = Date.now();
        log(`settling: ${result.breaches.length} open, e.g. ${result.breaches[0]}`);
      }
    }
    mining = false;
    await miner;
    breaches.push(...result.breaches);

    // --- the database-termination storm (sandbox/db-storm.ts): a gateway of its own on a database of
    // its own, whose backends are terminated every ~0.7 s under 10 parallel keyed creations.
    log('db storm: terminating backends under 10 parallel keyed creations');
    const storm = await runDbStorm({ adminUrl, requests: args.short ? 20 : 100, parallel: 10, log });
    breaches.push(...storm.breaches.map((b) => `db storm: ${b}`));

    // Every gateway start used the run's chains: none started a chain of its own.
    for (const g of gateways) {
      const own = g.log().match(/chains +(anvil|litecoind): started[^\n]*/g) ?? [];
      if (own.length > 0) breaches.push(`gateway ${g.slot} started its own chains: ${own.join('; ')}`);
    }

    // --- the report
    const byKind = (k: Kind) => invoices.filter((i) => i.kind === k).length;
    const byOption = OPTIONS.map((o) => `${o} ${invoices.filter((i) => i.option === o).length}`).join(', ');
    console.log('');
    console.log(`chaos summary (seed ${args.seed}${args.short ? ', short' : ''}, ${elapsed()})`);
    console.log(
      `  invoices: ${invoices.length} (full ${byKind('full')}, partial ${byKind('partial')}, over ${byKind('over')}, split ${byKind('split')}); ${byOption}`,
    );
    console.log(
      `  payments sent: ${sent.length} (${sent.filter((s) => !s.orphaned).length} on chain, ${reorg.evmOrphaned} removed by the anvil reorg)`,
    );
    console.log(
      `  gateway processes: 2, SIGKILLed ${kills} times, started ${gateways.reduce((s, g) => s + g.starts, 0)} times`,
    );
    console.log(
      `  reorgs: anvil depth ${reorg.evmDepth} (${reorg.evmOrphaned} payments gone); regtest invalidateblock at height ${reorg.ltcHeight} (${reorg.ltcTxs} payments re-mined)`,
    );
    console.log(
      `  webhooks: ${receiver.requests} requests, ${receiver.refused} refused on purpose, ${receiver.delivered.size} distinct events accepted`,
    );
    console.log(`  5xx answers from a running gateway: ${serverErrors}`);
    if (reverted > 0)
      console.log(
        `  payer transfers that reverted (forwarder deployed after the gas estimate), paid again: ${reverted}`,
      );
    for (const n of [...new Set(notes)].slice(0, 10)) console.log(`  note: ${n}`);
    for (const line of result.lines) console.log(`  ${line}`);
    console.log(`  db storm: ${storm.terminations} backends terminated`);
    for (const line of storm.lines) console.log(`  ${line}`);
    for (const b of breaches.slice(0, 50)) console.log(`  BREACH: ${b}`);
    if (breaches.length > 50) console.log(`  … and ${breaches.length - 50} more breaches`);
    if (breaches.length > 0) {
      for (const g of gateways) console.log(`\n--- gateway ${g.slot} log (last lines)\n${g.tail()}`);
    }
    console.log(breaches.length === 0 ? 'chaos: PASS' : `chaos: FAIL (${breaches.length} breaches)`);
    return breaches.length === 0 ? 0 : 1;
  } catch (err) {
    console.error(`chaos: could not run: ${(err as Error).stack ?? err}`);
    for (const g of gateways) console.error(`\n--- gateway ${g.slot} log (last lines)\n${g.tail()}`);
    return 2;
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    if (args.keep) console.log(`chaos: kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await sleep(250);
  }
  throw new Error(`timed out after ${ms / 1000}s waiting for ${what}`);
}

async function countCredited(sql: Sql, txids: readonly string[]): Promise<number> {
  if (txids.length === 0) return 0;
  const rows = await sql<{ n: number }[]>`select count(*)::int as n from payments
    where lower(txid) = any(${sql.array(txids.map((t) => t.toLowerCase()))}) and status in ('seen', 'confirmed')`;
  return rows[0]!.n;
}

// ---------------------------------------------------------------------------------------------
// The judgement: the chains and the receiver are the truth; the database must agree with them.

interface JudgeInput {
  readonly db: Sql;
  readonly merchantId: string;
  readonly invoices: readonly PlannedInvoice[];
  readonly sent: readonly Sent[];
  readonly receiver: Receiver;
  readonly provider: import('ethers').JsonRpcProvider;
  readonly wallet: import('../src/chains/utxo/backends/rpc').RpcClient;
}

async function onChain(input: JudgeInput, s: Sent): Promise<boolean> {
  if (s.network === 'anvil') {
    const r = await input.provider.getTransactionReceipt(s.txid);
    return r !== null && r.status === 1;
  }
  const tx = await input.wallet.call<{ confirmations: number }>('gettransaction', [s.txid]);
  return tx.confirmations > 0;
}

async function judgeRun(input: JudgeInput): Promise<{ breaches: string[]; lines: string[] }> {
  const { db, merchantId } = input;
  const breaches: string[] = [];
  const lines: string[] = [];

  // 1. Every on-chain payment credited exactly once; nothing credited that is not on the chain.
  const rows = await db<
    {
      invoice_id: string;
      network: string;
      txid: string;
      output_index: number;
      amount_atomic: string;
      amount_tiyn: string;
      status: string;
      id: string;
    }[]
  >`select p.id, p.invoice_id, p.network, p.txid, p.output_index, p.amount_atomic::text, p.amount_tiyn::text, p.status
    from payments p join invoices i on i.id = p.invoice_id where i.merchant_id = ${merchantId}`;
  const counted = rows.filter((r) => r.status === 'seen' || r.status === 'confirmed');
  const key = (network: string, txid: string) => `${network}:${txid.toLowerCase()}`;
  const creditsOf = new Map<string, typeof counted>();
  for (const r of counted) {
    const k = key(r.network, r.txid);
    creditsOf.set(k, [...(creditsOf.get(k) ?? []), r]);
  }
  const sentKeys = new Set(input.sent.map((s) => key(s.network, s.txid)));
  const live = new Map<Sent, boolean>();
  let creditedOk = 0;
  for (const s of input.sent) {
    const there = await onChain(input, s);
    live.set(s, there);
    const credits = creditsOf.get(key(s.network, s.txid)) ?? [];
    if (!there) {
      if (credits.length > 0)
        breaches.push(`payment ${s.txid} (${s.option}) is not on the chain but is credited`);
      // Only the reorg's victims may be missing; anything else is still waiting for its block.
      else if (!s.orphaned) breaches.push(`payment ${s.txid} (${s.option}) is not mined yet`);
      continue;
    }
    if (credits.length !== 1) {
      breaches.push(`payment ${s.txid} (${s.option}) is on the chain and credited ${credits.length} times`);
      continue;
    }
    const c = credits[0]!;
    if (c.invoice_id !== s.invoiceId)
      breaches.push(`payment ${s.txid} credited to ${c.invoice_id}, sent to ${s.invoiceId}`);
    else if (BigInt(c.amount_atomic) !== s.amountAtomic)
      breaches.push(`payment ${s.txid} credited ${c.amount_atomic}, sent ${s.amountAtomic}`);
    else creditedOk++;
  }
  for (const r of counted) {
    if (!sentKeys.has(key(r.network, r.txid)))
      breaches.push(`credited payment ${r.txid} (${r.network}) was never sent`);
  }
  const onChainCount = [...live.values()].filter(Boolean).length;
  lines.push(
    `${creditedOk === onChainCount && breaches.length === 0 ? '[ok]  ' : '[FAIL]'} every on-chain payment credited exactly once (${creditedOk} of ${onChainCount}; ${rows.length - counted.length} reorged or replaced rows kept, not counted)`,
  );

  // 2. Every invoice's state is what its on-chain money says (the rule of SPEC section 5).
  const before = breaches.length;
  const invRows = await db<
    {
      id: string;
      order_id: string;
      status: string;
      additional_status: string;
      amount_tiyn: string;
      amount_paid_tiyn: string;
    }[]
  >`select id, order_id, status, additional_status, amount_tiyn::text, amount_paid_tiyn::text from invoices where merchant_id = ${merchantId}`;
  const byOrder = new Map<string, number>();
  for (const r of invRows) byOrder.set(r.order_id, (byOrder.get(r.order_id) ?? 0) + 1);
  for (const [order, n] of byOrder)
    if (n > 1) breaches.push(`order ${order} has ${n} invoices (an Idempotency-Key retry created another)`);
  const rates = await db<{ invoice_id: string; rate: { kztPerUnit: string }; decimals: number }[]>`
    select o.invoice_id, o.rate, o.decimals from payment_options o join invoices i on i.id = o.invoice_id
    where i.merchant_id = ${merchantId}`;
  const rateOf = new Map(rates.map((r) => [r.invoice_id, r]));
  const byId = new Map(invRows.map((r) => [r.id, r]));
  let agreeing = 0;
  for (const inv of input.invoices) {
    if (!inv.id) continue;
    const row = byId.get(inv.id);
    const rate = rateOf.get(inv.id);
    if (!row || !rate) {
      breaches.push(`invoice ${inv.id} is missing`);
      continue;
    }
    const paid = input.sent
      .filter((s) => s.invoiceId === inv.id && live.get(s))
      .reduce(
        (sum, s) => sum + paymentTiyn(s.amountAtomic, parseDecimal(rate.rate.kztPerUnit), rate.decimals),
        0n,
      );
    const dueTiyn = BigInt(row.amount_tiyn);
    const want =
      paid >= dueTiyn && paid > 0n
        ? { status: 'settled', additional: paid > dueTiyn ? 'paid_over' : 'none' }
        : { status: 'new', additional: paid > 0n ? 'paid_partial' : 'none' };
    const got = { status: row.status, additional: row.additional_status };
    if (
      got.status !== want.status ||
      got.additional !== want.additional ||
      BigInt(row.amount_paid_tiyn) !== paid
    ) {
      breaches.push(
        `invoice ${inv.id} (${inv.kind}, ${inv.option}) is ${got.status}/${got.additional} paid ${row.amount_paid_tiyn}; the chain says ${want.status}/${want.additional} paid ${paid}`,
      );
    } else agreeing++;
  }
  lines.push(
    `${breaches.length === before ? '[ok]  ' : '[FAIL]'} every invoice's state agrees with the chain (${agreeing} of ${input.invoices.length})`,
  );

  // 3. Every event in the outbox delivered at least once (webhook-id = event id), none twice credited.
  const before3 = breaches.length;
  const events = await db<{ event_id: string; type: string; payment_id: string | null }[]>`
    select event_id, type, payload->'data'->>'paymentId' as payment_id from outbox where merchant_id = ${merchantId}`;
  let delivered = 0;
  const missing: string[] = [];
  for (const e of events) {
    if (input.receiver.delivered.has(e.event_id)) {
      delivered++;
      const t = input.receiver.types.get(e.event_id);
      if (t !== e.type) breaches.push(`event ${e.event_id} is ${e.type} but was delivered as ${t}`);
    } else missing.push(`${e.event_id} (${e.type})`);
  }
  if (missing.length > 0)
    breaches.push(`${missing.length} events never delivered: ${missing.slice(0, 5).join(', ')}`);
  const known = new Set(events.map((e) => e.event_id));
  for (const id of input.receiver.delivered.keys())
    if (!known.has(id)) breaches.push(`delivered event ${id} is not in the outbox`);
  for (const b of input.receiver.badSignatures.slice(0, 5)) breaches.push(`bad webhook signature: ${b}`);
  const received = new Map<string, number>();
  for (const e of events)
    if (e.type === 'invoice.payment_received' && e.payment_id)
      received.set(e.payment_id, (received.get(e.payment_id) ?? 0) + 1);
  for (const [p, n] of received)
    if (n > 1) breaches.push(`payment ${p} announced ${n} times (invoice.payment_received)`);
  const announcedGone = new Set(
    events.filter((e) => e.type === 'payment.reorged' && e.payment_id).map((e) => e.payment_id),
  );
  for (const r of rows)
    if ((r.status === 'reorged' || r.status === 'replaced') && !announcedGone.has(r.id))
      breaches.push(`payment ${r.txid} left the chain without a payment.reorged event`);
  const dupes = [...input.receiver.delivered.values()].filter((n) => n > 1).length;
  lines.push(
    `${breaches.length === before3 ? '[ok]  ' : '[FAIL]'} every event delivered at least once (${delivered} of ${events.length}; ${dupes} delivered more than once, deduplicated by webhook-id)`,
  );

  // 4. The audit chain verifies.
  const audit = await verifyAuditChain(db);
  if (!audit.ok) breaches.push(`audit chain broken at ${audit.brokenAt?.id}: ${audit.brokenAt?.reason}`);
  lines.push(`${audit.ok ? '[ok]  ' : '[FAIL]'} audit chain verifies (${audit.entries} entries)`);
  return { breaches, lines };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(2);
    },
  );
}
