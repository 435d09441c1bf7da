// CSV exports of invoices and payments for accounting (RFC 4180, UTF-8 with a BOM so spreadsheet apps
// read Cyrillic right). Streamed page by page, so a year of invoices never sits in memory at once.
import { ASSETS, type AssetId } from '../chains/networks';
import type { Queryable } from '../db/client';
import { toBigInt } from '../db/client';
import { formatKzt, formatUnits } from '../lib/money';
import { type InvoiceFilters, invoiceFilterSql } from './queries';

/**
 * One CSV field. Quoted when it holds a comma, quote or line break; a leading =, +, -, @, tab or CR
 * gets an apostrophe so a spreadsheet shows it as text instead of running it as a formula. Amounts are
 * written by us as plain decimals and never start with those characters (no negative amounts exist).
 */
export function csvField(value: string | number | bigint | null | undefined): string {
  if (value === null || value === undefined) return '';
  let s = String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const csvRow = (fields: readonly (string | number | bigint | null | undefined)[]): string =>
  `${fields.map(csvField).join(',')}\r\n`;

const iso = (d: unknown) => (d ? new Date(d as string).toISOString() : '');

export const INVOICE_CSV_HEADER = [
  'id',
  'created_at',
  'status',
  'additional_status',
  'review',
  'amount_kzt',
  'amount_paid_kzt',
  'currency',
  'order_id',
  'description',
  'expires_at',
  'settled_at',
] as const;

export const PAYMENT_CSV_HEADER = [
  'invoice_id',
  'order_id',
  'payment_id',
  'option',
  'txid',
  'index',
  'amount',
  'amount_atomic',
  'amount_kzt',
  'confirmations',
  'status',
  'seen_at',
  'confirmed_at',
] as const;

type Filters = Omit<InvoiceFilters, 'limit' | 'after'>;

/** Pages of rows by descending id until none are left; `render` turns one row into a CSV line. */
function pagedCsv(
  header: readonly string[],
  // biome-ignore lint/suspicious/noExplicitAny: raw rows from postgres.js
  page: (after: string | null) => Promise<readonly Record<string, any>[]>,
  // biome-ignore lint/suspicious/noExplicitAny: raw rows from postgres.js
  render: (r: Record<string, any>) => string,
  cursorOf: (r: Record<string, unknown>) => string,
): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  let after: string | null = null;
  let started = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true;
        controller.enqueue(enc.encode(`\ufeff${csvRow(header)}`));
        return;
      }
      const rows = await page(after);
      if (rows.length === 0) {
        controller.close();
        return;
      }
      after = cursorOf(rows[rows.length - 1]!);
      controller.enqueue(enc.encode(rows.map(render).join('')));
    },
  });
}

export function invoicesCsv(q: Queryable, merchantId: string, f: Filters, pageSize = 1000) {
  return pagedCsv(
    INVOICE_CSV_HEADER,
    (after) => q`select * from invoices where ${invoiceFilterSql(q, merchantId, f)}
      ${after ? q`and id < ${after}` : q``} order by id desc limit ${pageSize}`,
    (r) =>
      csvRow([
        r.id,
        iso(r.created_at),
        r.status,
        r.additional_status,
        r.review,
        formatKzt(toBigInt(r.amount_tiyn)),
        formatKzt(toBigInt(r.amount_paid_tiyn)),
        r.currency,
        r.order_id,
        r.description,
        iso(r.expires_at),
        iso(r.settled_at),
      ]),
    (r) => r.id as string,
  );
}

/** Payments of the invoices the filters select (by invoice creation date), newest payment first. */
export function paymentsCsv(q: Queryable, merchantId: string, f: Filters, pageSize = 1000) {
  return pagedCsv(
    PAYMENT_CSV_HEADER,
    (after) => q`select p.*, i.order_id from payments p join invoices i on i.id = p.invoice_id
      where p.invoice_id in (select id from invoices where ${invoiceFilterSql(q, merchantId, f)})
      ${after ? q`and p.id < ${after}` : q``} order by p.id desc limit ${pageSize}`,
    (r) => {
      const asset = String(r.option).split('@')[0] as AssetId;
      const decimals = ASSETS[asset]?.decimals ?? 0;
      const atomic = toBigInt(r.amount_atomic);
      return csvRow([
        r.invoice_id,
        r.order_id,
        r.id,
        r.option,
        r.txid,
        r.output_index,
        formatUnits(atomic, decimals),
        atomic,
        formatKzt(toBigInt(r.amount_tiyn)),
        r.confirmations,
        r.status,
        iso(r.seen_at),
        iso(r.confirmed_at),
      ]);
    },
    (r) => r.id as string,
  );
}
