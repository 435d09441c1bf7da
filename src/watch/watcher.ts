// The one chain watcher (DESIGN section 2a): every family's backend observes, this records, screens
// and applies. One tick:
//   1. loads the counted payments not yet final and the options issued since the last tick;
//   2. asks the backend what it sees from its cursor (a fresh watcher starts below the oldest
//      invoice that still takes money, never at the tip). Every address ever issued is watched, so
//      there may be millions: the backend looks up only what it sees (WatchedLookup), one indexed
//      query per block or batch; nothing here holds them all;
//   3. retires counted payments that left the chain, records new ones (an invoice that no longer
//      takes money gets them as unattributed), screening each in its own transaction, then applies
//      confirmation changes;
//   4. saves the cursor.
// The database is the only memory that matters: payments are keyed by (network, txid, index), so a
// restart, a re-scan or a second process running the same tick never counts a payment twice.
import type { ScreeningService } from '../aml/screen';
import type { NetworkId } from '../chains/networks';
import type { Sql } from '../db/client';
import { toBigInt } from '../db/client';
import { confirmPayment, markPaymentGone, recordPayment, type StateDeps } from '../invoices/state';
import { randomHex } from '../lib/ids';
import type { Logger } from '../lib/log';
import { atomicToTiyn } from '../lib/money';
import { releaseLease, tryAcquireLease } from './leases';
import type {
  ChainBackend,
  GonePayment,
  KnownPayment,
  MovedPayment,
  ObserveResult,
  SeenPayment,
} from './observe';
import { paymentKey } from './observe';
import {
  acceptingInvoices,
  createWatchedLookup,
  loadWatchedOptions,
  oldestAcceptingCreatedAt,
} from './watched';

export interface WatcherOptions {
  readonly sql: Sql;
  readonly state: StateDeps;
  readonly backend: ChainBackend;
  readonly logger?: Logger | undefined;
  /** Screens every new payment's senders in the payment's own transaction (SPEC section 7). */
  readonly screening?: Pick<ScreeningService, 'screenPayment'> | undefined;
  /** Identifies this process in `leases`; random by default. */
  readonly holder?: string;
  /** How long a tick's lease lasts (renewed every tick); default 30 s. */
  readonly leaseMs?: number;
  /** False runs without the lease (tests of concurrent watchers). */
  readonly useLease?: boolean;
  /** Every tick gives its lease back (a process that lives for one tick: a Workers cron run). */
  readonly releaseLeaseAfterTick?: boolean;
  /** Counted payments are re-checked (confirmations, reorgs) until this deep; default 24. */
  readonly finalityDepth?: number;
  /**
   * What backends keep from earlier rounds (the poll schedule's rows) is reconciled with every
   * issued address this often, and on a process's first tick (the options issued since the last
   * tick are handed over every tick); default 10 minutes.
   */
  readonly watchedReloadMs?: number;
  /** Tests: runs after the payments are written and before the cursor is (a crash point). */
  readonly beforeCursorSave?: () => Promise<void>;
  /** A page's check runs a scanning tick only when no scan finished within this long; default 2 s. */
  readonly checkGapMs?: number;
  /** Outgoing transactions (refunds): nothing records them yet; they are handed here. */
  readonly onOutgoing?: (p: SeenPayment) => Promise<void>;
}

export interface TickResult {
  readonly network: NetworkId;
  /** `busy`: another process holds this network's lease; else the backend's own reason. */
  readonly skipped?: string;
  /** Options issued since the last tick (every issued address is watched; they are looked up, not counted). */
  readonly issued?: number;
  /** Payments written for the first time (or back after leaving the chain). */
  readonly recorded: number;
  /** Confirmation or block changes of counted payments. */
  readonly updated: number;
  /** Payments marked reorged or replaced. */
  readonly gone: number;
  /** Of `recorded`, those to an invoice that no longer takes money. */
  readonly unattributed?: number;
  readonly [figure: string]: unknown;
}

export interface Watcher {
  readonly network: NetworkId;
  readonly backend: ChainBackend;
  tick(now?: Date): Promise<TickResult>;
  /**
   * An open checkout page asks about its invoice. A scanning backend runs a tick (under the lease)
   * unless a scan finished within the gap; an address-polling one asks about that invoice only.
   * Undefined: nothing was due.
   */
  checkInvoice(invoiceId: string, now?: Date): Promise<TickResult | undefined>;
}

/** The options issued since the last tick overlap it by this much (a transaction committed late). */
const CREATED_OVERLAP_MS = 120_000;

interface KnownRow {
  readonly id: string;
  readonly invoice_id: string;
  readonly txid: string;
  readonly output_index: number;
  readonly block_hash: string | null;
  readonly block_height: unknown;
  readonly confirmations: number;
  readonly outpoints: string[] | null;
  readonly address: string | null;
}

export function createWatcher(options: WatcherOptions): Watcher {
  const { sql, backend } = options;
  const network = backend.network;
  const log = options.logger;
  const holder = options.holder ?? `watch-${randomHex(8)}`;
  const leaseMs = options.leaseMs ?? 30_000;
  const finality = options.finalityDepth ?? 24;
  const reloadMs = options.watchedReloadMs ?? 600_000;
  const checkGapMs = options.checkGapMs ?? 2_000;
  const recentChecks = new Map<string, number>();
  let lastLoopTickMs = Number.NEGATIVE_INFINITY;

  // Options issued since the last tick, found by their invoices' creation time (indexed); a tick that
  // fails does not move the mark. Reconciliation now and then catches any committed out of order.
  // The mark is kept in the database too: a Workers cron run (a new watcher each time) starts from
  // it instead of reconciling every run.
  const markName = `watched:${network}`;
  let newestCreated: number | undefined;
  let reconciledAt = Number.NEGATIVE_INFINITY;

  async function loadIssued(now: Date) {
    if (newestCreated === undefined) {
      const [mark] = await sql<{ cursor: { newestCreatedMs?: unknown; reconciledAtMs?: unknown } | null }[]>`
        select cursor from chain_cursors where name = ${markName}`;
      const c = mark?.cursor;
      if (c && typeof c.newestCreatedMs === 'number' && typeof c.reconciledAtMs === 'number') {
        newestCreated = c.newestCreatedMs;
        reconciledAt = c.reconciledAtMs;
      } else {
        const [row] = await sql<{ at: Date | null }[]>`select max(created_at) as at from invoices`;
        newestCreated = row?.at ? new Date(row.at).getTime() : 0;
      }
    }
    const t = now.getTime();
    const reconcile = t - reconciledAt >= reloadMs || t < reconciledAt;
    const since = new Date(newestCreated - CREATED_OVERLAP_MS);
    // The newest invoice of any network, read first: the mark moves past invoices of other networks
    // too, so a quiet network's query never spans everything created since its last option.
    const [top] = await sql<{ at: Date | null }[]>`select max(created_at) as at from invoices`;
    const loaded = await loadWatchedOptions(sql, network, { since });
    const seen = Math.max(loaded.newestCreatedMs, top?.at ? new Date(top.at).getTime() : 0);
    return {
      issued: loaded.options,
      reconcile,
      async commit() {
        const newest = Math.max(newestCreated ?? 0, seen);
        if (newest === newestCreated && !reconcile) return;
        newestCreated = newest;
        if (reconcile) reconciledAt = t;
        const mark = { newestCreatedMs: newestCreated, reconciledAtMs: reconciledAt };
        await sql`insert into chain_cursors (name, cursor, updated_at)
          values (${markName}, ${sql.json(mark)}, ${now})
          on conflict (name) do update set cursor = excluded.cursor, updated_at = excluded.updated_at`;
      },
    };
  }

  async function loadKnown(invoiceId?: string): Promise<KnownPayment[]> {
    const rows = await sql<KnownRow[]>`select p.id, p.invoice_id, p.txid, p.output_index, p.block_hash,
        p.block_height, p.confirmations, u.outpoints, po.address
      from payments p left join utxo_tx_inputs u on u.network = p.network and u.txid = p.txid
        left join payment_options po on po.invoice_id = p.invoice_id and po.option = p.option
      where p.network = ${network} and p.status in ('seen', 'confirmed') and p.confirmations < ${finality}
        ${invoiceId !== undefined ? sql`and p.invoice_id = ${invoiceId}` : sql``}`;
    return rows.map((r) => ({
      id: r.id,
      invoiceId: r.invoice_id,
      txid: r.txid,
      index: r.output_index,
      address: r.address,
      blockHash: r.block_hash,
      blockHeight: r.block_height == null ? null : Number(toBigInt(r.block_height)),
      confirmations: r.confirmations,
      inputs: r.outpoints ?? [],
    }));
  }

  async function retire(gone: readonly GonePayment[], now: Date): Promise<number> {
    let n = 0;
    for (const g of gone) {
      const inv = await sql.begin((tx) =>
        markPaymentGone(tx, options.state, g.payment.id, g.reason, {
          now,
          ...(g.replacedBy ? { replacedBy: g.replacedBy } : {}),
        }),
      );
      if (inv) {
        n++;
        log?.info('payment left the chain', { network, txid: g.payment.txid, reason: g.reason });
      }
    }
    return n;
  }

  async function reconfirm(moved: readonly MovedPayment[], now: Date): Promise<number> {
    let n = 0;
    for (const m of moved) {
      const p = m.payment;
      if (m.confirmations === p.confirmations && m.blockHash === p.blockHash) continue;
      const height = m.blockHeight === null ? null : BigInt(m.blockHeight);
      await sql.begin((tx) =>
        confirmPayment(tx, options.state, p.id, m.confirmations, { hash: m.blockHash, height }, { now }),
      );
      n++;
    }
    return n;
  }

  /** Writes payments not yet counted; returns how many, and how many of them are unattributed. */
  async function record(payments: readonly SeenPayment[], now: Date) {
    const incoming: SeenPayment[] = [];
    for (const p of payments) {
      if (p.direction === 'in') incoming.push(p);
      else await options.onOutgoing?.(p);
    }
    if (incoming.length === 0) return { recorded: 0, unattributed: 0 };
    const txids = [...new Set(incoming.map((p) => p.txid))];
    const existing = await sql<{ txid: string; output_index: number }[]>`
      select txid, output_index from payments where network = ${network} and txid in ${sql(txids)}
        and status in ('seen', 'confirmed')`;
    const counted = new Set(existing.map((e) => paymentKey(e.txid, e.output_index)));
    const todo = incoming.filter((p) => !counted.has(paymentKey(p.txid, p.index)));
    if (todo.length === 0) return { recorded: 0, unattributed: 0 };
    // Asked now, not when the set was loaded: an invoice cancelled since then takes nothing.
    const accepting = await acceptingInvoices(sql, [...new Set(todo.map((p) => p.option.invoiceId))], now);
    let recorded = 0;
    let unattributed = 0;
    for (const p of todo) {
      const w = p.option;
      const attributed = accepting.has(w.invoiceId);
      const amountTiyn = atomicToTiyn(p.amountAtomic, w.kztPerUnit, w.decimals);
      const seenAt =
        p.blockTimeMs === undefined ? undefined : new Date(Math.min(p.blockTimeMs, now.getTime()));
      await sql.begin(async (tx) => {
        await backend.onRecorded?.(tx, p, now);
        await recordPayment(
          tx,
          options.state,
          {
            invoiceId: w.invoiceId,
            option: w.option,
            network,
            txid: p.txid,
            outputIndex: p.index,
            fromAddresses: p.from,
            amountAtomic: p.amountAtomic,
            amountTiyn,
            confirmations: p.confirmations,
            blockHash: p.blockHash,
            blockHeight: p.blockHeight === null ? null : BigInt(p.blockHeight),
            rbf: p.rbf,
            ...(seenAt ? { seenAt } : {}),
            ...(attributed ? {} : { unattributed: true }),
          },
          {
            now,
            screen: options.screening
              ? (tx, paymentId) =>
                  options.screening!.screenPayment(tx, {
                    invoiceId: w.invoiceId,
                    paymentId,
                    merchantId: w.merchantId,
                    network,
                    senders: p.from,
                    amountTiyn,
                    asset: p.asset,
                    deferState: true,
                  })
              : undefined,
          },
        );
      });
      recorded++;
      if (!attributed) {
        unattributed++;
        log?.warn('payment to an invoice that no longer takes money: kept as unattributed', {
          network,
          txid: p.txid,
          invoiceId: w.invoiceId,
        });
      }
    }
    return { recorded, unattributed };
  }

  /** Retired first (a replaced payment leaves before its replacement arrives), then new, then moved. */
  async function apply(obs: ObserveResult, now: Date) {
    const gone = await retire(obs.gone, now);
    const { recorded, unattributed } = await record(obs.payments, now);
    const updated = await reconfirm(obs.moved, now);
    return { recorded, updated, gone, ...(unattributed ? { unattributed } : {}) };
  }

  async function saveCursor(cursor: unknown, now: Date): Promise<void> {
    await sql`insert into chain_cursors (name, cursor, updated_at)
      values (${backend.cursorName}, ${sql.json(cursor as never)}, ${now})
      on conflict (name) do update set cursor = excluded.cursor, updated_at = excluded.updated_at`;
  }

  async function scan(now: Date): Promise<TickResult> {
    // Address-polling backends keep no cursor (their schedule is their memory).
    const [row] = backend.scansAll
      ? await sql<{ cursor: unknown }[]>`select cursor from chain_cursors where name = ${backend.cursorName}`
      : [];
    const tip = await backend.readTip?.();
    const issued = await loadIssued(now);
    const known = await loadKnown();
    const fresh = backend.scansAll && row?.cursor == null;
    const since = fresh ? await oldestAcceptingCreatedAt(sql, network, now) : undefined;
    const watched = createWatchedLookup(sql, network, issued.issued, issued.reconcile);
    const obs = await backend.observe({ cursor: row?.cursor ?? undefined, watched, known, since, tip, now });
    const base = { network, issued: issued.issued.length, ...obs.report };
    if (obs.skipped) return { ...base, recorded: 0, updated: 0, gone: 0, skipped: obs.skipped };
    const counts = await apply(obs, now);
    await options.beforeCursorSave?.();
    if (obs.cursor !== undefined) await saveCursor(obs.cursor, now);
    await issued.commit();
    return { ...base, ...counts };
  }

  async function tick(now: Date, fromCheck: boolean): Promise<TickResult> {
    const useLease = options.useLease !== false;
    if (useLease && !(await tryAcquireLease(sql, backend.leaseName, holder, leaseMs))) {
      return { network, recorded: 0, updated: 0, gone: 0, skipped: 'busy' };
    }
    if (!fromCheck) lastLoopTickMs = Date.now();
    // A check's watcher may live for one request (Workers): were it to keep the lease, every other
    // request and the cron would find the network busy until it expired. A loop keeps its lease.
    const release =
      useLease &&
      (options.releaseLeaseAfterTick === true || (fromCheck && Date.now() - lastLoopTickMs > leaseMs));
    try {
      return await scan(now);
    } finally {
      if (release) await releaseLease(sql, backend.leaseName, holder).catch(() => {});
    }
  }

  /** An address-polling backend asks about one invoice only. */
  async function checkOne(invoiceId: string, now: Date): Promise<TickResult | undefined> {
    const mine = await loadWatchedOptions(sql, network, { invoiceId });
    const known = await loadKnown(invoiceId);
    if (mine.options.length === 0 && known.length === 0) return undefined;
    const watched = createWatchedLookup(sql, network, mine.options, false);
    const obs = await backend.observe({ cursor: undefined, watched, known, invoiceId, now });
    if (obs.skipped) return undefined;
    return { network, ...obs.report, ...(await apply(obs, now)) };
  }

  return {
    network,
    backend,
    tick: (now = new Date()) => tick(now, false),
    async checkInvoice(invoiceId, now = new Date()) {
      // Pages poll every second or so: within the gap this process does not even ask the database.
      const gap = backend.checkGapMs ?? checkGapMs;
      const last = recentChecks.get(invoiceId);
      if (last !== undefined && Math.abs(now.getTime() - last) < gap) return undefined;
      if (recentChecks.size > 10_000) recentChecks.clear();
      recentChecks.set(invoiceId, now.getTime());
      if (!backend.scansAll) return checkOne(invoiceId, now);
      // Across processes (and Workers requests) the cursor's age is the limit: at most one scan per
      // gap per network, however many pages are open.
      const [row] = await sql<{ updated_at: Date }[]>`
        select updated_at from chain_cursors where name = ${backend.cursorName}`;
      if (row && Math.abs(now.getTime() - new Date(row.updated_at).getTime()) < checkGapMs) return undefined;
      return tick(now, true);
    },
  };
}
