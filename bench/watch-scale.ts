// Watching every address ever issued (SPEC section 7, issue 13) at scale: one block of 4,000
// transactions (40 outputs paying issued addresses) processed by the UTXO node backend, with 10,000
// and with 1,000,000 issued addresses in the database (seeded with generate_series), in one run:
//   - before (main's approach until this bench): the watcher loads every issued option of the network
//     into memory (again every 30 s), builds a script set from it, and the backend matches each
//     block against that set;
//   - after: nothing is loaded; the backend looks up the block's output scripts among the issued
//     ones (one indexed query, migration 0015) and matches against what it found.
// Measured: a cold tick's work (a process's first: load + block before, block after), the block alone
// (steady state), and the heap the watched set keeps. Both find the same 40 payments.
import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createBitcoindBackend } from '../src/chains/utxo/backends/bitcoind';
import { parseRpcJson, type RpcClient, RpcError } from '../src/chains/utxo/backends/rpc';
import { createAddressPollSchedule } from '../src/chains/utxo/poll-schedule';
import { createUtxoSource } from '../src/chains/utxo/source';
import { createSql, type Sql } from '../src/db/client';
import { migrate } from '../src/db/migrate';
import type { WatchedOption } from '../src/watch/observe';
import { createWatchedLookup, loadWatchedOptions } from '../src/watch/watched';
import { openBenchDatabase } from './lib/database';
import { envNumber, grouped, ms, percentile, ratioOf, round } from './lib/format';
import type { Bench, BenchOutcome } from './lib/types';
import { makeRawBlock } from './utxo-scan';

const NETWORK = 'litecoin-regtest';
const HITS = 40;
const TXS = 4000;

/** The seeded scripts and addresses, as SQL makes them (`md5` of the row number). */
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const scriptOf = (i: number) => `0014${md5(String(i))}${md5(`s${i}`).slice(0, 8)}`;

async function seed(sql: Sql, from: number, to: number): Promise<void> {
  // In slices, so one statement never holds a million rows in memory at once.
  const SLICE = 100_000;
  for (let a = from; a <= to; a += SLICE) {
    const b = Math.min(to, a + SLICE - 1);
    await sql`insert into invoices (id, merchant_id, status, amount_tiyn, speed_policy, payment_tolerance_bp,
        expires_at, monitoring_until, created_at, updated_at)
      select 'inv_bench' || i, 'mer_bench', 'expired', 1500000, 'medium', 0, now() - interval '30 days',
        now() - interval '29 days', now() - interval '30 days' - i * interval '1 second', now()
      from generate_series(${a}::int, ${b}::int) i`;
    await sql`insert into payment_options (invoice_id, option, asset, network, address, amount_atomic,
        decimals, rate, uri, expires_at, details)
      select 'inv_bench' || i, 'LTC@litecoin-regtest', 'LTC', ${NETWORK}, 'rltc1q' || md5(i::text), 30000000, 8,
        '{"kztPerUnit":"50000.00"}'::jsonb, 'litecoin:rltc1q' || md5(i::text), now() - interval '30 days',
        jsonb_build_object('scriptPubKey', '0014' || md5(i::text) || substr(md5('s' || i), 1, 8))
      from generate_series(${a}::int, ${b}::int) i`;
  }
  await sql`analyze payment_options`;
  await sql`analyze invoices`;
}

/** A node that knows one block at height 1 and an empty mempool. */
function fakeNode(raw: string, info: string): RpcClient {
  const header = parseRpcJson(info) as { hash: string };
  const answer = (method: string, params: readonly unknown[]): unknown => {
    switch (method) {
      case 'getrawmempool':
        return [];
      case 'getblockcount':
        return 1;
      case 'getblockhash':
        return params[0] === 0 ? 'genesis' : header.hash;
      case 'getblock':
        return params[1] === 0 ? raw : { ...(parseRpcJson(info) as object), previousblockhash: 'genesis' };
      default:
        // The senders' transactions (no -txindex here): the payments are found without them.
        return new RpcError(method, -5, 'No such mempool or blockchain transaction');
    }
  };
  const client: RpcClient = {
    url: 'fake://node',
    async call<T>(method: string, params: readonly unknown[] = []) {
      const a = answer(method, params);
      if (a instanceof RpcError) throw a;
      return a as T;
    },
    batch: async <T>(calls: readonly (readonly [string, readonly unknown[]])[]) =>
      calls.map(([m, p]) => answer(m, p) as T | RpcError),
    withPath: () => client,
  };
  return client;
}

const CURSOR = { height: 0, hash: 'genesis', recent: [[0, 'genesis']] };

function gcFunction(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

interface SizeResult {
  readonly issued: number;
  /** Main's approach: loading every option (and the script set) into memory. */
  readonly beforeLoadMs: number;
  readonly beforeHeapMb: number;
  readonly beforeBlockMs: number;
  /** Load + block: a process's first tick, and every 30 s with main's reload. */
  readonly beforeColdMs: number;
  readonly afterBlockMs: number;
  readonly afterHeapMb: number;
  readonly afterColdMs: number;
  readonly matches: { readonly before: number; readonly after: number };
  /** Esplora poll rounds (nothing due): main built every issued address into the round's targets. */
  readonly esplora: {
    /** A process's first round: load + targets + rows ensured; after: the SQL reconciliation. */
    readonly beforeColdMs: number;
    readonly afterColdMs: number;
    /** Later rounds: targets of every issued address (main) vs those issued since the last round. */
    readonly beforeRoundMs: number;
    readonly afterRoundMs: number;
  };
}

async function measure(sql: Sql, issued: number, runs: number, gc: () => void): Promise<SizeResult> {
  // The block pays 40 of the issued scripts, spread over the whole range.
  const paid = Array.from({ length: HITS }, (_, k) => scriptOf(1 + Math.floor(((k + 0.5) * issued) / HITS)));
  const block = makeRawBlock(TXS, paid, HITS);
  const rpc = fakeNode(block.raw, block.info);

  // Before: every issued option held in memory (as main's watcher did), matched by script set.
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const loaded = await loadWatchedOptions(sql, NETWORK);
  const byAddress = new Map<string, WatchedOption[]>();
  for (const o of loaded.options) byAddress.set(o.address.toLowerCase(), [o]);
  const byScript = new Map<string, WatchedOption>();
  for (const list of byAddress.values())
    for (const w of list) byScript.set(w.details!['scriptPubKey']!.toLowerCase(), w);
  const scripts = new Set(byScript.keys());
  const addresses = new Map<string, string>();
  for (const [script, w] of byScript) addresses.set(w.address, script);
  const beforeLoadMs = performance.now() - t0;
  gc();
  const beforeHeapMb = (process.memoryUsage().heapUsed - heap0) / 1e6;
  const before = createBitcoindBackend({ network: NETWORK, rpc });
  const beforeBlock: number[] = [];
  let beforeMatches = 0;
  for (let r = 0; r < runs + 2; r++) {
    const s = performance.now();
    const obs = await before.observe({ cursor: CURSOR, watched: { scripts, addresses }, known: new Map() });
    beforeMatches = obs.outputs.filter((o) => byScript.has(o.scriptHex)).length;
    if (r >= 2) beforeBlock.push(performance.now() - s);
  }
  loaded.options.length = 0;
  byAddress.clear();
  byScript.clear();

  // After: the real source over the real backend, with the tick's look-up (nothing issued lately).
  gc();
  const heap1 = process.memoryUsage().heapUsed;
  const source = createUtxoSource({ backend: createBitcoindBackend({ network: NETWORK, rpc }) });
  const afterBlock: number[] = [];
  let afterMatches = 0;
  for (let r = 0; r < runs + 2; r++) {
    const s = performance.now();
    const obs = await source.observe({
      cursor: CURSOR,
      watched: createWatchedLookup(sql, NETWORK, [], false),
      known: [],
      now: new Date(),
    });
    afterMatches = obs.payments.length;
    if (r >= 2) afterBlock.push(performance.now() - s);
  }
  gc();
  const afterHeapMb = (process.memoryUsage().heapUsed - heap1) / 1e6;

  const med = (xs: number[]) =>
    percentile(
      [...xs].sort((a, b) => a - b),
      50,
    );
  const esplora = await measureEsplora(sql, runs);
  return {
    esplora,
    issued,
    beforeLoadMs: round(beforeLoadMs, 1),
    beforeHeapMb: round(beforeHeapMb, 1),
    beforeBlockMs: round(med(beforeBlock), 2),
    beforeColdMs: round(beforeLoadMs + med(beforeBlock), 1),
    afterBlockMs: round(med(afterBlock), 2),
    afterHeapMb: round(Math.max(0, afterHeapMb), 1),
    afterColdMs: round(med(afterBlock), 2),
    matches: { before: beforeMatches, after: afterMatches },
  };
}

/** Esplora's schedule with a row per issued address (as a running gateway has), none of them due. */
async function measureEsplora(sql: Sql, runs: number) {
  await sql`insert into utxo_address_polls (network, address, invoice_id, interval_ms, next_poll_at)
    select network, address, invoice_id, 21600000, now() + interval '6 hours' from payment_options
    where network = ${NETWORK} on conflict do nothing`;
  await sql`analyze utxo_address_polls`;
  const policy = { rps: 1000, burst: 1000 };
  const med = (xs: number[]) =>
    percentile(
      [...xs].sort((a, b) => a - b),
      50,
    );
  const time = async (f: () => Promise<unknown>) => {
    const s = performance.now();
    await f();
    return performance.now() - s;
  };
  // Before: every round named every issued address (rows ensured once per process).
  const before = createAddressPollSchedule({ sql, network: NETWORK, budget: 'bench-before', policy });
  const targets = async () =>
    (await loadWatchedOptions(sql, NETWORK)).options.map((w) => ({
      address: w.address,
      invoiceId: w.invoiceId,
    }));
  const beforeColdMs = await time(async () => before.claimDue(await targets(), new Date()));
  const all = await targets();
  const beforeRounds: number[] = [];
  for (let r = 0; r < runs; r++)
    beforeRounds.push(await time(() => before.claimDue([...all.map((t) => ({ ...t }))], new Date())));
  // After: the reconciliation in SQL, then rounds with only what was issued since.
  const after = createAddressPollSchedule({ sql, network: NETWORK, budget: 'bench-after', policy });
  const afterColdMs = await time(async () => {
    await after.syncIssued(new Date());
    await after.claimDue([], new Date());
  });
  const afterRounds: number[] = [];
  for (let r = 0; r < runs; r++) afterRounds.push(await time(() => after.claimDue([], new Date())));
  return {
    beforeColdMs: round(beforeColdMs, 1),
    afterColdMs: round(afterColdMs, 1),
    beforeRoundMs: round(med(beforeRounds), 2),
    afterRoundMs: round(med(afterRounds), 2),
  };
}

export interface WatchScaleResult {
  readonly database: string;
  readonly transactions: number;
  readonly seedSeconds: number;
  readonly sizes: readonly SizeResult[];
}

export async function benchWatchScale(
  opts: { small?: number; large?: number; runs?: number } = {},
): Promise<WatchScaleResult> {
  const small = opts.small ?? 10_000;
  const large = opts.large ?? envNumber('BENCH_WATCH_ISSUED', 1_000_000);
  const runs = opts.runs ?? envNumber('BENCH_WATCH_RUNS', 9);
  const gc = gcFunction();
  const db = await openBenchDatabase({ maxConnections: 4 });
  const sql = createSql(db.url, { max: db.kind === 'embedded' ? 1 : 4 });
  try {
    await migrate(sql);
    await sql`insert into merchants (id, name, mode) values ('mer_bench', 'bench', 'test')`;
    const s0 = performance.now();
    await seed(sql, 1, small);
    let seedMs = performance.now() - s0;
    const sizes = [await measure(sql, small, runs, gc)];
    const s1 = performance.now();
    await seed(sql, small + 1, large);
    seedMs += performance.now() - s1;
    sizes.push(await measure(sql, large, runs, gc));
    return {
      database: db.kind === 'postgresql' ? db.server : (db.note ?? db.server),
      transactions: TXS,
      seedSeconds: round(seedMs / 1000, 1),
      sizes,
    };
  } finally {
    await sql.end({ timeout: 5 });
    await db.close();
  }
}

export const watchScaleBench: Bench = {
  name: 'watch-scale',
  description:
    'a 4,000-transaction block at 10,000 vs 1,000,000 issued addresses: held in memory vs looked up',
  async run(): Promise<BenchOutcome> {
    const r = await benchWatchScale();
    const [s, l] = r.sizes as [SizeResult, SizeResult];
    const n = (x: SizeResult) => grouped(x.issued);
    const same = r.sizes.every((x) => x.matches.before === HITS && x.matches.after === HITS);
    return {
      rows: [
        {
          name: `watch: cold tick @${n(l)} issued`,
          figure: ms(l.afterColdMs),
          baseline: `before ${ms(l.beforeColdMs)}`,
          ratio: ratioOf(l.afterColdMs, l.beforeColdMs),
          goal: 'ratio < 0.1',
          pass: same && l.afterColdMs < 0.1 * l.beforeColdMs,
        },
        {
          name: `watch: cold tick @${n(s)} issued`,
          figure: ms(s.afterColdMs),
          baseline: `before ${ms(s.beforeColdMs)}`,
          ratio: ratioOf(s.afterColdMs, s.beforeColdMs),
        },
        {
          name: `watch: block @${n(l)} vs @${n(s)}`,
          figure: `${ms(l.afterBlockMs)} vs ${ms(s.afterBlockMs)}`,
          baseline: `before ${ms(l.beforeBlockMs)} vs ${ms(s.beforeBlockMs)}`,
          ratio: ratioOf(l.afterBlockMs, s.afterBlockMs),
          goal: 'ratio < 2 (flat in issued)',
          pass: same && l.afterBlockMs < 2 * s.afterBlockMs,
        },
        {
          name: `watch: esplora round @${n(l)} issued`,
          figure: ms(l.esplora.afterRoundMs),
          baseline: `before ${ms(l.esplora.beforeRoundMs)}`,
          ratio: ratioOf(l.esplora.afterRoundMs, l.esplora.beforeRoundMs),
        },
        {
          name: `watch: esplora first round @${n(l)}`,
          figure: ms(l.esplora.afterColdMs),
          baseline: `before ${ms(l.esplora.beforeColdMs)}`,
          ratio: ratioOf(l.esplora.afterColdMs, l.esplora.beforeColdMs),
        },
        {
          name: `watch: heap kept @${n(l)} issued`,
          figure: `${round(l.afterHeapMb, 1)} MB`,
          baseline: `before ${grouped(l.beforeHeapMb)} MB`,
          goal: '< 10 MB',
          pass: l.afterHeapMb < 10,
        },
      ],
      details: r,
      notes: [
        `watch-scale: ${r.database}; seeded ${grouped(l.issued)} issued addresses in ${r.seedSeconds} s; ` +
          `block = ${grouped(r.transactions)} tx, ${HITS} paying issued addresses (found: ` +
          `${r.sizes.map((x) => `${x.matches.before}/${x.matches.after}`).join(', ')} before/after); ` +
          `before = main's full load (${ms(s.beforeLoadMs)} @${n(s)}, ${ms(l.beforeLoadMs)} @${n(l)}, repeated every 30 s) ` +
          `then an in-memory match; after = one indexed look-up of the block's scripts`,
      ],
    };
  },
};
