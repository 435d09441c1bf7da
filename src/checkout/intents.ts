// POST /v1/checkout/{id}/intents (SPEC section 6): the one-click browser-wallet path. Public (the
// invoice id is the capability), so it signs only what the invoice already says: the amount still due
// at the locked rate, to the merchant payout address recorded with the option, for one payer, until
// the invoice expires (15 minutes at most). The payer is screened BEFORE anything is signed.
import { createRoute, z } from '@hono/zod-openapi';
import { getAddress, ZeroAddress } from 'ethers';
import type { PaymentIntent } from '../../contracts/intent';
import { invoiceKey } from '../chains/evm/deposit';
import { isEvmAddress } from '../chains/evm/env';
import {
  approveCalldata,
  payCalldata,
  payWithPermitCalldata,
  permitTypedData,
  readAllowance,
  readPermitNonce,
  tokenPermitDomain,
} from '../chains/evm/intents';
import { NETWORKS, parseOption } from '../chains/networks';
import { newApi } from '../http/api';
import { problemResponses } from '../http/openapi';
import { clientAddress } from '../http/ratelimit';
import { takeRequest } from '../http/request-limits';
import { loadInvoice } from '../invoices/repository';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../lib/errors';
import { isId } from '../lib/ids';
import { parseDecimal, quoteAtomic } from '../lib/money';
import type { Services } from '../services';

/**
 * Intent requests allowed per minute for one invoice and from one client address. The endpoint is
 * public and each request screens the payer (a screening row, and an audit entry when refused), so
 * it must not be a way to flood the compliance records. A real payer asks once or twice.
 */
export const INTENTS_PER_INVOICE = 10;
export const INTENTS_PER_ADDRESS = 30;
export const INTENT_LIMIT_WINDOW_SECONDS = 60;

/** How long an intent stays valid at most (the invoice's expiry may cut it shorter). */
export const INTENT_TTL_MS = 15 * 60_000;

/** Screening refused the payer. Says nothing about why (no tipping-off, no list details). */
export class PayerRejectedError extends AppError {
  override name = 'PayerRejectedError' as const;
  constructor() {
    super('payer_rejected', 'this address cannot pay this invoice; pay from another wallet', { status: 403 });
  }
}

export class IntentsUnavailableError extends AppError {
  override name = 'IntentsUnavailableError' as const;
  constructor(detail: string) {
    super('intents_unavailable', detail, { status: 503 });
  }
}

const uint = (max: number) =>
  z.string().regex(new RegExp(`^(0|[1-9][0-9]{0,${max - 1}})$`), 'expected a whole number');

export const IntentRequestSchema = z
  .object({
    option: z.string().min(3).max(64).openapi({ example: 'USDC@anvil' }),
    payer: z
      .string()
      .max(42)
      .refine(
        isEvmAddress,
        'expected an EVM address (0x and 40 hex digits; mixed case must be a valid checksum)',
      )
      .openapi({ example: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' }),
    permit: z
      .object({
        deadline: uint(20).openapi({ description: 'The permit deadline the payer signed (unix seconds)' }),
        signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'expected a 65-byte signature in hex'),
        value: uint(78)
          .optional()
          .openapi({ description: 'The permit value signed; must equal the amount due' }),
      })
      .strict()
      .optional()
      .openapi({ description: 'An EIP-2612 permit signed by the payer: the answer is then payWithPermit' }),
  })
  .strict();
export type IntentRequest = z.infer<typeof IntentRequestSchema>;

const TypedDataSchema = z.object({
  domain: z.record(z.string(), z.unknown()),
  types: z.record(z.string(), z.array(z.object({ name: z.string(), type: z.string() }))),
  primaryType: z.string(),
  message: z.record(z.string(), z.string()),
});

export const IntentResponseSchema = z
  .object({
    chainId: z.number().int(),
    to: z.string().openapi({ description: 'The PaymentRouter' }),
    data: z.string().openapi({ description: 'Calldata of pay(intent, signature) or payWithPermit(…)' }),
    value: z.string().openapi({ description: 'Wei to attach (decimal); "0" for tokens' }),
    deadline: z.string().openapi({ description: 'When the intent stops being accepted (ISO 8601)' }),
    intent: z.object({
      invoiceId: z.string(),
      payer: z.string(),
      token: z.string(),
      amount: z.string(),
      recipient: z.string(),
      deadline: z.string(),
    }),
    signature: z.string(),
    approval: z
      .object({
        token: z.string(),
        spender: z.string(),
        amount: z.string(),
        allowance: z.string().nullable(),
        needed: z.boolean().nullable(),
        to: z.string(),
        data: z.string(),
      })
      .optional()
      .openapi({ description: 'Tokens: the approve transaction to send first when the allowance is short' }),
    permit: TypedDataSchema.optional().openapi({
      description:
        'Tokens: EIP-2612 typed data to sign instead of approving; send the signature back as `permit`',
    }),
  })
  .openapi('PaymentIntent');
export type IntentResponse = z.infer<typeof IntentResponseSchema>;

/** Builds, screens and signs an intent for `invoiceId`. Throws the problem the route answers with. */
export async function createPaymentIntent(
  services: Services,
  invoiceId: string,
  req: IntentRequest,
  now = new Date(),
): Promise<IntentResponse> {
  const inv = isId('inv', invoiceId) ? await loadInvoice(services.sql, invoiceId) : undefined;
  if (!inv) throw new NotFoundError('invoice', 'invoice_not_found');
  if (inv.status !== 'new' || now.getTime() >= inv.expiresAt.getTime()) {
    const state = inv.status === 'new' ? 'expired' : inv.status;
    throw new ConflictError('invoice_not_payable', `this invoice is ${state} and takes no new payment`);
  }
  const id = parseOption(req.option);
  const o = inv.options.find((x) => x.option === req.option);
  if (!id || !o || NETWORKS[id.network].family !== 'evm') {
    throw new ValidationError(
      'this option cannot be paid from a browser wallet',
      [{ path: 'option', message: `${req.option} is not an EVM payment option of this invoice` }],
      'option_unavailable',
    );
  }
  const net = services.evm?.networks.get(id.network);
  const signer = services.evm?.signer;
  if (!net?.config.router || !signer) {
    throw new IntentsUnavailableError(`browser-wallet payments are not configured for ${id.network}`);
  }
  const router = net.config.router;
  const native = id.asset === NETWORKS[id.network].nativeAsset;
  const token = native ? ZeroAddress : String(o.details['tokenAddress'] ?? '');
  const payout = o.details['payout'];
  if ((!native && !isEvmAddress(token)) || typeof payout !== 'string' || !isEvmAddress(payout)) {
    throw new IntentsUnavailableError('this payment option has no payout or token address on record');
  }
  if (native && req.permit) {
    throw new ValidationError('a permit applies to tokens only', [
      { path: 'permit', message: `${id.asset} is the native coin: send it with the transaction` },
    ]);
  }

  // What is still owed, in this asset at its locked rate (rounded up, as the quote itself was).
  const dueTiyn = inv.amountTiyn - inv.amountPaidTiyn;
  if (dueTiyn <= 0n) throw new ConflictError('invoice_not_payable', 'this invoice is already paid');
  const amount =
    dueTiyn === inv.amountTiyn
      ? o.amountAtomic
      : quoteAtomic(dueTiyn, parseDecimal(o.rate.kztPerUnit), o.decimals);
  if (req.permit?.value !== undefined && BigInt(req.permit.value) !== amount) {
    throw new ConflictError(
      'amount_changed',
      `the amount due is now ${amount} (atomic units); ask for a new permit to sign`,
    );
  }
  const payer = getAddress(req.payer);

  // Screen first: nothing is signed for a payer that screening refuses.
  const verdict = await services.screening?.screenPayer({
    network: id.network,
    address: payer,
    invoiceId: inv.id,
    amountTiyn: dueTiyn,
    asset: id.asset,
  });
  if (verdict && !verdict.allowed) throw new PayerRejectedError();

  const deadlineMs = Math.min(inv.expiresAt.getTime(), now.getTime() + INTENT_TTL_MS);
  const intent: PaymentIntent = {
    invoiceId: invoiceKey(inv.id),
    payer,
    token,
    amount,
    recipient: getAddress(payout),
    deadline: BigInt(Math.floor(deadlineMs / 1000)),
  };
  const chainId = net.config.chainId;
  const signature = await signer.sign(chainId, router, intent);
  const data = req.permit
    ? payWithPermitCalldata(intent, signature, BigInt(req.permit.deadline), req.permit.signature)
    : payCalldata(intent, signature);

  const out: IntentResponse = {
    chainId,
    to: router,
    data,
    value: native ? amount.toString() : '0',
    deadline: new Date(Number(intent.deadline) * 1000).toISOString(),
    intent: {
      invoiceId: intent.invoiceId,
      payer,
      token,
      amount: amount.toString(),
      recipient: intent.recipient,
      deadline: intent.deadline.toString(),
    },
    signature,
  };
  if (native || req.permit) return out;

  // Token helpers are best effort: the signed transaction is valid without them.
  const [allowance, nonce, domain] = await Promise.allSettled([
    readAllowance(net.rpc, token, payer, router),
    readPermitNonce(net.rpc, token, payer),
    tokenPermitDomain(net.rpc, token, chainId),
  ]);
  const known = allowance.status === 'fulfilled' ? allowance.value : null;
  return {
    ...out,
    approval: {
      token,
      spender: router,
      amount: amount.toString(),
      allowance: known === null ? null : known.toString(),
      needed: known === null ? null : known < amount,
      to: token,
      data: approveCalldata(router, amount),
    },
    ...(nonce.status === 'fulfilled' && domain.status === 'fulfilled'
      ? {
          permit: permitTypedData(
            domain.value,
            payer,
            router,
            amount,
            nonce.value,
            intent.deadline,
          ) as unknown as z.infer<typeof TypedDataSchema>,
        }
      : {}),
  };
}

/** POST /v1/checkout/{id}/intents: a signed payment intent for a wallet payment (public). */
export function intentRoutes() {
  const app = newApi();
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/checkout/{id}/intents',
      operationId: 'createPaymentIntent',
      tags: ['Checkout'],
      security: [],
      summary: 'A signed payment intent for a browser wallet (EVM options)',
      description:
        'Screens the payer, then signs an EIP-712 intent for the amount still due. Send `to`/`data`/`value` ' +
        'from the payer address. For tokens, approve first (`approval`) or sign `permit` and call again with it.',
      request: {
        params: z.object({
          id: z
            .string()
            .max(64)
            .openapi({ param: { name: 'id', in: 'path' } }),
        }),
        body: { required: true, content: { 'application/json': { schema: IntentRequestSchema } } },
      },
      responses: {
        200: {
          description: 'The transaction to send',
          content: { 'application/json': { schema: IntentResponseSchema } },
        },
        ...problemResponses(403, 404, 409, 413, 415, 422, 429, 503),
      },
    }),
    async (c) => {
      const services = c.get('services');
      const invoiceId = c.req.valid('param').id;
      // The address first: one client cycling through invoice ids is stopped without a row per id.
      const address = clientAddress(c, services.config.TRUST_PROXY);
      await takeRequest(
        services.sql,
        [
          ...(address === 'unknown'
            ? []
            : [{ bucket: `intent-addr:${address}`, limit: INTENTS_PER_ADDRESS }]),
          { bucket: `intent-inv:${invoiceId}`, limit: INTENTS_PER_INVOICE },
        ],
        INTENT_LIMIT_WINDOW_SECONDS,
        'payment intent requests',
      );
      const out = await createPaymentIntent(services, invoiceId, c.req.valid('json'));
      c.header('Cache-Control', 'no-store');
      return c.json(out, 200);
    },
  );
  return app;
}
