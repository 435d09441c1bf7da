// Creating an invoice: resolve the payment options, lock a quote per option (rounded up, SPEC
// section 3), derive addresses, and write the invoice, its options and `invoice.created` in one
// transaction — so a failure leaves nothing half-written.

import { ASSETS, type AssetId, NETWORKS, type PaymentOptionId, parseOption } from '../chains/networks';
import type { ChainAdapter } from '../chains/types';
import { type DustScriptType, dustLimit } from '../chains/utxo/dust';
import type { IdempotencyClaim } from '../http/idempotency';
import { ConflictError, type FieldError, NotFoundError, ValidationError } from '../lib/errors';
import { newId } from '../lib/ids';
import { decimalToString, parseKzt, quoteAtomic } from '../lib/money';
import { getMerchant, type Merchant } from '../merchants/repository';
import type { RateSnapshot } from '../rates/types';
import type { Services } from '../services';
import {
  type Invoice,
  type InvoiceJson,
  invoiceToJson,
  type PaymentOption,
  type RateSnapshotJson,
} from './repository';
import type { CreateInvoiceInput } from './schema';
import { birthEvents } from './state';

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
   * The request's Idempotency-Key as withIdempotency claimed it: marked done with the 201 answer in
   * the same statement that stores the invoice, so a process killed between the two cannot leave a
   * stored invoice behind a key that a retry would claim again (a second invoice); and fenced by its
   * claim, so a retry that took the key over and this request cannot both store one.
   */
  readonly idempotency?: IdempotencyClaim;
  /** The merchant as authentication already loaded it (src/http/auth.ts); read otherwise. */
  readonly merchant?: Merchant;
}

export async function createInvoice(
  services: Services,
  merchantId: string,
  input: CreateInvoiceInput,
  opts: CreateInvoiceOptions = {},
): Promise<Invoice> {
  return (await createInvoiceWithJson(services, merchantId, input, opts)).invoice;
}

/** createInvoice, with the invoice's public shape it stored (so the API need not build it again). */
export async function createInvoiceWithJson(
  services: Services,
  merchantId: string,
  input: CreateInvoiceInput,
  opts: CreateInvoiceOptions = {},
): Promise<{ invoice: Invoice; json: InvoiceJson }> {
  const merchant = opts.merchant ?? (await getMerchant(services.sql, merchantId));
  if (!merchant || merchant.id !== merchantId) throw new NotFoundError('merchant');
  const options = resolveOptions(services, merchant, input.options);
  const amountTiyn = parseKzt(input.amount);
  const assets = [...new Set(options.map((o) => o.id.asset))] as AssetId[];
  const rates = await services.rates.getRates(assets);

  const now = new Date();
  const expiresAt = new Date(
    // A merchant default stored before the limit (or above a lowered one) is held to it too.
    now.getTime() +
      (input.expiresInMinutes ??
        Math.min(merchant.invoiceExpiryMinutes, services.config.INVOICE_EXPIRY_MAX_MINUTES)) *
        60_000,
  );
  const monitoringUntil = new Date(expiresAt.getTime() + merchant.monitoringWindowMinutes * 60_000);
  const invoiceId = newId('inv', now.getTime());

  const quoted = withoutDust(
    merchant,
    input.amount,
    options.map((o) => {
      const rate = rates.get(o.id.asset)!;
      const decimals = ASSETS[o.id.asset].decimals;
      return { ...o, rate, decimals, amountAtomic: quoteAtomic(amountTiyn, rate.kztPerUnit, decimals) };
    }),
  );
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
    // Addresses are reserved before the write (see reserveAddressBatch): short locks, never reused.
    const reserved = await services.invoices.reserveAddresses(
      merchant,
      quoted.filter((o) => o.adapter.family === 'utxo').map((o) => o.id.network),
    );
    try {
      const stored: PaymentOption[] = [];
      for (const o of quoted) {
        const address = reserved.get(o.id.network);
        const created = await o.adapter.createPaymentOption({
          tx: services.sql,
          merchant,
          invoiceId,
          option: o.id,
          amountAtomic: o.amountAtomic,
          decimals: o.decimals,
          label: merchant.name,
          // Not the order id: the URI is shown on the public checkout page.
          message: input.description ?? `Invoice ${invoiceId}`,
          ...(address === undefined ? {} : { reserved: address }),
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
      const answer = invoiceToJson(invoice, services.config.PUBLIC_URL);
      // The invoice, its options, invoice.created and the idempotency answer are stored together or
      // not at all (src/invoices/store.ts).
      await services.invoices.insert({
        invoice,
        birth: birthEvents(services.state, invoice, answer),
        idempotency: opts.idempotency,
        answer,
      });
      return { invoice, json: answer };
    } catch (err) {
      if (!isAddressTaken(err)) throw err;
      if (attempt < MAX_ADDRESS_ATTEMPTS) continue;
      // Keys are refused when another merchant has them (merchants/repository.ts), but one set before
      // that check can still hold this key's next addresses: say so, never a 500.
      throw new ConflictError(
        'addresses_unavailable',
        `the next ${MAX_ADDRESS_ATTEMPTS} addresses of this merchant's account key are already issued to other ` +
          'invoices; set an account key of your own wallet in the settings',
      );
    }
  }
}

const MAX_ADDRESS_ATTEMPTS = 20;

/**
 * Drops the UTXO options whose amount is below the network's dust limit for the merchant's address
 * type (chains/utxo/dust.ts): no wallet could pay them. None left: 422 naming `amount`.
 */
function withoutDust<T extends ResolvedOption & { amountAtomic: bigint }>(
  merchant: Merchant,
  amount: string,
  quoted: readonly T[],
): T[] {
  const kept: T[] = [];
  const dropped: string[] = [];
  for (const o of quoted) {
    const key = merchant.keys.find((k) => k.network === o.id.network);
    if (o.adapter.family === 'utxo' && key) {
      const limit = dustLimit(o.id.network, key.scriptType as DustScriptType);
      if (o.amountAtomic < limit) {
        dropped.push(`${o.id.option} needs at least ${limit} atomic units (its dust limit)`);
        continue;
      }
    }
    kept.push(o);
  }
  if (kept.length === 0) {
    throw new ValidationError(
      'the amount is too small for every payment option',
      [
        {
          path: 'amount',
          message: `${amount} KZT is below what the networks can carry: ${dropped.join('; ')}`,
        },
      ],
      'amount_too_small',
    );
  }
  return kept;
}

function isAddressTaken(err: unknown): boolean {
  const e = err as { code?: string; constraint_name?: string };
  return e?.code === '23505' && e.constraint_name === 'payment_options_address';
}
