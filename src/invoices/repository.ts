// Reading invoices with their options and payments, and the one public shape (SPEC section 6)
// that the API, webhooks and checkout all serialise from.
import { ASSETS, type AssetId, type NetworkId } from '../chains/networks';
import { type Queryable, toBigInt } from '../db/client';
import { formatKzt, formatUnits } from '../lib/money';

export type InvoiceStatus = 'new' | 'processing' | 'settled' | 'expired' | 'invalid';
export type AdditionalStatus = 'none' | 'paid_partial' | 'paid_over' | 'paid_late';
export type ReviewStatus = 'none' | 'held' | 'released' | 'rejected';
export type PaymentStatus = 'seen' | 'confirmed' | 'reorged' | 'replaced';
export type SpeedPolicy = 'high' | 'medium' | 'low-medium' | 'low';

export interface RateSnapshotJson {
  readonly kztPerUnit: string;
  readonly at: string;
  readonly chain: readonly string[];
  readonly sources: readonly { name: string; pair: string; value: string; at: string }[];
}

export interface PaymentOption {
  readonly option: string;
  readonly asset: AssetId;
  readonly network: NetworkId;
  readonly address: string;
  readonly amountAtomic: bigint;
  readonly decimals: number;
  readonly rate: RateSnapshotJson;
  readonly uri: string;
  readonly expiresAt: Date;
  readonly derivationIndex: number | null;
  readonly details: Record<string, unknown>;
}

export interface Payment {
  readonly id: string;
  readonly option: string;
  readonly network: NetworkId;
  readonly txid: string;
  readonly outputIndex: number;
  readonly fromAddresses: readonly string[];
  readonly amountAtomic: bigint;
  readonly amountTiyn: bigint;
  readonly confirmations: number;
  readonly blockHash: string | null;
  readonly blockHeight: bigint | null;
  readonly rbf: boolean;
  readonly status: PaymentStatus;
  readonly seenAt: Date;
  readonly confirmedAt: Date | null;
  /**
   * Paid to the invoice's address after it stopped taking money (cancelled, or past its monitoring
   * window): recorded and screened, never counted towards its status (SPEC section 7).
   */
  readonly unattributed?: boolean;
}

export interface Invoice {
  readonly id: string;
  readonly merchantId: string;
  readonly status: InvoiceStatus;
  readonly additionalStatus: AdditionalStatus;
  readonly review: ReviewStatus;
  readonly amountTiyn: bigint;
  readonly currency: string;
  readonly amountPaidTiyn: bigint;
  readonly orderId: string | null;
  readonly description: string | null;
  readonly metadata: Record<string, unknown>;
  readonly redirectUrl: string | null;
  readonly buyerEmail: string | null;
  readonly speedPolicy: SpeedPolicy;
  readonly paymentToleranceBp: number;
  readonly cancelled: boolean;
  readonly expiresAt: Date;
  readonly monitoringUntil: Date;
  readonly settledAt: Date | null;
  readonly eventSeq: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly options: readonly PaymentOption[];
  readonly payments: readonly Payment[];
}

// biome-ignore lint/suspicious/noExplicitAny: raw rows from postgres.js
type Row = Record<string, any>;

export function invoiceFromRows(r: Row, options: Row[], payments: Row[]): Invoice {
  return {
    id: r.id,
    merchantId: r.merchant_id,
    status: r.status,
    additionalStatus: r.additional_status,
    review: r.review,
    amountTiyn: toBigInt(r.amount_tiyn),
    currency: r.currency,
    amountPaidTiyn: toBigInt(r.amount_paid_tiyn),
    orderId: r.order_id,
    description: r.description,
    metadata: r.metadata ?? {},
    redirectUrl: r.redirect_url,
    buyerEmail: r.buyer_email,
    speedPolicy: r.speed_policy,
    paymentToleranceBp: r.payment_tolerance_bp,
    cancelled: r.cancelled,
    expiresAt: new Date(r.expires_at),
    monitoringUntil: new Date(r.monitoring_until),
    settledAt: r.settled_at ? new Date(r.settled_at) : null,
    eventSeq: r.event_seq,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    options: options.map(optionFromRow),
    payments: payments.map(paymentFromRow),
  };
}

export function optionFromRow(o: Row): PaymentOption {
  return {
    option: o.option,
    asset: o.asset,
    network: o.network,
    address: o.address,
    amountAtomic: toBigInt(o.amount_atomic),
    decimals: o.decimals,
    rate: o.rate,
    uri: o.uri,
    expiresAt: new Date(o.expires_at),
    derivationIndex: o.derivation_index,
    details: o.details ?? {},
  };
}

export function paymentFromRow(p: Row): Payment {
  return {
    id: p.id,
    option: p.option,
    network: p.network,
    txid: p.txid,
    outputIndex: p.output_index,
    fromAddresses: p.from_addresses ?? [],
    amountAtomic: toBigInt(p.amount_atomic),
    amountTiyn: toBigInt(p.amount_tiyn),
    confirmations: p.confirmations,
    blockHash: p.block_hash,
    blockHeight: p.block_height == null ? null : toBigInt(p.block_height),
    rbf: p.rbf,
    status: p.status,
    seenAt: new Date(p.seen_at),
    confirmedAt: p.confirmed_at ? new Date(p.confirmed_at) : null,
    unattributed: p.unattributed === true,
  };
}

/**
 * Loads one invoice; `forUpdate` locks its row for the state machine. Scoped to a merchant when given.
 *
 * A plain read is one statement (the invoice with its options and payments, from one snapshot): on a
 * fresh connection, as every Workers request has, each distinct parameterized statement costs two
 * round trips (postgres.js describes it before its first run), so three statements were six. A locked
 * read keeps three: the children must be read after the lock is granted, and a single statement's
 * subqueries would see the snapshot taken before it waited for the lock.
 */
export async function loadInvoice(
  q: Queryable,
  id: string,
  opts: { merchantId?: string; forUpdate?: boolean } = {},
): Promise<Invoice | undefined> {
  const scope = opts.merchantId === undefined ? q`` : q`and i.merchant_id = ${opts.merchantId}`;
  if (!opts.forUpdate) {
    const [row] = await q`select i.*, ${invoiceChildren(q)} from invoices i where i.id = ${id} ${scope}`;
    return row ? invoiceFromJoined(row) : undefined;
  }
  const [row] = await q`select * from invoices i where i.id = ${id} ${scope} for update`;
  if (!row) return undefined;
  const [options, payments] = await Promise.all([
    q`select * from payment_options where invoice_id = ${id} order by option`,
    q`select * from payments where invoice_id = ${id} order by seen_at, id`,
  ]);
  return invoiceFromRows(row, [...options], [...payments]);
}

/** One invoice and its merchant's name in one statement (the public checkout view). */
export async function loadInvoiceWithMerchantName(
  q: Queryable,
  id: string,
): Promise<{ invoice: Invoice; merchantName: string } | undefined> {
  const [row] = await q`select i.*, ${invoiceChildren(q)},
      (select m.name from merchants m where m.id = i.merchant_id) as merchant_name
    from invoices i where i.id = ${id}`;
  return row ? { invoice: invoiceFromJoined(row), merchantName: row.merchant_name ?? '' } : undefined;
}

/**
 * The children of invoice `i` as JSON arrays, in the order loadInvoices reads them. Every column comes
 * through to_jsonb (a column added later comes with it); the numeric and int8 ones are overridden as
 * text, since a JSON number would lose digits (amounts in wei exceed 2^53).
 */
function invoiceChildren(q: Queryable) {
  return q`(select coalesce(json_agg(to_jsonb(o)
        || jsonb_build_object('amount_atomic', o.amount_atomic::text) order by o.option), '[]')
      from payment_options o where o.invoice_id = i.id) as options_json,
    (select coalesce(json_agg(to_jsonb(p) || jsonb_build_object(
          'amount_atomic', p.amount_atomic::text,
          'amount_tiyn', p.amount_tiyn::text,
          'block_height', p.block_height::text) order by p.seen_at, p.id), '[]')
      from payments p where p.invoice_id = i.id) as payments_json`;
}

function invoiceFromJoined(row: Row): Invoice {
  return invoiceFromRows(row, row.options_json as Row[], row.payments_json as Row[]);
}

/** Loads many invoices with their children in three queries (list endpoints). */
export async function loadInvoices(q: Queryable, rows: Row[]): Promise<Invoice[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id as string);
  const [options, payments] = await Promise.all([
    q`select * from payment_options where invoice_id in ${q(ids)} order by option`,
    q`select * from payments where invoice_id in ${q(ids)} order by seen_at, id`,
  ]);
  const byInv = (list: readonly Row[]) => {
    const m = new Map<string, Row[]>();
    for (const x of list) {
      const arr = m.get(x.invoice_id) ?? [];
      arr.push(x);
      m.set(x.invoice_id, arr);
    }
    return m;
  };
  const o = byInv(options);
  const p = byInv(payments);
  return rows.map((r) => invoiceFromRows(r, o.get(r.id) ?? [], p.get(r.id) ?? []));
}

export interface InvoiceJson {
  id: string;
  status: InvoiceStatus;
  additionalStatus: AdditionalStatus;
  review: ReviewStatus;
  amount: string;
  currency: string;
  amountPaid: string;
  orderId: string | null;
  description: string | null;
  metadata: Record<string, unknown>;
  createdAt: string;
  expiresAt: string;
  checkoutUrl: string;
  redirectUrl: string | null;
  paymentOptions: unknown[];
  payments: unknown[];
}

/** The invoice as SPEC section 6 names it. `review` is what the merchant may see: never a report. */
export function invoiceToJson(inv: Invoice, publicUrl: string): InvoiceJson {
  return {
    id: inv.id,
    status: inv.status,
    additionalStatus: inv.additionalStatus,
    review: inv.review,
    amount: formatKzt(inv.amountTiyn),
    currency: inv.currency,
    amountPaid: formatKzt(inv.amountPaidTiyn),
    orderId: inv.orderId,
    description: inv.description,
    metadata: inv.metadata,
    createdAt: inv.createdAt.toISOString(),
    expiresAt: inv.expiresAt.toISOString(),
    checkoutUrl: `${publicUrl}/pay/${inv.id}`,
    redirectUrl: inv.redirectUrl,
    paymentOptions: inv.options.map((o) => ({
      option: o.option,
      asset: o.asset,
      network: o.network,
      address: o.address,
      amount: formatUnits(o.amountAtomic, o.decimals),
      amountAtomic: o.amountAtomic.toString(),
      decimals: o.decimals,
      rate: {
        kztPerUnit: o.rate.kztPerUnit,
        sources: o.rate.sources.map(({ name, value, at }) => ({ name, value, at })),
        at: o.rate.at,
      },
      uri: o.uri,
      expiresAt: o.expiresAt.toISOString(),
      derivationIndex: o.derivationIndex,
    })),
    payments: inv.payments.map((p) => ({
      id: p.id,
      option: p.option,
      txid: p.txid,
      index: p.outputIndex,
      from: p.fromAddresses,
      amount: formatUnits(p.amountAtomic, ASSETS[optionAsset(p.option)]?.decimals ?? 0),
      amountAtomic: p.amountAtomic.toString(),
      amountKzt: formatKzt(p.amountTiyn),
      confirmations: p.confirmations,
      status: p.status,
      seenAt: p.seenAt.toISOString(),
      confirmedAt: p.confirmedAt ? p.confirmedAt.toISOString() : null,
      ...(p.unattributed ? { unattributed: true } : {}),
    })),
  };
}

function optionAsset(option: string): AssetId {
  return option.slice(0, option.indexOf('@')) as AssetId;
}

export interface InvoicePageQuery {
  readonly merchantId: string;
  readonly status?: InvoiceStatus | undefined;
  readonly orderId?: string | undefined;
  /** The last id of the previous page: ids sort by creation time, so the id is a stable keyset cursor. */
  readonly cursor?: string | undefined;
  readonly limit: number;
}

/** One merchant's invoices, newest first, a page at a time (GET /v1/invoices). */
export async function listInvoicePage(
  q: Queryable,
  f: InvoicePageQuery,
): Promise<{ invoices: Invoice[]; nextCursor: string | null }> {
  const rows = await q`select * from invoices where merchant_id = ${f.merchantId}
    ${f.status ? q`and status = ${f.status}` : q``}
    ${f.orderId ? q`and order_id = ${f.orderId}` : q``}
    ${f.cursor ? q`and id < ${f.cursor}` : q``}
    order by id desc limit ${f.limit + 1}`;
  const page = rows.slice(0, f.limit);
  return {
    invoices: await loadInvoices(q, [...page]),
    nextCursor: rows.length > f.limit ? (page[page.length - 1]!.id as string) : null,
  };
}
