// The zod schemas that validate invoice requests are the same ones /openapi.json is generated from.
import { z } from '@hono/zod-openapi';
import { expiryRangeMessage } from '../lib/expiry';
import { MoneyFormatError, parseKzt } from '../lib/money';

/** Max amount: 100 billion tenge. Anything larger is a typo or an attack, never a café bill. */
export const MAX_AMOUNT_TIYN = 10_000_000_000_000n;

// PostgreSQL text and jsonb refuse NUL and lone surrogates; refusing them here keeps a user's
// input from ever becoming a 5xx.
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what must be refused
const UNSAFE_TEXT = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
export const isSafeText = (s: string): boolean => !UNSAFE_TEXT.test(s);

export const safeString = (max: number) =>
  z
    .string()
    .max(max, `at most ${max} characters`)
    .refine(isSafeText, 'contains a NUL or an unpaired surrogate');

export const KztAmount = z
  .string({ error: 'amount must be a decimal string such as "15000.00"' })
  .superRefine((v, ctx) => {
    try {
      const tiyn = parseKzt(v);
      if (tiyn <= 0n) ctx.addIssue({ code: 'custom', message: 'amount must be greater than zero' });
      else if (tiyn > MAX_AMOUNT_TIYN)
        ctx.addIssue({ code: 'custom', message: 'amount must be at most 100000000000.00' });
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: e instanceof MoneyFormatError ? e.message : 'invalid amount' });
    }
  })
  .openapi({ example: '15000.00', description: 'Tenge with at most 2 decimals, as a string' });

/** A JSON value tree whose strings are storable; depth and size are checked separately. */
function checkJson(value: unknown, depth: number): string | undefined {
  if (depth > 10) return 'nested deeper than 10 levels';
  if (typeof value === 'string')
    return isSafeText(value) ? undefined : 'contains a NUL or an unpaired surrogate';
  if (Array.isArray(value)) {
    for (const v of value) {
      const e = checkJson(v, depth + 1);
      if (e) return e;
    }
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (!isSafeText(k)) return 'a key contains a NUL or an unpaired surrogate';
      const e = checkJson(v, depth + 1);
      if (e) return e;
    }
  } else if (typeof value === 'number' && !Number.isFinite(value)) {
    return 'numbers must be finite';
  }
  return undefined;
}

export const metadataSchema = (limitBytes: number) =>
  z
    .record(z.string(), z.unknown(), { error: 'metadata must be a JSON object' })
    .superRefine((v, ctx) => {
      if (Object.keys(v).length > 50) ctx.addIssue({ code: 'custom', message: 'at most 50 keys' });
      const err = checkJson(v, 0);
      // Measuring a tree that is too deep would overflow JSON.stringify's stack: that is a 500.
      if (err) {
        ctx.addIssue({ code: 'custom', message: err });
        return;
      }
      const size = new TextEncoder().encode(JSON.stringify(v)).byteLength;
      if (size > limitBytes)
        ctx.addIssue({ code: 'custom', message: `at most ${limitBytes} bytes of JSON (got ${size})` });
    })
    .openapi({ example: { table: '12' }, description: 'Your own key/value data, returned as given' });

export const createInvoiceSchema = (opts: { metadataLimitBytes: number; maxExpiryMinutes: number }) =>
  z
    .strictObject(
      {
        amount: KztAmount,
        currency: z.literal('KZT', { error: 'only KZT is accepted' }).openapi({ example: 'KZT' }),
        orderId: safeString(200).min(1).optional().openapi({ example: 'A-1042' }),
        description: safeString(1000).optional().openapi({ example: 'Two lattes' }),
        metadata: metadataSchema(opts.metadataLimitBytes).optional(),
        options: z
          .array(z.string().max(64), { error: 'options must be an array of "ASSET@network" strings' })
          .min(1)
          .max(20)
          .optional()
          .openapi({ example: ['BTC@bitcoin-regtest', 'LTC@litecoin-regtest'] }),
        expiresInMinutes: z
          .number({ error: 'expiresInMinutes must be a whole number of minutes' })
          .int('expiresInMinutes must be a whole number of minutes')
          .min(1, `expiresInMinutes ${expiryRangeMessage(opts.maxExpiryMinutes)}`)
          .max(opts.maxExpiryMinutes, `expiresInMinutes ${expiryRangeMessage(opts.maxExpiryMinutes)}`)
          .optional()
          .openapi({ example: 15 }),
        redirectUrl: z
          .url({ protocol: /^https?$/, error: 'redirectUrl must be an http(s) URL' })
          .max(2000)
          .optional(),
        buyerEmail: z.email({ error: 'buyerEmail must be an e-mail address' }).max(320).optional(),
      },
      {
        error: (iss) =>
          iss.code === 'unrecognized_keys'
            ? `unknown field(s): ${iss.keys.join(', ')}`
            : 'the body must be a JSON object',
      },
    )
    .openapi('CreateInvoice');

export type CreateInvoiceInput = z.infer<ReturnType<typeof createInvoiceSchema>>;

const RateSchema = z.object({
  kztPerUnit: z.string().openapi({ example: '50000000' }),
  sources: z.array(z.object({ name: z.string(), value: z.string(), at: z.string() })),
  at: z.string(),
});

export const InvoiceSchema = z
  .object({
    id: z.string().openapi({ example: 'inv_01jd8x3q4m5n6p7r8s9t0v1w2x' }),
    status: z.enum(['new', 'processing', 'settled', 'expired', 'invalid']),
    additionalStatus: z.enum(['none', 'paid_partial', 'paid_over', 'paid_late']),
    review: z.enum(['none', 'held', 'released', 'rejected']),
    amount: z.string().openapi({ example: '15000.00' }),
    currency: z.string(),
    amountPaid: z.string(),
    orderId: z.string().nullable(),
    description: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    createdAt: z.string(),
    expiresAt: z.string(),
    checkoutUrl: z.string(),
    redirectUrl: z.string().nullable(),
    paymentOptions: z.array(
      z.object({
        option: z.string().openapi({ example: 'BTC@bitcoin-regtest' }),
        asset: z.string(),
        network: z.string(),
        address: z.string(),
        amount: z.string().openapi({ example: '0.0003' }),
        amountAtomic: z.string().openapi({ example: '30000' }),
        decimals: z.number().int(),
        rate: RateSchema,
        uri: z.string(),
        expiresAt: z.string(),
        derivationIndex: z.number().int().nullable(),
      }),
    ),
    payments: z.array(
      z.object({
        id: z.string(),
        option: z.string(),
        txid: z.string(),
        index: z.number().int(),
        from: z.array(z.string()),
        amount: z.string(),
        amountAtomic: z.string(),
        amountKzt: z.string(),
        confirmations: z.number().int(),
        status: z.enum(['seen', 'confirmed', 'reorged', 'replaced']),
        seenAt: z.string(),
        confirmedAt: z.string().nullable(),
        /** Paid after the invoice stopped taking money: kept and screened, never counted. */
        unattributed: z.literal(true).optional(),
      }),
    ),
  })
  .openapi('Invoice');

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().openapi({ example: 'validation_failed' }),
    requestId: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

export const ListQuerySchema = z.object({
  status: z.enum(['new', 'processing', 'settled', 'expired', 'invalid']).optional(),
  limit: z
    .string()
    .regex(/^[0-9]{1,3}$/, 'limit must be a whole number from 1 to 100')
    .transform(Number)
    .refine((n) => n >= 1 && n <= 100, 'limit must be a whole number from 1 to 100')
    .optional(),
  cursor: z.string().max(100).optional(),
  orderId: safeString(200).optional(),
});
