// Storing new invoices. One statement writes a whole batch — the invoices, their options, the events
// the state machine gave them at birth (birthEvents in ./state.ts) and their Idempotency-Key answers —
// so it is atomic by itself: each invoice is stored with all of its parts or not at all. Concurrent
// creations share it (src/lib/batch.ts): under load one commit serves many invoices instead of one
// each. A keyed invoice is stored only if its key is still held under the request's claim: a retry
// that took the key over fences the original out (src/http/idempotency.ts).
import type { NetworkId } from '../chains/networks';
import type { ReservedAddress } from '../chains/types';
import { type AddressRequest, reserveAddressBatch } from '../chains/utxo/adapter';
import { type DeriveMany, deriveInline } from '../chains/utxo/derive';
import type { Sql } from '../db/client';
import { oneRow } from '../db/errors';
import { type IdempotencyClaim, SupersededError } from '../http/idempotency';
import { createBatcher } from '../lib/batch';
import { ConflictError } from '../lib/errors';
import type { Merchant } from '../merchants/repository';
import type { Invoice, InvoiceJson } from './repository';
import type { OutboxRow } from './state';

export interface NewInvoice {
  readonly invoice: Invoice;
  /** What the state machine says the invoice is born with (birthEvents). */
  readonly birth: { readonly events: readonly OutboxRow[]; readonly eventSeq: number };
  /** The request's Idempotency-Key as it holds it, marked done with `answer` in the same statement. */
  readonly idempotency?: IdempotencyClaim | undefined;
  readonly answer: InvoiceJson;
}

/**
 * Writes the invoices in one statement (foreign keys are checked at its end). Answers, in order,
 * nothing for each invoice stored and a SupersededError for each whose key another claim now holds.
 */
export async function insertInvoices(
  sql: Sql,
  batch: readonly NewInvoice[],
): Promise<(undefined | SupersededError)[]> {
  const invoices = batch.map(({ invoice: i, birth, idempotency }) => ({
    id: i.id,
    merchant_id: i.merchantId,
    amount_tiyn: i.amountTiyn.toString(),
    order_id: i.orderId,
    description: i.description,
    metadata: i.metadata,
    redirect_url: i.redirectUrl,
    buyer_email: i.buyerEmail,
    speed_policy: i.speedPolicy,
    payment_tolerance_bp: i.paymentToleranceBp,
    expires_at: i.expiresAt,
    monitoring_until: i.monitoringUntil,
    event_seq: birth.eventSeq,
    created_at: i.createdAt,
    idem_key: idempotency?.key ?? null,
    idem_claim: idempotency?.claim ?? null,
  }));
  const options = batch.flatMap(({ invoice: i }) =>
    i.options.map((o) => ({
      invoice_id: i.id,
      option: o.option,
      asset: o.asset,
      network: o.network,
      address: o.address,
      amount_atomic: o.amountAtomic.toString(),
      decimals: o.decimals,
      rate: o.rate,
      uri: o.uri,
      expires_at: o.expiresAt,
      derivation_index: o.derivationIndex,
      details: o.details,
    })),
  );
  const events = batch.flatMap(({ birth }) => birth.events);
  const answers = batch.flatMap(({ invoice: i, idempotency, answer }) =>
    idempotency === undefined
      ? []
      : [{ merchant_id: i.merchantId, key: idempotency.key, claim: idempotency.claim, body: answer }],
  );
  // idem first: the invoices (and through them their options and events) are written only where
  // there is no key or the key was marked done under this request's claim.
  const rows = await sql<{ stored: string[] }[]>`with idem as (
      update idempotency_keys k set state = 'done', response_status = 201, response_body = x.body
      from jsonb_to_recordset(${sql.json(answers as never)}::jsonb)
        as x(merchant_id text, key text, claim text, body jsonb)
      where k.merchant_id = x.merchant_id and k.key = x.key and k.claim = x.claim and k.state = 'in_flight'
      returning k.merchant_id, k.key, k.claim),
    inv as (
      insert into invoices (id, merchant_id, amount_tiyn, currency, order_id, description, metadata,
        redirect_url, buyer_email, speed_policy, payment_tolerance_bp, expires_at, monitoring_until,
        event_seq, created_at, updated_at)
      select id, merchant_id, amount_tiyn, 'KZT', order_id, description, metadata, redirect_url, buyer_email,
        speed_policy, payment_tolerance_bp, expires_at, monitoring_until, event_seq, created_at, created_at
      from jsonb_to_recordset(${sql.json(invoices as never)}::jsonb) as x(id text, merchant_id text,
        amount_tiyn bigint, order_id text, description text, metadata jsonb, redirect_url text, buyer_email text,
        speed_policy text, payment_tolerance_bp int, expires_at timestamptz, monitoring_until timestamptz,
        event_seq int, created_at timestamptz, idem_key text, idem_claim text)
      where x.idem_key is null or exists (select 1 from idem
        where idem.merchant_id = x.merchant_id and idem.key = x.idem_key and idem.claim = x.idem_claim)
      returning id),
    opts as (
      insert into payment_options (invoice_id, option, asset, network, address, amount_atomic, decimals,
        rate, uri, expires_at, derivation_index, details)
      select invoice_id, option, asset, network, address, amount_atomic, decimals, rate, uri, expires_at,
        derivation_index, details
      from jsonb_to_recordset(${sql.json(options as never)}::jsonb) as x(invoice_id text, option text,
        asset text, network text, address text, amount_atomic numeric, decimals int, rate jsonb, uri text,
        expires_at timestamptz, derivation_index int, details jsonb)
      where x.invoice_id in (select id from inv)
      returning 1),
    ev as (
      insert into outbox (event_id, merchant_id, invoice_id, type, seq, payload)
      select event_id, merchant_id, invoice_id, type, seq, payload
      from jsonb_to_recordset(${sql.json(events as never)}::jsonb) as x(event_id text, merchant_id text,
        invoice_id text, type text, seq int, payload jsonb)
      where x.invoice_id in (select id from inv)
      returning 1)
    select array(select id from inv) as stored, (select count(*) from opts) + (select count(*) from ev) as n`;
  const stored = new Set(oneRow(rows).stored);
  return batch.map(({ invoice }) => (stored.has(invoice.id) ? undefined : new SupersededError()));
}

/** The writes of invoice creation, each batched across the requests in flight. */
export interface InvoiceStore {
  /** The next receive address of each network's key (see reserveAddressBatch). */
  reserveAddresses(
    merchant: Merchant,
    networks: readonly NetworkId[],
  ): Promise<Map<NetworkId, ReservedAddress>>;
  insert(invoice: NewInvoice): Promise<void>;
}

/** `derive`: where addresses are derived (inline, or a derivation thread on Node: derive-pool.ts). */
export function createInvoiceStore(sql: Sql, derive: DeriveMany = deriveInline): InvoiceStore {
  // A batch that fails as a whole (one invoice's address already taken, say) is retried one by one,
  // so each request gets its own answer.
  const addresses = createBatcher<AddressRequest, Map<NetworkId, ReservedAddress>>(
    (r) => reserveAddressBatch(sql, r, derive),
    { retryEachOnFailure: true },
  );
  const inserts = createBatcher<NewInvoice, void>((batch) => insertInvoices(sql, batch), {
    retryEachOnFailure: true,
  });
  return {
    reserveAddresses: (merchant, networks) => {
      if (networks.length === 0) return Promise.resolve(new Map());
      const keys = networks.map((network) => ({
        network,
        keyText: merchant.keys.find((k) => k.network === network)?.keyText,
      }));
      const missing = keys.filter((k) => k.keyText === undefined).map((k) => k.network);
      if (missing.length > 0)
        return Promise.reject(
          new ConflictError('option_unavailable', `no account key is set for ${missing.join(', ')}`, 422),
        );
      return addresses.load({ merchantId: merchant.id, keys: keys as AddressRequest['keys'] });
    },
    insert: (invoice) => inserts.load(invoice),
  };
}
