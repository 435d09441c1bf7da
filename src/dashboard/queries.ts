// What the dashboard reads: invoices with filters, an invoice's timeline, API keys, daily volume.
// Every query is scoped by the signed-in user's merchant id.
import type { Queryable } from '../db/client';
import { toBigInt } from '../db/client';
import type { Invoice, InvoiceStatus } from '../invoices/repository';
import { loadInvoice, loadInvoices } from '../invoices/repository';
import { isId } from '../lib/ids';

export const INVOICE_STATUSES: readonly InvoiceStatus[] = [
  'new',
  'processing',
  'settled',
  'expired',
  'invalid',
];
export const ALMATY = 'Asia/Almaty';

export interface InvoiceFilters {
  readonly status?: InvoiceStatus | undefined;
  /** Order id: exact, or a prefix when it ends with `*`. */
  readonly orderId?: string | undefined;
  /** Creation date range in Almaty, YYYY-MM-DD, both inclusive. */
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  /** Keyset cursor: the last invoice id of the previous page. */
  readonly after?: string | undefined;
  readonly limit: number;
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
export const isDay = (s: string | undefined): s is string =>
  !!s && DATE_RE.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`));

/** LIKE with the caller's text taken literally (%, _ and \ escaped). */
const likePrefix = (s: string) => `${s.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;

function filterSql(q: Queryable, merchantId: string, f: Omit<InvoiceFilters, 'limit' | 'after'>) {
  const order = f.orderId?.trim();
  return q`merchant_id = ${merchantId}
    ${f.status ? q`and status = ${f.status}` : q``}
    ${
      order
        ? order.endsWith('*')
          ? q`and order_id like ${likePrefix(order.slice(0, -1))}`
          : q`and order_id = ${order}`
        : q``
    }
    ${isDay(f.from) ? q`and created_at >= (${f.from}::date)::timestamp at time zone ${ALMATY}` : q``}
    ${isDay(f.to) ? q`and created_at < (${f.to}::date + 1)::timestamp at time zone ${ALMATY}` : q``}`;
}

export async function listInvoicesPage(
  q: Queryable,
  merchantId: string,
  f: InvoiceFilters,
): Promise<{ data: Invoice[]; next: string | null }> {
  const after = f.after && isId('inv', f.after) ? f.after : undefined;
  const rows = await q`select * from invoices where ${filterSql(q, merchantId, f)}
    ${after ? q`and id < ${after}` : q``}
    order by id desc limit ${f.limit + 1}`;
  const page = rows.slice(0, f.limit);
  return {
    data: await loadInvoices(q, [...page]),
    next: rows.length > f.limit ? (page[page.length - 1]!.id as string) : null,
  };
}

export interface TimelineDelivery {
  readonly id: string;
  readonly endpointId: string;
  readonly url: string;
  readonly status: string;
  readonly attemptCount: number;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly nextAttemptAt: Date | null;
}

export interface TimelineEvent {
  readonly eventId: string;
  readonly type: string;
  readonly at: Date;
  readonly deliveries: readonly TimelineDelivery[];
}

export interface InvoiceDetail {
  readonly invoice: Invoice;
  readonly events: readonly TimelineEvent[];
}

/** The invoice with its events (from the outbox) and each event's webhook deliveries. */
export async function invoiceDetail(
  q: Queryable,
  merchantId: string,
  invoiceId: string,
): Promise<InvoiceDetail | undefined> {
  if (!isId('inv', invoiceId)) return undefined;
  const invoice = await loadInvoice(q, invoiceId, { merchantId });
  if (!invoice) return undefined;
  const [events, deliveries] = await Promise.all([
    q<{ event_id: string; type: string; created_at: Date }[]>`select event_id, type, created_at from outbox
      where invoice_id = ${invoiceId} and merchant_id = ${merchantId} order by id`,
    q`select d.id, d.event_id, d.endpoint_id, d.status, d.attempt_count, d.last_status, d.last_error,
        d.next_attempt_at, e.url
      from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id
      where d.invoice_id = ${invoiceId} and d.merchant_id = ${merchantId} order by d.id`,
  ]);
  const byEvent = new Map<string, TimelineDelivery[]>();
  for (const d of deliveries) {
    const list = byEvent.get(d.event_id) ?? [];
    list.push({
      id: d.id,
      endpointId: d.endpoint_id,
      url: d.url,
      status: d.status,
      attemptCount: d.attempt_count,
      lastStatus: d.last_status,
      lastError: d.last_error,
      nextAttemptAt: d.status === 'pending' && d.next_attempt_at ? new Date(d.next_attempt_at) : null,
    });
    byEvent.set(d.event_id, list);
  }
  return {
    invoice,
    events: events.map((e) => ({
      eventId: e.event_id,
      type: e.type,
      at: new Date(e.created_at),
      deliveries: byEvent.get(e.event_id) ?? [],
    })),
  };
}

export interface ApiKeyRow {
  readonly id: string;
  readonly mode: string;
  readonly prefix: string;
  readonly label: string | null;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
  readonly revokedAt: Date | null;
}

export async function listApiKeys(q: Queryable, merchantId: string): Promise<ApiKeyRow[]> {
  const rows = await q`select id, mode, prefix, label, created_at, last_used_at, revoked_at from api_keys
    where merchant_id = ${merchantId} order by created_at desc, id desc`;
  return rows.map((r) => ({
    id: r.id,
    mode: r.mode,
    prefix: r.prefix,
    label: r.label,
    createdAt: new Date(r.created_at),
    lastUsedAt: r.last_used_at ? new Date(r.last_used_at) : null,
    revokedAt: r.revoked_at ? new Date(r.revoked_at) : null,
  }));
}

export interface DayVolume {
  /** YYYY-MM-DD in Almaty. */
  readonly day: string;
  readonly tiyn: bigint;
  readonly payments: number;
}

/** YYYY-MM-DD of `at` in Almaty. */
export function almatyDay(at: Date): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: ALMATY,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  })
    .format(at)
    .slice(0, 10);
}

/**
 * Tenge received per day (Almaty) over the last `days` days up to `now`, every day present (zero when
 * nothing came): payments that count (seen or confirmed) on invoices that are not invalid.
 */
export async function dailyVolume(
  q: Queryable,
  merchantId: string,
  days: number,
  now = new Date(),
): Promise<DayVolume[]> {
  const end = almatyDay(now);
  const rows = await q<{ day: string; tiyn: string; n: number }[]>`
    select to_char(p.seen_at at time zone ${ALMATY}, 'YYYY-MM-DD') as day,
      sum(p.amount_tiyn)::text as tiyn, count(*)::int as n
    from payments p join invoices i on i.id = p.invoice_id
    where i.merchant_id = ${merchantId} and p.status in ('seen', 'confirmed') and i.status <> 'invalid'
      and p.seen_at >= ((${end}::date - ${days - 1}::int)::timestamp at time zone ${ALMATY})
      and p.seen_at < ((${end}::date + 1)::timestamp at time zone ${ALMATY})
    group by 1`;
  const found = new Map(rows.map((r) => [r.day, r]));
  const out: DayVolume[] = [];
  const endMs = Date.parse(`${end}T00:00:00Z`);
  for (let i = days - 1; i >= 0; i--) {
    const day = new Date(endMs - i * 86_400_000).toISOString().slice(0, 10);
    const r = found.get(day);
    out.push({ day, tiyn: r ? toBigInt(r.tiyn) : 0n, payments: r?.n ?? 0 });
  }
  return out;
}

export interface Totals {
  readonly open: number;
  readonly paid: number;
  readonly paidTiyn: bigint;
}

/** Counts for the overview: open invoices, and paid ones (processing or settled) with their tenge. */
export async function invoiceTotals(q: Queryable, merchantId: string): Promise<Totals> {
  const [r] = await q<{ open: number; paid: number; paid_tiyn: string }[]>`
    select count(*) filter (where status = 'new')::int as open,
      count(*) filter (where status in ('processing', 'settled'))::int as paid,
      coalesce(sum(amount_paid_tiyn) filter (where status in ('processing', 'settled')), 0)::text as paid_tiyn
    from invoices where merchant_id = ${merchantId}`;
  return { open: r!.open, paid: r!.paid, paidTiyn: toBigInt(r!.paid_tiyn) };
}

export { filterSql as invoiceFilterSql };
