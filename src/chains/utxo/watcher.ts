// The UTXO watcher of one network: one tick asks the backend what it sees (outputs paying the
// scripts of open invoices, and the fate of payments already counted) and turns that into calls of
// the state machine. The database is the only memory that matters: the cursor lives in
// chain_cursors, payments are keyed by (network, txid, output), so a restart, a re-scan or a second
// process running the same tick never counts a payment twice.
import type { ScreeningService } from '../../aml/screen';
import type { Sql } from '../../db/client';
import { toBigInt } from '../../db/client';
import { confirmPayment, markPaymentGone, recordPayment, type StateDeps } from '../../invoices/state';
import { randomHex } from '../../lib/ids';
import type { Logger } from '../../lib/log';
import { type Decimal, parseDecimal } from '../../lib/money';
import { releaseLease, tryAcquireLease } from '../../watch/leases';
import type { AssetId, NetworkId } from '../networks';
import { EsploraError } from './backends/esplora';
import type { KnownPayment, Observation, ObservedOutput, UtxoBackend, Verdict } from './backends/types';
import { addressToScriptHex } from './derive';
import type { AddressPollSchedule, PollClaim } from './poll-schedule';
import { paymentTiyn } from './scan';

export interface UtxoWatcherOptions {
  readonly sql: Sql;
  readonly state: StateDeps;
  readonly backend: UtxoBackend;
  readonly logger?: Logger;
  /** Screens every new payment's senders in the payment's own transaction (SPEC section 7). */
  readonly screening?: Pick<ScreeningService, 'screenPayment'> | undefined;
  /** Identifies this process in `leases`; random by default. */
  readonly holder?: string;
  /** How long a tick's lease lasts (renewed every tick); default 30 s. */
  readonly leaseMs?: number;
  /** False runs without the lease (tests of concurrent watchers). */
  readonly useLease?: boolean;
  /**
   * Every tick gives its lease back when it ends: for a process that lives for one tick (a Workers
   * cron run, or a Workers request's check), whose lease would otherwise keep the others out.
   */
  readonly releaseLeaseAfterTick?: boolean;
  /** Counted payments are re-checked (confirmations, reorgs) until this deep; default 24. */
  readonly finalityDepth?: number;
  /** The whole watched set is reloaded this often (new invoices are added every tick); default 30 s. */
  readonly watchedReloadMs?: number;
  /** Tests: runs after the payments are written and before the cursor is (a crash point). */
  readonly beforeCursorSave?: () => Promise<void>;
  /**
   * Esplora: which addresses are polled when (poll-schedule.ts). Without one every watched address
   * is polled every tick, which a node of one's own or the sandbox facade can take and a public
   * service cannot.
   */
  readonly schedule?: AddressPollSchedule;
  /** Block-scanning backends: a checkout page's check runs a tick unless one ran this recently; default 2 s. */
  readonly checkGapMs?: number;
}

export interface UtxoTickResult {
  readonly network: NetworkId;
  /** `busy`: another process holds this network's lease. */
  readonly skipped?: 'busy';
  readonly tipHeight?: number;
  readonly watched?: number;
  /** Payments written for the first time (or back after leaving the chain). */
  readonly recorded: number;
  /** Confirmation changes of counted payments. */
  readonly updated: number;
  /** Payments marked reorged or replaced. */
  readonly gone: number;
  readonly stats?: Readonly<Record<string, number>>;
  /** With a schedule: addresses polled this round (the others were not due or over budget). */
  readonly polled?: number;
}

export interface UtxoWatcher {
  readonly network: NetworkId;
  readonly backend: UtxoBackend;
  tick(now?: Date): Promise<UtxoTickResult>;
  /**
   * An open checkout page asks about its own invoice. With a schedule only that invoice's addresses
   * are polled, at most once per the schedule's `checkGapMs`; a block-scanning backend runs a tick
   * (under the lease) unless one ran within `checkGapMs`. Undefined result: nothing was due.
   */
  checkInvoice(invoiceId: string, now?: Date): Promise<UtxoTickResult | undefined>;
}

interface WatchedOption {
  readonly invoiceId: string;
  readonly merchantId: string;
  readonly option: string;
  readonly asset: AssetId;
  readonly address: string;
  readonly scriptHex: string;
  readonly decimals: number;
  readonly kztPerUnit: Decimal;
}

interface CountedRow {
  readonly id: string;
  readonly txid: string;
  readonly output_index: number;
  readonly block_hash: string | null;
  readonly block_height: unknown;
  readonly confirmations: number;
  readonly outpoints: string[] | null;
  /** The paid option's address (the schedule polls payments with their address). */
  readonly address: string | null;
  readonly invoice_id: string;
}

const CREATED_OVERLAP_MS = 120_000;

export function createUtxoWatcher(options: UtxoWatcherOptions): UtxoWatcher {
  const { sql, backend } = options;
  const network = backend.network;
  const holder = options.holder ?? `utxo-${randomHex(8)}`;
  const leaseMs = options.leaseMs ?? 30_000;
  const finality = options.finalityDepth ?? 24;
  const reloadMs = options.watchedReloadMs ?? 30_000;
  const cursorName = `utxo:${network}:${backend.kind}`;
  const leaseName = `utxo:${network}`;

  // The watched set, reloaded in full now and then and topped up with new invoices every tick.
  const byScript = new Map<string, WatchedOption>();
  let fullLoadAt = 0;
  let newestCreated = 0;

  async function loadWatched(now: Date, invoiceId?: string): Promise<WatchedOption[]> {
    const full = invoiceId === undefined && now.getTime() - fullLoadAt >= reloadMs;
    const since = full || invoiceId !== undefined ? null : new Date(newestCreated - CREATED_OVERLAP_MS);
    const rows = await sql<
      {
        invoice_id: string;
        merchant_id: string;
        option: string;
        asset: AssetId;
        address: string;
        decimals: number;
        kzt_per_unit: string;
        script: string | null;
        created_at: Date;
      }[]
    >`select po.invoice_id, i.merchant_id, po.option, po.asset, po.address, po.decimals, po.rate->>'kztPerUnit' as kzt_per_unit,
        po.details->>'scriptPubKey' as script, i.created_at
      from payment_options po join invoices i on i.id = po.invoice_id
      where po.network = ${network}
        and (i.status in ('new', 'processing')
          or (i.status in ('expired', 'settled') and i.monitoring_until > ${now}))
        ${since ? sql`and i.created_at >= ${since}` : sql``}
        ${invoiceId !== undefined ? sql`and i.id = ${invoiceId}` : sql``}`;
    if (full) {
      byScript.clear();
      fullLoadAt = now.getTime();
    }
    const loaded: WatchedOption[] = [];
    for (const r of rows) {
      const scriptHex = (r.script ?? addressToScriptHex(network, r.address)).toLowerCase();
      const w: WatchedOption = {
        invoiceId: r.invoice_id,
        merchantId: r.merchant_id,
        option: r.option,
        asset: r.asset,
        address: r.address,
        scriptHex,
        decimals: r.decimals,
        kztPerUnit: parseDecimal(r.kzt_per_unit),
      };
      byScript.set(scriptHex, w);
      loaded.push(w);
      if (invoiceId === undefined) newestCreated = Math.max(newestCreated, new Date(r.created_at).getTime());
    }
    return loaded;
  }

  async function loadCounted(invoiceId?: string): Promise<CountedRow[]> {
    return sql<CountedRow[]>`select p.id, p.txid, p.output_index, p.block_hash, p.block_height,
        p.confirmations, u.outpoints, po.address, p.invoice_id
      from payments p left join utxo_tx_inputs u on u.network = p.network and u.txid = p.txid
        left join payment_options po on po.invoice_id = p.invoice_id and po.option = p.option
      where p.network = ${network} and p.status in ('seen', 'confirmed') and p.confirmations < ${finality}
        ${invoiceId !== undefined ? sql`and p.invoice_id = ${invoiceId}` : sql``}`;
  }

  function knownOf(counted: readonly CountedRow[]): Map<string, KnownPayment> {
    const known = new Map<string, KnownPayment>();
    for (const r of counted) {
      if (known.has(r.txid)) continue;
      known.set(r.txid, {
        txid: r.txid,
        blockHash: r.block_hash,
        blockHeight: r.block_height == null ? null : Number(toBigInt(r.block_height)),
        confirmations: r.confirmations,
        inputs: r.outpoints ?? [],
      });
    }
    return known;
  }

  /** Applies an observation: the fate of counted payments first, then new ones. */
  async function apply(obs: Observation, counted: readonly CountedRow[], now: Date) {
    // A replaced payment leaves before its replacement arrives, so the invoice follows the new
    // transaction without counting both.
    let updated = 0;
    let gone = 0;
    for (const r of counted) {
      const v = obs.verdicts.get(r.txid);
      if (!v) continue;
      const res = await applyVerdict(r, v, now);
      if (res === 'updated') updated++;
      if (res === 'gone') gone++;
    }
    const countedKeys = new Set(counted.map((r) => `${r.txid}:${r.output_index}`));
    const recorded = await recordOutputs(obs.outputs, countedKeys, now);
    return { recorded, updated, gone };
  }

  /**
   * One scheduled poll round: only the claimed addresses are asked about, and only the counted
   * payments to those addresses are judged (each unseen one costs a status request). Every output to
   * any watched script in the answers is still recorded.
   */
  async function pollClaimed(
    schedule: AddressPollSchedule,
    claim: PollClaim,
    counted: readonly CountedRow[],
    now: Date,
  ): Promise<{ obs: Observation; recorded: number; updated: number; gone: number }> {
    const mine = counted.filter((r) => r.address !== null && claim.addresses.has(r.address));
    const addresses = new Map<string, string>();
    for (const w of byScript.values())
      if (claim.addresses.has(w.address)) addresses.set(w.address, w.scriptHex);
    let obs: Observation;
    try {
      obs = await backend.observe({
        cursor: undefined,
        watched: { scripts: new Set(byScript.keys()), addresses },
        known: knownOf(mine),
      });
    } catch (err) {
      if (err instanceof EsploraError && err.httpStatus === 429) {
        await schedule.rateLimited(err.retryAfterMs, now);
        options.logger?.warn('esplora rate limit: polling paused', {
          network,
          retryAfterMs: err.retryAfterMs,
        });
        // Refused, not answered: first in line once allowed. Other failures wait their interval,
        // so a service answering one address badly is not asked again every tick.
        await schedule.release(claim.addresses, now);
      }
      throw err;
    }
    await schedule.charge((obs.stats['requests'] ?? claim.reserved) - claim.reserved, now);
    await schedule.succeeded();
    return { obs, ...(await apply(obs, mine, now)) };
  }

  function targetsOf(counted: readonly CountedRow[], watched: Iterable<WatchedOption>) {
    const targets = new Map<string, string>();
    for (const w of watched) targets.set(w.address, w.invoiceId);
    for (const r of counted)
      if (r.address !== null && !targets.has(r.address)) targets.set(r.address, r.invoice_id);
    return [...targets].map(([address, invoiceId]) => ({ address, invoiceId }));
  }

  async function scheduledTick(schedule: AddressPollSchedule, now: Date): Promise<UtxoTickResult> {
    const counted = await loadCounted();
    const claim = await schedule.claimDue(targetsOf(counted, byScript.values()), now);
    const base = { network, watched: byScript.size, polled: claim.addresses.size };
    if (claim.addresses.size === 0) return { ...base, recorded: 0, updated: 0, gone: 0 };
    const { obs, ...counts } = await pollClaimed(schedule, claim, counted, now);
    return { ...base, tipHeight: obs.tipHeight, ...counts, stats: obs.stats };
  }

  async function applyVerdict(row: CountedRow, v: Verdict, now: Date): Promise<'updated' | 'gone' | null> {
    const opts = { now };
    if (v.kind === 'unknown') return null;
    if (v.kind === 'gone') {
      const inv = await sql.begin((tx) =>
        markPaymentGone(tx, options.state, row.id, v.reason, {
          ...opts,
          ...(v.replacedBy ? { replacedBy: v.replacedBy } : {}),
        }),
      );
      if (inv)
        options.logger?.info('utxo payment left the chain', { network, txid: row.txid, reason: v.reason });
      return inv ? 'gone' : null;
    }
    const conf = v.kind === 'confirmed' ? v.confirmations : 0;
    const hash = v.kind === 'confirmed' ? v.blockHash : null;
    const height = v.kind === 'confirmed' ? BigInt(v.blockHeight) : null;
    if (conf === row.confirmations && hash === row.block_hash) return null;
    await sql.begin((tx) => confirmPayment(tx, options.state, row.id, conf, { hash, height }, opts));
    return 'updated';
  }

  /** Writes outputs not yet recorded (or recorded and since gone); returns how many. */
  async function recordOutputs(outputs: readonly ObservedOutput[], countedKeys: Set<string>, now: Date) {
    const fresh = outputs.filter((o) => byScript.has(o.scriptHex) && !countedKeys.has(`${o.txid}:${o.vout}`));
    if (fresh.length === 0) return 0;
    const txids = [...new Set(fresh.map((o) => o.txid))];
    const existing = await sql<{ txid: string; output_index: number; status: string }[]>`
      select txid, output_index, status from payments where network = ${network} and txid in ${sql(txids)}`;
    const counted = new Set(
      existing
        .filter((e) => e.status === 'seen' || e.status === 'confirmed')
        .map((e) => `${e.txid}:${e.output_index}`),
    );
    const todo = fresh.filter((o) => !counted.has(`${o.txid}:${o.vout}`));
    if (todo.length === 0) return 0;
    // The watched set may be a little stale: only invoices still open or in their window take money.
    const invoiceIds = [...new Set(todo.map((o) => byScript.get(o.scriptHex)!.invoiceId))];
    const eligible = new Set(
      (
        await sql<{ id: string }[]>`select id from invoices where id in ${sql(invoiceIds)}
          and (status in ('new', 'processing')
            or (status in ('expired', 'settled') and monitoring_until > ${now}))`
      ).map((r) => r.id),
    );
    let n = 0;
    for (const o of todo) {
      const w = byScript.get(o.scriptHex)!;
      if (!eligible.has(w.invoiceId)) continue;
      const amountTiyn = paymentTiyn(o.valueAtomic, w.kztPerUnit, w.decimals);
      await sql.begin(async (tx) => {
        await tx`insert into utxo_tx_inputs (network, txid, outpoints)
          values (${network}, ${o.txid}, ${tx.array([...o.inputs])}) on conflict do nothing`;
        await recordPayment(
          tx,
          options.state,
          {
            invoiceId: w.invoiceId,
            option: w.option,
            network,
            txid: o.txid,
            outputIndex: o.vout,
            fromAddresses: o.fromAddresses,
            amountAtomic: o.valueAtomic,
            amountTiyn,
            confirmations: o.confirmations,
            blockHash: o.blockHash,
            blockHeight: o.blockHeight === null ? null : BigInt(o.blockHeight),
            rbf: o.rbf,
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
                    senders: o.fromAddresses,
                    amountTiyn,
                    asset: w.asset,
                    deferState: true,
                  })
              : undefined,
          },
        );
      });
      n++;
    }
    return n;
  }

  const checkGapMs = options.checkGapMs ?? 2_000;
  const recentChecks = new Map<string, number>();

  async function tick(now = new Date()): Promise<UtxoTickResult> {
    const useLease = options.useLease !== false;
    if (useLease && !(await tryAcquireLease(sql, leaseName, holder, leaseMs))) {
      return { network, skipped: 'busy', recorded: 0, updated: 0, gone: 0 };
    }
    try {
      return await leasedTick(now);
    } finally {
      if (useLease && options.releaseLeaseAfterTick)
        await releaseLease(sql, leaseName, holder).catch(() => {});
    }
  }

  async function leasedTick(now: Date): Promise<UtxoTickResult> {
    await loadWatched(now);
    if (options.schedule) return scheduledTick(options.schedule, now);
    const [cursorRow] = await sql<{ cursor: unknown }[]>`
        select cursor from chain_cursors where name = ${cursorName}`;
    const counted = await loadCounted();
    const scripts = new Set(byScript.keys());
    const addresses = new Map([...byScript.values()].map((w) => [w.address, w.scriptHex]));
    const obs = await backend.observe({
      cursor: cursorRow?.cursor,
      watched: { scripts, addresses },
      known: knownOf(counted),
    });
    const { recorded, updated, gone } = await apply(obs, counted, now);

    await options.beforeCursorSave?.();
    await sql`insert into chain_cursors (name, cursor, updated_at)
        values (${cursorName}, ${sql.json(obs.cursor as never)}, ${now})
        on conflict (name) do update set cursor = excluded.cursor, updated_at = excluded.updated_at`;
    return {
      network,
      tipHeight: obs.tipHeight,
      watched: byScript.size,
      recorded,
      updated,
      gone,
      stats: obs.stats,
    };
  }

  return {
    network,
    backend,
    tick,
    async checkInvoice(invoiceId, now = new Date()) {
      const schedule = options.schedule;
      if (!schedule) {
        // A scan covers every invoice at once: a fresh cursor means the page would learn nothing new.
        const [row] = await sql<{ updated_at: Date }[]>`
          select updated_at from chain_cursors where name = ${cursorName}`;
        if (row && now.getTime() - new Date(row.updated_at).getTime() < checkGapMs) return undefined;
        return tick(now);
      }
      // Pages poll every second or so: within the gap this process does not even ask the database.
      const last = recentChecks.get(invoiceId);
      if (last !== undefined && Math.abs(now.getTime() - last) < schedule.policy.checkGapMs) return undefined;
      if (recentChecks.size > 10_000) recentChecks.clear();
      recentChecks.set(invoiceId, now.getTime());
      const watched = await loadWatched(now, invoiceId);
      const counted = await loadCounted(invoiceId);
      const targets = targetsOf(counted, watched);
      if (targets.length === 0) return undefined;
      const claim = await schedule.claimInvoice(invoiceId, targets, now);
      if (claim.addresses.size === 0) return undefined;
      const { obs, ...counts } = await pollClaimed(schedule, claim, counted, now);
      return { network, tipHeight: obs.tipHeight, polled: claim.addresses.size, ...counts, stats: obs.stats };
    },
  };
}
