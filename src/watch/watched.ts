// Which addresses the watchers watch, and which invoices still take money: the one place in code
// that asks (the rules themselves are SQL, migration 0012: the `watched_options` view and the
// `invoice_accepts` function). Every address the gateway ever issued stays watched (SPEC section 7):
// a payment to one whose invoice no longer takes money is recorded as unattributed and screened.
// There may be millions, so watchers look up what they see (`findWatchedOptions`, one indexed query
// per batch: migration 0015) rather than loading them all.

import type { AssetId, NetworkId } from '../chains/networks';
import type { Queryable, Sql } from '../db/client';
import { parseDecimal } from '../lib/money';
import type { WatchedIndex, WatchedLookup, WatchedOption, WatchKey } from './observe';

interface WatchedRow {
  readonly invoice_id: string;
  readonly merchant_id: string;
  readonly option: string;
  readonly asset: AssetId;
  readonly address: string;
  readonly decimals: number;
  readonly kzt_per_unit: string;
  readonly details: Record<string, unknown> | null;
  readonly created_at: Date;
}

/**
 * The issued options of `network`: all of them, those of invoices created at or after `since`, or
 * those of one invoice.
 */
export async function loadWatchedOptions(
  sql: Queryable,
  network: NetworkId,
  filter: { since?: Date | undefined; invoiceId?: string | undefined } = {},
): Promise<{ options: WatchedOption[]; newestCreatedMs: number }> {
  const rows = await sql<WatchedRow[]>`select invoice_id, merchant_id, option, asset, address, decimals,
      kzt_per_unit, details, created_at
    from watched_options where network = ${network}
      ${filter.since ? sql`and created_at >= ${filter.since}` : sql``}
      ${filter.invoiceId !== undefined ? sql`and invoice_id = ${filter.invoiceId}` : sql``}`;
  let newestCreatedMs = 0;
  const options = rows.map((r) => {
    newestCreatedMs = Math.max(newestCreatedMs, new Date(r.created_at).getTime());
    return optionOf(r);
  });
  return { options, newestCreatedMs };
}

function optionOf(r: Omit<WatchedRow, 'created_at'>): WatchedOption {
  const details: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.details ?? {})) if (typeof v === 'string') details[k] = v;
  return {
    invoiceId: r.invoice_id,
    merchantId: r.merchant_id,
    option: r.option,
    asset: r.asset,
    address: r.address,
    decimals: r.decimals,
    kztPerUnit: parseDecimal(r.kzt_per_unit),
    details,
  };
}

/**
 * Values per query: a block's outputs come in a few of these. Small enough that the planner probes
 * the index per value rather than hashing every issued option (it would, for ~3 % of the table).
 */
const FIND_CHUNK = 1_000;

/**
 * The issued options of `network` among `values`, keyed as `key` names them (see WatchKey). Each
 * key has its index (migration 0015; the address as issued: `payment_options_address`), so a
 * look-up costs the values asked about, not the millions issued.
 */
export async function findWatchedOptions(
  sql: Queryable,
  network: NetworkId,
  key: WatchKey,
  values: Iterable<string>,
): Promise<WatchedIndex> {
  const unique = [...new Set(values)].filter((v) => v !== '');
  const out = new Map<string, WatchedOption[]>();
  for (let i = 0; i < unique.length; i += FIND_CHUNK) {
    const list = sql.array(unique.slice(i, i + FIND_CHUNK));
    // Joined from the values: one index probe per value (the conditions are the indexes' expressions).
    const on =
      key === 'address'
        ? sql`w.address = v.k`
        : key === 'evmAddress'
          ? sql`lower(w.address) = v.k and w.details ? 'invoiceKey'`
          : key === 'scriptPubKey'
            ? sql`w.details->>'scriptPubKey' = v.k`
            : sql`w.details->>'invoiceKey' = v.k`;
    const rows = await sql<(Omit<WatchedRow, 'created_at'> & { k: string })[]>`select v.k, w.invoice_id,
        w.merchant_id, w.option, w.asset, w.address, w.decimals, w.kzt_per_unit, w.details
      from unnest(${list}::text[]) as v(k) join watched_options w on w.network = ${network} and ${on}`;
    for (const r of rows) {
      const list = out.get(r.k);
      if (list) list.push(optionOf(r));
      else out.set(r.k, [optionOf(r)]);
    }
  }
  return out;
}

/** Whether anything was ever issued on `network`. */
export async function anyIssued(sql: Queryable, network: NetworkId): Promise<boolean> {
  const [row] = await sql<{ any: boolean }[]>`select exists (select 1 from payment_options
    where network = ${network}) as any`;
  return row?.any === true;
}

/** Every EVM deposit address of `network` (lower case) when there are at most `max`, else undefined. */
export async function evmAddressesUpTo(
  sql: Queryable,
  network: NetworkId,
  max: number,
): Promise<string[] | undefined> {
  const rows = await sql<{ a: string }[]>`select distinct lower(address) as a from payment_options
    where network = ${network} order by 1 limit ${max + 1}`;
  return rows.length > max ? undefined : rows.map((r) => r.a);
}

// Once anything is issued on a network it stays so (options are never deleted).
const anyIssuedOn = new WeakMap<object, Set<string>>();

/** The look-up a tick hands its backend: every issued option of `network`, found by what it sees. */
export function createWatchedLookup(
  sql: Queryable,
  network: NetworkId,
  issued: readonly WatchedOption[],
  reconcile: boolean,
): WatchedLookup {
  return {
    issued,
    reconcile,
    find: (key, values) => findWatchedOptions(sql, network, key, values),
    ofInvoice: async (invoiceId) => (await loadWatchedOptions(sql, network, { invoiceId })).options,
    async any() {
      let known = anyIssuedOn.get(sql);
      if (known?.has(network)) return true;
      if (!(await anyIssued(sql, network))) return false;
      if (!known) {
        known = new Set();
        anyIssuedOn.set(sql, known);
      }
      known.add(network);
      return true;
    },
    evmAddressesUpTo: (max) => evmAddressesUpTo(sql, network, max),
    all: async () => (await loadWatchedOptions(sql, network)).options,
  };
}

/** Of `invoiceIds`, those that take money at `now` (a payment to the others is unattributed). */
export async function acceptingInvoices(
  sql: Queryable,
  invoiceIds: readonly string[],
  now: Date,
): Promise<Set<string>> {
  if (invoiceIds.length === 0) return new Set();
  const rows = await sql<{ id: string }[]>`select id from invoices
    where id in ${sql([...invoiceIds])} and invoice_accepts(status, monitoring_until, ${now})`;
  return new Set(rows.map((r) => r.id));
}

/** The networks on which `invoiceId` takes money now (a checkout page's check scans only those). */
export async function acceptingNetworks(sql: Queryable, invoiceId: string, now: Date): Promise<string[]> {
  const rows = await sql<{ network: string }[]>`select distinct network from watched_options
    where invoice_id = ${invoiceId} and invoice_accepts(status, monitoring_until, ${now})`;
  return rows.map((r) => r.network);
}

/**
 * When the oldest invoice that still takes money on `network` was created: a watcher with no
 * cursor scans from there, not from the tip, so a payment made while no watcher ran is found.
 */
export async function oldestAcceptingCreatedAt(
  sql: Sql,
  network: NetworkId,
  now: Date,
): Promise<Date | undefined> {
  const [row] = await sql<{ at: Date | null }[]>`select min(created_at) as at from watched_options
    where network = ${network} and invoice_accepts(status, monitoring_until, ${now})`;
  return row?.at ? new Date(row.at) : undefined;
}
