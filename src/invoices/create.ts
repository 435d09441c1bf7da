// Creating an invoice: resolve the payment options, lock a quote per option (rounded up, SPEC
// section 3), derive addresses, and write the invoice, its options and `invoice.created` in one
// transaction — so a failure leaves nothing half-written.

import { ASSETS, type AssetId, NETWORKS, type PaymentOptionId, parseOption } from '../chains/networks';
import type { ChainAdapter } from '../chains/types';
import { reserveIndexes } from '../chains/utxo/adapter';
import { type FieldError, NotFoundError, ValidationError } from '../lib/errors';
import { newId } from '../lib/ids';
import { decimalToString, parseKzt, quoteAtomic } from '../lib/money';
import { getMerchant, type Merchant } from '../merchants/repository';
import type { RateSnapshot } from '../rates/types';
import type { Services } from '../services';
import { type Invoice, invoiceToJson, type PaymentOption, type RateSnapshotJson } from './repository';
import type { CreateInvoiceInput } from './schema';
import { buildEvent } from './state';

interface ResolvedOption {
  readonly id: PaymentOptionId;
  readonly adapter: ChainAdapter;
}

/** The options to offer: the requested ones (each checked) or the merchant's enabled ones that work here. */
export function resolveOptions(
  services: Services,
  merchant: Merchant,
  requested: readonly string[] | undefined,
): ResolvedOption[] {
  const errors: FieldError[] = [];
  const out: ResolvedOption[] = [];
  const explicit = requested !== undefined;
  const list = requested ?? merchant.enabledOptions;
  const seen = new Set<string>();
  for (const [i, text] of list.entries()) {
    const path = explicit ? `options[${i}]` : 'options';
    const id = parseOption(text);
    // Defaults that do not fit this gateway are skipped quietly; what the caller asked for is reported.
    const fail = (message: string) => {
      if (explicit) errors.push({ path, message });
    };
    if (!id) {
      fail(`unknown payment option "${text}"; use ASSET@network such as BTC@bitcoin-testnet4`);
      continue;
    }
    if (seen.has(id.option)) {
      fail(`${id.option} is listed twice`);
      continue;
    }
    seen.add(id.option);
    const net = NETWORKS[id.network];
    if (net.mode !== services.config.NETWORK_MODE) {
      fail(`${id.network} is not available in ${services.config.NETWORK_MODE} mode`);
      continue;
    }
    const adapter = services.adapters[net.family];
    if (!adapter) {
      fail(`${net.family === 'evm' ? 'EVM' : 'UTXO'} payments are not enabled on this gateway`);
      continue;
    }
    const why = adapter.unavailableReason(merchant, id);
    if (why) {
      fail(why);
      continue;
    }
    out.push({ id, adapter });
  }
  if (errors.length)
    throw new ValidationError('some payment options cannot be offered', errors, 'option_unavailable');
  if (out.length === 0) {
    throw new ValidationError(
      'no payment option is available for this merchant',
      [
        {
          path: 'options',
          message: `set an account key (xpub) or EVM payout address for a ${services.config.NETWORK_MODE} network first`,
        },
      ],
      'no_payment_options',
    );
  }
  return out;
}

export function rateToJson(s: RateSnapshot): RateSnapshotJson {
  return {
    kztPerUnit: decimalToString(s.kztPerUnit),
    at: new Date(s.atMs).toISOString(),
    chain: s.chain,
    sources: s.sources.map((x) => ({
      name: x.name,
      pair: x.pair,
      value: x.value,
      at: new Date(x.atMs).toISOString(),
    })),
  };
}

export interface CreateInvoiceOptions {
  /**
   * The request's Idempotency-Key (claimed `in_flight` by withIdempotency): marked done with the
   * 201 answer in the same statement that stores the invoice, so a process killed between the two
   * cannot leave a stored invoice behind a key that a retry would claim again (a second invoice).
   */
  readonly idempotencyKey?: string;
}

export async function createInvoice(
  services: Services,
  merchantId: string,
  input: CreateInvoiceInput,
  opts: CreateInvoiceOptions = {},
): Promise<Invoice> {
  const { sql } = services;
  const merchant = await getMerchant(sql, merchantId);
  if (!merchant) throw new NotFoundError('merchant');
  const options = resolveOptions(services, merchant, input.options);
  const amountTiyn = parseKzt(input.amount);
  const assets = [...new Set(options.map((o) => o.id.asset))] as AssetId[];
  const rates = await services.rates.getRates(assets);

  const now = new Date();
  const expiresAt = new Date(
    now.getTime() + (input.expiresInMinutes ?? merchant.invoiceExpiryMinutes) * 60_000,
  );
  const monitoringUntil = new Date(expiresAt.getTime() + merchant.monitoringWindowMinutes * 60_000);
  const invoiceId = newId('inv', now.getTime());

  const quoted = options.map((o) => {
    const rate = rates.get(o.id.asset)!;
    const decimals = ASSETS[o.id.asset].decimals;
    return { ...o, rate, decimals, amountAtomic: quoteAtomic(amountTiyn, rate.kztPerUnit, decimals) };
  });
  const base = {
    id: invoiceId,
    merchantId: merchant.id,
    status: 'new' as const,
    additionalStatus: 'none' as const,
    review: 'none' as const,
    amountTiyn,
    currency: 'KZT',
    amountPaidTiyn: 0n,
    orderId: input.orderId ?? null,
    description: input.description ?? null,
    metadata: input.metadata ?? {},
    redirectUrl: input.redirectUrl ?? null,
    buyerEmail: input.buyerEmail ?? null,
    speedPolicy: merchant.speedPolicy,
    paymentToleranceBp: merchant.paymentToleranceBp,
    cancelled: false,
    expiresAt,
    monitoringUntil,
    settledAt: null,
    eventSeq: 1,
    createdAt: now,
    updatedAt: now,
    payments: [],
  };

  // Two merchants (or a merchant's two key settings) on the same wallet key derive the same
  // addresses; an address already taken on its network is skipped, like a used index.
  for (let attempt = 1; ; attempt++) {
    // Indexes are reserved before the write (see reserveIndexes): short locks, never reused.
    const reserved = await reserveIndexes(
      sql,
      merchant.id,
      quoted.filter((o) => o.adapter.family === 'utxo').map((o) => o.id.network),
    );
    try {
      const stored: PaymentOption[] = [];
      for (const o of quoted) {
        const derivationIndex = reserved.get(o.id.network);
        const created = await o.adapter.createPaymentOption({
          tx: sql,
          merchant,
          invoiceId,
          option: o.id,
          amountAtomic: o.amountAtomic,
          decimals: o.decimals,
          label: merchant.name,
          // Not the order id: the URI is shown on the public checkout page.
          message: input.description ?? `Invoice ${invoiceId}`,
          ...(derivationIndex === undefined ? {} : { reservedIndex: derivationIndex }),
        });
        stored.push({
          option: o.id.option,
          asset: o.id.asset,
          network: o.id.network,
          address: created.address,
          amountAtomic: o.amountAtomic,
          decimals: o.decimals,
          rate: rateToJson(o.rate),
          uri: created.uri,
          expiresAt,
          derivationIndex: created.derivationIndex,
          details: created.details,
        });
      }
      stored.sort((a, b) => (a.option < b.option ? -1 : a.option > b.option ? 1 : 0)); // as loadInvoice orders them
      const invoice: Invoice = { ...base, options: stored };
      const event = buildEvent(services.state, invoice, 'invoice.created', 1);
      const optionRows = stored.map((o) => [
        invoiceId,
        o.option,
        o.asset,
        o.network,
        o.address,
        o.amountAtomic.toString(),
        o.decimals,
        sql.json(o.rate as never),
        o.uri,
        expiresAt,
        o.derivationIndex,
        sql.json(o.details as never),
      ]);
      const answer = sql.json(invoiceToJson(invoice, services.config.PUBLIC_URL) as never);
      // One statement, so one round trip and atomic by itself: the invoice, its options,
      // invoice.created and the idempotency answer are stored together or not at all (foreign keys
      // are checked at its end).
      await sql`with inv as (
          insert into invoices (id, merchant_id, amount_tiyn, currency, order_id, description, metadata,
            redirect_url, buyer_email, speed_policy, payment_tolerance_bp, expires_at, monitoring_until,
            event_seq, created_at, updated_at)
          values (${invoiceId}, ${merchant.id}, ${amountTiyn.toString()}, 'KZT', ${base.orderId},
            ${base.description}, ${sql.json(base.metadata as never)}, ${base.redirectUrl}, ${base.buyerEmail},
            ${merchant.speedPolicy}, ${merchant.paymentToleranceBp}, ${expiresAt}, ${monitoringUntil}, 1, ${now}, ${now})
          returning id),
        opts as (insert into payment_options (invoice_id, option, asset, network, address, amount_atomic, decimals,
            rate, uri, expires_at, derivation_index, details)
          values ${sql(optionRows as never)} returning 1),
        ev as (insert into outbox (event_id, merchant_id, invoice_id, type, seq, payload)
          values (${event.eventId}, ${merchant.id}, ${invoiceId}, 'invoice.created', 1, ${sql.json(event.payload as never)})
          returning 1),
        idem as (update idempotency_keys set state = 'done', response_status = 201, response_body = ${answer}
          where merchant_id = ${merchant.id} and key = ${opts.idempotencyKey ?? null} and state = 'in_flight'
          returning 1)
        select (select count(*) from inv) + (select count(*) from opts) + (select count(*) from ev)
          + (select count(*) from idem) as n`;
      return invoice;
    } catch (err) {
      if (attempt < MAX_ADDRESS_ATTEMPTS && isAddressTaken(err)) continue;
      throw err;
    }
  }
}

const MAX_ADDRESS_ATTEMPTS = 20;

function isAddressTaken(err: unknown): boolean {
  const e = err as { code?: string; constraint_name?: string };
  return e?.code === '23505' && e.constraint_name === 'payment_options_address';
}
