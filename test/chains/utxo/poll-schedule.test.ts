// The Esplora poll schedule against a local Esplora-shaped HTTP server (answers in the format of
// test/fixtures/esplora), over simulated time: which address is asked about when, the shared
// request budget, 429s, two processes and a restart sharing one database, and a checkout page
// asking about its own invoice through services.checkInvoice.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEsploraBackend, createEsploraClient } from '../../../src/chains/utxo/backends/esplora';
import { addressToScriptHex } from '../../../src/chains/utxo/derive';
import {
  createAddressPollSchedule,
  DEFAULT_POLL_POLICY,
  nextPollInterval,
  type PollPolicy,
} from '../../../src/chains/utxo/poll-schedule';
import { createUtxoWatcher, type UtxoWatcher } from '../../../src/chains/utxo/watcher';
import { createInvoice } from '../../../src/invoices/create';
import { loadInvoice } from '../../../src/invoices/repository';
import { createTestContext, createTestMerchant, type TestContext } from '../../helpers/services';

const FIX = join(import.meta.dirname, '../../fixtures/esplora');
const fixture = (name: string) => readFileSync(join(FIX, name), 'utf8');
const OPTION = 'LTC@litecoin-regtest';
const NETWORK = 'litecoin-regtest';

// The server: counts every request with the simulated second it arrived in.
type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let server: Server;
let base: string;
let hits: { path: string; t: number }[];
let clock = 0;
let addressAnswer: (address: string) => Handler | undefined;

const send =
  (body: string, status = 200, headers: Record<string, string> = {}): Handler =>
  (_q, res) => {
    res.writeHead(status, { 'content-type': status === 200 ? 'application/json' : 'text/plain', ...headers });
    res.end(body);
  };

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '';
    hits.push({ path, t: clock });
    if (path === '/blocks/tip/height') return send(fixture('tip-height.txt'))(req, res);
    const m = /^\/address\/([^/]+)\/txs$/.exec(path);
    if (m) return (addressAnswer(decodeURIComponent(m[1]!)) ?? send('[]'))(req, res);
    send('Transaction not found', 404)(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  hits = [];
  clock = 0;
  addressAnswer = () => undefined;
});

const pollsOf = (address: string) =>
  hits.filter((h) => h.path === `/address/${encodeURIComponent(address)}/txs`).map((h) => h.t);

const POLICY: Partial<PollPolicy> = {
  hotMs: 10_000,
  freshMs: 60_000,
  pageOpenMs: 30_000,
  maxMs: 80_000,
  confirmMs: 20_000,
  graceMs: 60_000,
  lateMs: 300_000,
  checkGapMs: 5_000,
  rps: 1_000,
  burst: 100_000,
  blockMs: 20_000,
  maxBlockMs: 600_000,
};

/** One "process": its own client, backend, schedule and watcher over the shared database. */
function process_(ctx: TestContext, policy: Partial<PollPolicy> = POLICY): UtxoWatcher {
  const client = createEsploraClient({ baseUrl: base, retries: 1, retryDelayMs: 1, retryRateLimited: false });
  return createUtxoWatcher({
    sql: ctx.db.sql,
    state: ctx.services.state,
    backend: createEsploraBackend({ network: NETWORK, client }),
    schedule: createAddressPollSchedule({ sql: ctx.db.sql, network: NETWORK, budget: base, policy }),
    useLease: false,
    watchedReloadMs: 0,
  });
}

describe('nextPollInterval', () => {
  const p = { ...DEFAULT_POLL_POLICY, ...POLICY } as PollPolicy;
  const t0 = new Date('2026-01-01T00:00:00Z');
  const at = (s: number) => new Date(t0.getTime() + s * 1000);
  const state = { status: 'new', createdAt: t0, expiresAt: at(900), checkoutSeenAt: null, intervalMs: 0 };

  it('is short while fresh or watched by an open page, then doubles up to the cap', () => {
    expect(nextPollInterval(state, at(30), p)).toBe(10_000);
    expect(nextPollInterval({ ...state, intervalMs: 10_000 }, at(70), p)).toBe(20_000);
    expect(nextPollInterval({ ...state, intervalMs: 40_000 }, at(200), p)).toBe(80_000);
    expect(nextPollInterval({ ...state, intervalMs: 80_000 }, at(400), p)).toBe(80_000);
    expect(nextPollInterval({ ...state, intervalMs: 80_000, checkoutSeenAt: at(390) }, at(400), p)).toBe(
      10_000,
    );
  });

  it('waits for blocks at most confirmMs, and is rare past expiry and grace', () => {
    expect(nextPollInterval({ ...state, status: 'processing', intervalMs: 80_000 }, at(400), p)).toBe(20_000);
    expect(nextPollInterval({ ...state, intervalMs: 80_000 }, at(959), p)).toBe(80_000);
    expect(nextPollInterval({ ...state, status: 'expired', intervalMs: 80_000 }, at(960), p)).toBe(300_000);
    // A payment still waiting for blocks is not slowed down by the invoice's expiry.
    expect(nextPollInterval({ ...state, status: 'processing', intervalMs: 20_000 }, at(2000), p)).toBe(
      20_000,
    );
  });
});

describe('Esplora poll schedule (database, simulated time)', () => {
  let ctx: TestContext;
  let merchantId: string;
  let T0: Date;
  const at = (s: number) => new Date(T0.getTime() + s * 1000);

  beforeEach(async () => {
    ctx = await createTestContext();
    merchantId = (await createTestMerchant(ctx)).merchant.id;
    T0 = new Date(Math.floor(Date.now() / 1000) * 1000);
  });
  afterEach(() => ctx.close());

  async function invoice(shape: {
    createdAt: number;
    expiresAt: number;
    monitoringUntil: number;
    status?: string;
  }): Promise<{ id: string; address: string; amountAtomic: bigint }> {
    const inv = await createInvoice(ctx.services, merchantId, {
      amount: '15000.00',
      currency: 'KZT',
      options: [OPTION],
    });
    await ctx.db
      .sql`update invoices set created_at = ${at(shape.createdAt)}, expires_at = ${at(shape.expiresAt)},
      monitoring_until = ${at(shape.monitoringUntil)}, status = ${shape.status ?? 'new'} where id = ${inv.id}`;
    const o = inv.options.find((x) => x.option === OPTION)!;
    return { id: inv.id, address: o.address, amountAtomic: o.amountAtomic };
  }

  it('polls each address on its own schedule, once across two processes and a restart', async () => {
    // Open page: hot all along. Fresh, no page: hot for a minute, then 20, 40, 80, 80... s.
    // Processing: 10 then every 20 s. Expired long ago: every 300 s, then ever less often once its
    // monitoring ends (every issued address stays watched, SPEC section 7).
    const page = await invoice({ createdAt: -600, expiresAt: 900, monitoringUntil: 3600 });
    const fresh = await invoice({ createdAt: 0, expiresAt: 900, monitoringUntil: 3600 });
    const paid = await invoice({
      createdAt: -600,
      expiresAt: 600,
      monitoringUntil: 3600,
      status: 'processing',
    });
    const old = await invoice({ createdAt: -1200, expiresAt: -120, monitoringUntil: 400, status: 'expired' });

    let one = process_(ctx);
    const two = process_(ctx);
    for (let s = 0; s <= 600; s += 5) {
      clock = s;
      if (s === 300) one = process_(ctx); // a restart: the schedule is in the database, not in memory
      if (s % 10 === 0) await two.checkInvoice(page.id, at(s)); // the open page's SSE asks now and then
      await Promise.all([one.tick(at(s)), two.tick(at(s))]);
    }

    const every = (from: number, to: number, step: number) =>
      Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step);
    expect(pollsOf(page.address)).toEqual(every(0, 600, 10));
    expect(pollsOf(fresh.address)).toEqual([
      0, 10, 20, 30, 40, 50, 60, 80, 120, 200, 280, 360, 440, 520, 600,
    ]);
    expect(pollsOf(paid.address)).toEqual([0, ...every(10, 590, 20)]);
    expect(pollsOf(old.address)).toEqual([0, 300, 600]);
    const [row] = await ctx.db.sql`select interval_ms from utxo_address_polls where address = ${old.address}`;
    expect(row!.interval_ms).toBe(600_000);
  });

  it('never spends more than the shared budget, and reaches every address in turn', async () => {
    const invoices = [];
    for (let i = 0; i < 20; i++)
      invoices.push(await invoice({ createdAt: 0, expiresAt: 900, monitoringUntil: 3600 }));
    const policy = { ...POLICY, rps: 2, burst: 6 };
    const a = process_(ctx, policy);
    const b = process_(ctx, policy);
    for (let s = 0; s <= 60; s++) {
      clock = s;
      await Promise.all([a.tick(at(s)), b.tick(at(s))]);
    }
    // Without a budget: 20 addresses every 10 s plus the tip every tick, ~370 requests.
    expect(hits.length).toBeLessThanOrEqual(6 + 2 * 60);
    expect(hits.length).toBeGreaterThanOrEqual(2 * 60 - 6);
    for (let from = 0; from <= 50; from++) {
      const inWindow = hits.filter((h) => h.t >= from && h.t < from + 10).length;
      expect(inWindow).toBeLessThanOrEqual(6 + 2 * 10);
    }
    // Most overdue first: with ~40 address polls in a minute, every address got at least one.
    for (const inv of invoices) expect(pollsOf(inv.address).length).toBeGreaterThanOrEqual(1);
  });

  it('stops every request after a 429 until Retry-After, then doubles its own pause when none is given', async () => {
    const inv = await invoice({ createdAt: 0, expiresAt: 900, monitoringUntil: 3600 });
    const w = process_(ctx);
    let limit: { status: 429; retryAfter?: string } | undefined;
    addressAnswer = () => {
      if (!limit) return undefined;
      const l = limit;
      limit = undefined;
      return send('Too Many Requests', 429, l.retryAfter ? { 'retry-after': l.retryAfter } : {});
    };
    const run = async (from: number, to: number) => {
      for (let s = from; s <= to; s++) {
        clock = s;
        await w.tick(at(s)).catch((err: Error) => {
          expect(err.message).toMatch(/HTTP 429/);
        });
      }
    };
    await run(0, 9);
    limit = { status: 429, retryAfter: '30' };
    await run(10, 45);
    // The 429 at 10 s; nothing at all (not even the tip) until 40 s; then the address first.
    expect(hits.filter((h) => h.t > 10 && h.t < 40)).toEqual([]);
    expect(pollsOf(inv.address)).toEqual([0, 10, 41]);
    // No Retry-After: the policy's 20 s, doubled for a second 429 in a row.
    hits = [];
    limit = { status: 429 };
    await run(46, 51);
    const first = pollsOf(inv.address)[0]!;
    limit = { status: 429 };
    await run(52, 200);
    const polls = pollsOf(inv.address);
    expect(polls[1]! - first).toBeGreaterThanOrEqual(20);
    expect(polls[1]! - first).toBeLessThanOrEqual(21);
    expect(polls[2]! - polls[1]!).toBeGreaterThanOrEqual(40);
    expect(polls[2]! - polls[1]!).toBeLessThanOrEqual(41);
  });
});

describe('an open checkout page checks its own invoice (services.checkInvoice)', () => {
  let ctx: TestContext;
  beforeEach(async () => {
    ctx = await createTestContext({
      LITECOIN_REGTEST_ESPLORA_URL: base,
      UTXO_ESPLORA_RPS: '5',
      UTXO_RETRIES: '0',
    });
  });
  afterEach(() => ctx.close());

  async function newInvoice() {
    const { merchant } = await createTestMerchant(ctx);
    const inv = await createInvoice(ctx.services, merchant.id, {
      amount: '15000.00',
      currency: 'KZT',
      options: [OPTION],
    });
    const o = inv.options.find((x) => x.option === OPTION)!;
    return { id: inv.id, address: o.address, amountAtomic: o.amountAtomic };
  }

  /** The fixture's mempool transaction (RBF off), re-pointed at `address` for `atomic`. */
  function paying(address: string, atomic: bigint) {
    const tx = JSON.parse(fixture('address-txs.json'))[0];
    tx.vin[0].sequence = 0xfffffffe;
    tx.vout[0].scriptpubkey = addressToScriptHex(NETWORK, address);
    tx.vout[0].scriptpubkey_address = address;
    tx.vout[0].value = Number(atomic);
    return tx;
  }

  it('polls the invoice address once per gap and shows the payment it finds', async () => {
    expect(ctx.services.checkInvoice).toBeDefined();
    const inv = await newInvoice();
    const res = await ctx.app.request(`/v1/checkout/${inv.id}`);
    expect(res.status).toBe(200);
    expect(pollsOf(inv.address)).toHaveLength(1);
    // Many tabs polling: bounded per invoice.
    for (let i = 0; i < 5; i++) await ctx.app.request(`/v1/checkout/${inv.id}`);
    expect(pollsOf(inv.address)).toHaveLength(1);

    addressAnswer = (a) =>
      a === inv.address ? send(JSON.stringify([paying(a, inv.amountAtomic)])) : undefined;
    await ctx.services.checkInvoice!(inv.id);
    expect(pollsOf(inv.address)).toHaveLength(1); // still within the gap
    // A check after the gap (another process, or later) sees the payment in the mempool.
    const later = new Date(Date.now() + 6_000);
    await ctx.services.utxo!.checkInvoice(inv.id, later);
    expect(pollsOf(inv.address)).toHaveLength(2);
    const loaded = await loadInvoice(ctx.db.sql, inv.id);
    expect(loaded!.status).toBe('processing');
    expect(loaded!.payments).toHaveLength(1);
    expect(loaded!.payments[0]!.amountAtomic).toBe(inv.amountAtomic);
    // Unknown and malformed ids cost nothing.
    hits = [];
    expect((await ctx.app.request('/v1/checkout/inv_doesnotexist')).status).toBe(404);
    expect(hits).toEqual([]);
  });

  it('credits nothing from a malformed answer, and says which field was wrong', async () => {
    const inv = await newInvoice();
    const broken = paying(inv.address, inv.amountAtomic);
    delete broken.status;
    addressAnswer = (a) => (a === inv.address ? send(JSON.stringify([broken])) : undefined);
    const watcher = ctx.services.utxo!.watchers[0]!;
    await expect(watcher.checkInvoice(inv.id)).rejects.toThrow(/malformed answer at \[0\]\.status/);
    // The page still answers (the check's failure is logged), and nothing was counted.
    const res = await ctx.app.request(`/v1/checkout/${inv.id}`);
    expect(res.status).toBe(200);
    const loaded = await loadInvoice(ctx.db.sql, inv.id);
    expect(loaded!.status).toBe('new');
    expect(loaded!.payments).toEqual([]);
  });
});
