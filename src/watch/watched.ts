// Which addresses the watchers watch, and which invoices still take money: the one place in code
// that asks (the rules themselves are SQL, migration 0012: the `watched_options` view and the
// `invoice_accepts` function). Every address the gateway ever issued stays watched (SPEC section 7):
// a payment to one whose invoice no longer takes money is recorded as unattributed and screened.

import type { AssetId, NetworkId } from '../chains/networks';
import type { Queryable, Sql } from '../db/client';
import { parseDecimal } from '../lib/money';
import type { WatchedOption } from './observe';

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
  const options = rows.map((r): WatchedOption => {
    newestCreatedMs = Math.max(newestCreatedMs, new Date(r.created_at).getTime());
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
  });
  return { options, newestCreatedMs };
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
