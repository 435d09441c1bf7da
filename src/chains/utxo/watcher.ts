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
import { tryAcquireLease } from '../../watch/leases';
import type { AssetId, NetworkId } from '../networks';
import type { KnownPayment, ObservedOutput, UtxoBackend, Verdict } from './backends/types';
import { addressToScriptHex } from './derive';
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
  /** Counted payments are re-checked (confirmations, reorgs) until this deep; default 24. */
  readonly finalityDepth?: number;
  /** The whole watched set is reloaded this often (new invoices are added every tick); default 30 s. */
  readonly watchedReloadMs?: number;
  /** Tests: runs after the payments are written and before the cursor is (a crash point). */
  readonly beforeCursorSave?: () => Promise<void>;
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
}

export interface UtxoWatcher {
  readonly network: NetworkId;
  readonly backend: UtxoBackend;
  tick(now?: Date): Promise<UtxoTickResult>;
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

  async function loadWatched(now: Date): Promise<void> {
    const full = now.getTime() - fullLoadAt >= reloadMs;
    const since = full ? null : new Date(newestCreated - CREATED_OVERLAP_MS);
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
        ${since ? sql`and i.created_at >= ${since}` : sql``}`;
    if (full) {
      byScript.clear();
      fullLoadAt = now.getTime();
    }
    for (const r of rows) {
      const scriptHex = (r.script ?? addressToScriptHex(network, r.address)).toLowerCase();
      byScript.set(scriptHex, {
        invoiceId: r.invoice_id,
        merchantId: r.merchant_id,
        option: r.option,
        asset: r.asset,
        address: r.address,
        scriptHex,
        decimals: r.decimals,
        kztPerUnit: parseDecimal(r.kzt_per_unit),
      });
      newestCreated = Math.max(newestCreated, new Date(r.created_at).getTime());
    }
  }

  async function loadCounted(): Promise<CountedRow[]> {
    return sql<CountedRow[]>`select p.id, p.txid, p.output_index, p.block_hash, p.block_height,
        p.confirmations, u.outpoints
      from payments p left join utxo_tx_inputs u on u.network = p.network and u.txid = p.txid
      where p.network = ${network} and p.status in ('seen', 'confirmed') and p.confirmations < ${finality}`;
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
        const r = await recordPayment(
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
          { now },
        );
        if (r.isNew && options.screening) {
          await options.screening.screenPayment(tx, {
            invoiceId: w.invoiceId,
            paymentId: r.paymentId,
            merchantId: w.merchantId,
            network,
            senders: o.fromAddresses,
            amountTiyn,
            asset: w.asset,
          });
        }
      });
      n++;
    }
    return n;
  }

  return {
    network,
    backend,
    async tick(now = new Date()): Promise<UtxoTickResult> {
      if (options.useLease !== false && !(await tryAcquireLease(sql, leaseName, holder, leaseMs))) {
        return { network, skipped: 'busy', recorded: 0, updated: 0, gone: 0 };
      }
      await loadWatched(now);
      const [cursorRow] = await sql<{ cursor: unknown }[]>`
        select cursor from chain_cursors where name = ${cursorName}`;
      const counted = await loadCounted();
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
      const scripts = new Set(byScript.keys());
      const addresses = new Map([...byScript.values()].map((w) => [w.address, w.scriptHex]));
      const obs = await backend.observe({
        cursor: cursorRow?.cursor,
        watched: { scripts, addresses },
        known,
      });

      // The fate of counted payments first, then new ones: a replaced payment leaves before its
      // replacement arrives, so the invoice follows the new transaction without counting both.
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
    },
  };
}
