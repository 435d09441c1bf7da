// The one state machine (SPEC section 5). Nothing else changes an invoice's status: every change is
// written with its outbox event and its audit entry in the caller's transaction, so a crash can
// never leave a status without its webhook, or a webhook without its status.
//
// The status is derived from facts (payments, their confirmations, review, cancellation, time)
// rather than pushed step by step, so a re-scan, a reorg or a replayed payment always lands on the
// same answer and a payment can never count twice.

import { appendAudit } from '../audit/log';
import { NETWORKS, type NetworkId } from '../chains/networks';
import type { Sql, Tx } from '../db/client';
import { oneRow } from '../db/errors';
import { ConflictError, NotFoundError } from '../lib/errors';
import { newId } from '../lib/ids';
import { minimumAccepted } from '../lib/money';
import {
  type AdditionalStatus,
  type Invoice,
  type InvoiceJson,
  type InvoiceStatus,
  invoiceToJson,
  loadInvoice,
  type Payment,
  type PaymentStatus,
  type ReviewStatus,
  type SpeedPolicy,
} from './repository';

export const EVENT_TYPES = [
  'invoice.created',
  'invoice.processing',
  'invoice.settled',
  'invoice.expired',
  'invoice.invalid',
  'invoice.payment_received',
  'invoice.held',
  'invoice.released',
  'payment.reorged',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const CONFIRMATIONS: Readonly<Record<SpeedPolicy, number>> = {
  high: 0,
  medium: 1,
  'low-medium': 2,
  low: 6,
};

/** Confirmations a payment needs: `high` (0) only for UTXO payments that do not signal RBF. */
export function requiredConfirmations(policy: SpeedPolicy, network: NetworkId, rbf: boolean): number {
  const n = CONFIRMATIONS[policy];
  if (n === 0 && (NETWORKS[network].family !== 'utxo' || rbf)) return 1;
  return n;
}

export const isCounted = (p: Pick<Payment, 'status'>): boolean =>
  p.status === 'seen' || p.status === 'confirmed';

/** Counted towards the invoice's status: on chain and paid while the invoice took money. */
const countsForStatus = (p: Pick<Payment, 'status' | 'unattributed'>): boolean =>
  isCounted(p) && !p.unattributed;

export interface DerivedState {
  readonly status: InvoiceStatus;
  readonly additionalStatus: AdditionalStatus;
  readonly amountPaidTiyn: bigint;
}

/**
 * The status an invoice should have, given its facts. Pure: tested exhaustively on its own.
 * - paid in time (payments first seen before expiry) ≥ due − tolerance → processing, settled once
 *   every such payment has its confirmations and no review hold is open;
 * - otherwise new before expiry, expired after it;
 * - a cancelled or rejected invoice is invalid; a settled one stays settled while its money stays.
 */
export function deriveState(inv: Invoice, now: Date): DerivedState {
  const counted = inv.payments.filter(countsForStatus);
  const inTime = counted.filter((p) => p.seenAt.getTime() <= inv.expiresAt.getTime());
  const paidAll = counted.reduce((s, p) => s + p.amountTiyn, 0n);
  const paidInTime = inTime.reduce((s, p) => s + p.amountTiyn, 0n);
  const threshold = minimumAccepted(inv.amountTiyn, inv.paymentToleranceBp);
  const late = counted.some((p) => p.seenAt.getTime() > inv.expiresAt.getTime());
  // Nothing paid is never "paid enough", even when a 100 % tolerance makes the threshold zero.
  const paidEnough = paidInTime > 0n && paidInTime >= threshold;

  let status: InvoiceStatus;
  if (inv.cancelled || inv.review === 'rejected') {
    status = 'invalid';
  } else if (paidEnough) {
    const deep = inTime.filter(
      (p) => p.confirmations >= requiredConfirmations(inv.speedPolicy, p.network, p.rbf),
    );
    // A settled invoice stays settled while confirmed money still covers it (a later unconfirmed
    // extra payment does not undo it), but not once the money that settled it has left the chain.
    const deepPaid = deep.reduce((s, p) => s + p.amountTiyn, 0n);
    const keepsSettled = inv.status === 'settled' && deepPaid > 0n && deepPaid >= threshold;
    const confirmed = deep.length === inTime.length || keepsSettled;
    status = confirmed && inv.review !== 'held' ? 'settled' : 'processing';
  } else if (now.getTime() >= inv.expiresAt.getTime()) {
    status = 'expired';
  } else {
    status = 'new';
  }

  let additionalStatus: AdditionalStatus = 'none';
  if (status === 'processing' || status === 'settled' || (status === 'invalid' && paidEnough)) {
    additionalStatus = paidAll > inv.amountTiyn ? 'paid_over' : 'none';
  } else if (late) {
    additionalStatus = 'paid_late';
  } else if (paidAll > 0n) {
    additionalStatus = 'paid_partial';
  }
  return { status, additionalStatus, amountPaidTiyn: paidAll };
}

export interface StateDeps {
  readonly publicUrl: string;
}

export interface StateChangeOptions {
  readonly now?: Date;
  readonly actor?: string;
  readonly reason?: string;
}

/** An event row: the body that webhooks deliver, with the invoice as GET returns it. */
export function buildEvent(
  deps: StateDeps,
  inv: Invoice,
  type: EventType,
  seq: number,
  extra: Record<string, unknown> = {},
  /** The invoice's public shape when the caller has already made it. */
  invoiceJson: InvoiceJson = invoiceToJson(inv, deps.publicUrl),
) {
  return {
    eventId: newId('evt'),
    payload: {
      type,
      timestamp: new Date().toISOString(),
      data: { invoice: invoiceJson, sequence: seq, ...extra },
    },
  };
}

/** An outbox row as the state machine makes it: its type and its place in the invoice's sequence. */
export interface OutboxRow {
  readonly event_id: string;
  readonly merchant_id: string;
  readonly invoice_id: string;
  readonly type: EventType;
  readonly seq: number;
  readonly payload: unknown;
}

function outboxRow(inv: Invoice, type: EventType, seq: number, ev: ReturnType<typeof buildEvent>): OutboxRow {
  return {
    event_id: ev.eventId,
    merchant_id: inv.merchantId,
    invoice_id: inv.id,
    type,
    seq,
    payload: ev.payload,
  };
}

/**
 * What a new invoice is born with: its events (invoice.created, first in its sequence) and the
 * sequence number its row starts at. Invoice creation stores both in its one batched statement
 * (src/invoices/store.ts); every later event goes through emitEvent.
 */
export function birthEvents(
  deps: StateDeps,
  inv: Invoice,
  invoiceJson?: InvoiceJson,
): { readonly events: readonly OutboxRow[]; readonly eventSeq: number } {
  const created = buildEvent(deps, inv, 'invoice.created', 1, {}, invoiceJson);
  return { events: [outboxRow(inv, 'invoice.created', 1, created)], eventSeq: 1 };
}

export function insertEvent(
  tx: Tx,
  inv: Invoice,
  type: EventType,
  seq: number,
  ev: ReturnType<typeof buildEvent>,
) {
  const row = outboxRow(inv, type, seq, ev);
  return tx`insert into outbox (event_id, merchant_id, invoice_id, type, seq, payload)
    values (${row.event_id}, ${row.merchant_id}, ${row.invoice_id}, ${row.type}, ${row.seq},
      ${tx.json(row.payload as never)})`;
}

/** Writes one outbox event and bumps the invoice's event sequence. */
export async function emitEvent(
  tx: Tx,
  deps: StateDeps,
  inv: Invoice,
  type: EventType,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const { event_seq: seq } = oneRow(
    await tx<{ event_seq: number }[]>`
      update invoices set event_seq = event_seq + 1 where id = ${inv.id} returning event_seq`,
  );
  const ev = buildEvent(deps, inv, type, seq, extra);
  await insertEvent(tx, inv, type, seq, ev);
  return ev.eventId;
}

const STATUS_EVENT: Partial<Record<InvoiceStatus, EventType>> = {
  processing: 'invoice.processing',
  settled: 'invoice.settled',
  expired: 'invoice.expired',
  invalid: 'invoice.invalid',
};

/**
 * Re-derives the invoice's state inside `tx` (the row must already be locked by the caller or is
 * locked here), writes what changed, its event and its audit entry. Returns the invoice as stored.
 */
export async function applyState(
  tx: Tx,
  deps: StateDeps,
  invoiceId: string,
  opts: StateChangeOptions & {
    events?: readonly { type: EventType; extra?: Record<string, unknown> }[];
  } = {},
): Promise<Invoice> {
  const now = opts.now ?? new Date();
  const before = await loadInvoice(tx, invoiceId, { forUpdate: true });
  if (!before) throw new NotFoundError('invoice');
  const next = deriveState(before, now);
  const changed =
    next.status !== before.status ||
    next.additionalStatus !== before.additionalStatus ||
    next.amountPaidTiyn !== before.amountPaidTiyn;
  let after = before;
  if (changed) {
    await tx`update invoices set status = ${next.status}, additional_status = ${next.additionalStatus},
      amount_paid_tiyn = ${next.amountPaidTiyn.toString()}, updated_at = ${now},
      settled_at = ${next.status === 'settled' ? (before.settledAt ?? now) : null}
      where id = ${invoiceId}`;
    after = (await loadInvoice(tx, invoiceId))!;
  }
  for (const e of opts.events ?? []) {
    await emitEvent(tx, deps, after, e.type, e.extra);
  }
  if (next.status !== before.status) {
    const type = STATUS_EVENT[next.status];
    if (type) await emitEvent(tx, deps, after, type);
    await appendAudit(tx, {
      actor: opts.actor ?? 'system',
      action: 'invoice.status_changed',
      subject: invoiceId,
      data: {
        from: before.status,
        to: next.status,
        additionalStatus: next.additionalStatus,
        amountPaid: next.amountPaidTiyn.toString(),
        ...(opts.reason ? { reason: opts.reason } : {}),
      },
    });
  }
  return after;
}

export interface ObservedPayment {
  readonly invoiceId: string;
  readonly option: string;
  readonly network: NetworkId;
  readonly txid: string;
  readonly outputIndex: number;
  readonly fromAddresses: readonly string[];
  readonly amountAtomic: bigint;
  /** Its tenge value at the option's quoted rate. */
  readonly amountTiyn: bigint;
  readonly confirmations: number;
  readonly blockHash: string | null;
  readonly blockHeight: bigint | null;
  readonly rbf: boolean;
  readonly seenAt?: Date;
  /** Its invoice no longer takes money: recorded and screened, never counted (SPEC section 7). */
  readonly unattributed?: boolean;
}

export interface RecordResult {
  readonly invoice: Invoice;
  readonly paymentId: string;
  /** True only the first time this (network, txid, index) was seen. */
  readonly isNew: boolean;
}

/**
 * Records a payment seen on chain, or refreshes it. The unique key (network, txid, index) makes a
 * second sighting — another watcher, a restart, a re-scan — an update, never a second credit.
 * A payment that had left the chain and comes back (re-mined) is counted again, still once.
 */
/**
 * Screens a new payment inside its transaction, before the invoice's state is derived. When it
 * holds the invoice it must do so with `holdForReview` (which derives nothing), not `setReview`.
 */
export type ScreenHook = (tx: Tx, paymentId: string) => Promise<{ held: boolean }>;

export async function recordPayment(
  tx: Tx,
  deps: StateDeps,
  p: ObservedPayment,
  opts: StateChangeOptions & { screen?: ScreenHook | undefined } = {},
): Promise<RecordResult> {
  const now = opts.now ?? new Date();
  // Lock the invoice first: all writers of one invoice take its row lock in the same order.
  const [locked] = await tx`select id from invoices where id = ${p.invoiceId} for update`;
  if (!locked) throw new NotFoundError('invoice');
  const status: PaymentStatus = p.confirmations > 0 ? 'confirmed' : 'seen';
  const id = newId('pay');
  const rows = await tx<{ id: string; inserted: boolean; prev_status: string | null }[]>`
    with prev as (
      select status from payments where network = ${p.network} and txid = ${p.txid} and output_index = ${p.outputIndex}
    )
    insert into payments (id, invoice_id, option, network, txid, output_index, from_addresses, amount_atomic,
      amount_tiyn, confirmations, block_hash, block_height, rbf, status, seen_at, confirmed_at, updated_at,
      unattributed)
    values (${id}, ${p.invoiceId}, ${p.option}, ${p.network}, ${p.txid}, ${p.outputIndex},
      ${tx.array([...p.fromAddresses])}, ${p.amountAtomic.toString()}, ${p.amountTiyn.toString()},
      ${p.confirmations}, ${p.blockHash}, ${p.blockHeight === null ? null : p.blockHeight.toString()},
      ${p.rbf}, ${status}, ${p.seenAt ?? now}, ${status === 'confirmed' ? now : null}, ${now},
      ${p.unattributed === true})
    on conflict (network, txid, output_index) do update set
      confirmations = excluded.confirmations, block_hash = excluded.block_hash,
      block_height = excluded.block_height, status = excluded.status, updated_at = excluded.updated_at,
      confirmed_at = coalesce(payments.confirmed_at, excluded.confirmed_at)
    returning id, (xmax = 0) as inserted, (select status from prev) as prev_status`;
  const row = oneRow(rows);
  const isNew = row.inserted;
  const events: { type: EventType; extra?: Record<string, unknown> }[] = [];
  if (isNew)
    events.push({
      type: 'invoice.payment_received',
      extra: { paymentId: row.id, ...(p.unattributed ? { unattributed: true } : {}) },
    });
  // Screening runs before the state is derived, so a payment that arrives already confirmed from a
  // listed sender is held in the same step: the invoice never passes through settled first.
  if (isNew && opts.screen) {
    const { held } = await opts.screen(tx, row.id);
    if (held) events.push({ type: 'invoice.held' });
  }
  const invoice = await applyState(tx, deps, p.invoiceId, { ...opts, events });
  return { invoice, paymentId: row.id, isNew };
}

/** Updates confirmations of a known payment (the chain moved on) and re-derives the invoice. */
export async function confirmPayment(
  tx: Tx,
  deps: StateDeps,
  paymentId: string,
  confirmations: number,
  block: { hash: string | null; height: bigint | null },
  opts: StateChangeOptions = {},
): Promise<Invoice> {
  const [p] = await tx<{ invoice_id: string }[]>`select invoice_id from payments where id = ${paymentId}`;
  if (!p) throw new NotFoundError('payment');
  await tx`select id from invoices where id = ${p.invoice_id} for update`;
  const now = opts.now ?? new Date();
  await tx`update payments set confirmations = ${confirmations}, block_hash = ${block.hash},
    block_height = ${block.height === null ? null : block.height.toString()},
    status = ${confirmations > 0 ? 'confirmed' : 'seen'},
    confirmed_at = case when ${confirmations} > 0 then coalesce(confirmed_at, ${now}) else null end,
    updated_at = ${now}
    where id = ${paymentId} and status in ('seen', 'confirmed')`;
  return applyState(tx, deps, p.invoice_id, opts);
}

/**
 * A payment left the chain (reorg, double spend, replacement): it stops counting, the totals are
 * recomputed, the invoice moves back, and `payment.reorged` is written.
 */
export async function markPaymentGone(
  tx: Tx,
  deps: StateDeps,
  paymentId: string,
  reason: 'reorged' | 'replaced',
  opts: StateChangeOptions & { replacedBy?: string } = {},
): Promise<Invoice | undefined> {
  const [p] = await tx<{ invoice_id: string; status: string; txid: string }[]>`
    select invoice_id, status, txid from payments where id = ${paymentId}`;
  if (!p) throw new NotFoundError('payment');
  await tx`select id from invoices where id = ${p.invoice_id} for update`;
  const [updated] = await tx`update payments set status = ${reason}, confirmations = 0, block_hash = null,
    block_height = null, confirmed_at = null, updated_at = ${opts.now ?? new Date()}
    where id = ${paymentId} and status in ('seen', 'confirmed') returning id`;
  if (!updated) return undefined; // already gone: a second report changes nothing
  return applyState(tx, deps, p.invoice_id, {
    ...opts,
    reason: `payment ${p.txid} ${reason}`,
    events: [
      {
        type: 'payment.reorged',
        extra: { paymentId, reason, ...(opts.replacedBy ? { replacedBy: opts.replacedBy } : {}) },
      },
    ],
  });
}

/** A merchant cancels a `new` invoice that has received nothing (→ `invalid`). */
/** cancelInvoice in a transaction of its own (the API's cancel). */
export function cancelInvoiceNow(
  sql: Sql,
  deps: StateDeps,
  invoiceId: string,
  merchantId: string,
  opts: StateChangeOptions = {},
): Promise<Invoice> {
  return sql.begin((tx) => cancelInvoice(tx, deps, invoiceId, merchantId, opts));
}

export async function cancelInvoice(
  tx: Tx,
  deps: StateDeps,
  invoiceId: string,
  merchantId: string,
  opts: StateChangeOptions = {},
): Promise<Invoice> {
  const inv = await loadInvoice(tx, invoiceId, { merchantId, forUpdate: true });
  if (!inv) throw new NotFoundError('invoice', 'invoice_not_found');
  if (inv.status !== 'new') {
    throw new ConflictError(
      'invoice_not_cancellable',
      `only a new invoice can be cancelled; this one is ${inv.status}`,
    );
  }
  if (inv.payments.length > 0) {
    throw new ConflictError(
      'invoice_not_cancellable',
      'an invoice that has received a payment cannot be cancelled',
    );
  }
  await tx`update invoices set cancelled = true where id = ${invoiceId}`;
  return applyState(tx, deps, invoiceId, { ...opts, reason: opts.reason ?? 'cancelled by the merchant' });
}

/**
 * Compliance review (SPEC section 7): `held` keeps the invoice from settling, `released` lets it
 * settle, `rejected` makes it invalid. The merchant sees only these words, never a report.
 */
export async function setReview(
  tx: Tx,
  deps: StateDeps,
  invoiceId: string,
  review: Exclude<ReviewStatus, 'none'>,
  opts: StateChangeOptions = {},
): Promise<Invoice> {
  const inv = await loadInvoice(tx, invoiceId, { forUpdate: true });
  if (!inv) throw new NotFoundError('invoice');
  if (inv.review === review) return inv;
  await writeReview(tx, inv, review, opts);
  const events: { type: EventType }[] =
    review === 'held'
      ? [{ type: 'invoice.held' }]
      : review === 'released'
        ? [{ type: 'invoice.released' }]
        : [];
  return applyState(tx, deps, invoiceId, { ...opts, events });
}

/**
 * For a `ScreenHook` inside `recordPayment`: marks the invoice held (with its audit entry) and
 * leaves deriving the state and writing `invoice.held` to `recordPayment`, which does both once.
 * False when it was already held or is rejected (nothing to do).
 */
export async function holdForReview(
  tx: Tx,
  invoiceId: string,
  opts: StateChangeOptions = {},
): Promise<boolean> {
  const inv = await loadInvoice(tx, invoiceId, { forUpdate: true });
  if (!inv) throw new NotFoundError('invoice');
  if (inv.review === 'held' || inv.review === 'rejected') return false;
  await writeReview(tx, inv, 'held', opts);
  return true;
}

async function writeReview(
  tx: Tx,
  inv: Invoice,
  review: Exclude<ReviewStatus, 'none'>,
  opts: StateChangeOptions,
): Promise<void> {
  if (inv.review === 'rejected')
    throw new ConflictError('review_closed', 'a rejected invoice stays rejected');
  await tx`update invoices set review = ${review}, updated_at = ${opts.now ?? new Date()} where id = ${inv.id}`;
  await appendAudit(tx, {
    actor: opts.actor ?? 'system',
    action: `invoice.review_${review}`,
    subject: inv.id,
    data: { from: inv.review, to: review, ...(opts.reason ? { reason: opts.reason } : {}) },
  });
}

/** The expiry tick's unit of work: `new` invoices past their expiry, locked without waiting. */
export async function expireDue(
  sql: { begin: <T>(fn: (tx: Tx) => Promise<T>) => Promise<T> },
  deps: StateDeps,
  opts: { now?: Date; batch?: number } = {},
): Promise<number> {
  const now = opts.now ?? new Date();
  return sql.begin(async (tx) => {
    const rows = await tx<{ id: string }[]>`select id from invoices
      where status = 'new' and expires_at <= ${now}
      order by expires_at limit ${opts.batch ?? 100} for update skip locked`;
    for (const r of rows) await applyState(tx, deps, r.id, { now });
    return rows.length;
  });
}
