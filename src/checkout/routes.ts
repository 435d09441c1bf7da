// Public checkout API (SPEC section 6): reachable by anyone holding the unguessable invoice id, so it
// shows what a payer needs and nothing merchant-private (no metadata, buyer e-mail or order id).
import { createRoute, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { NETWORKS } from '../chains/networks';
import { newApi } from '../http/api';
import { problemResponses } from '../http/openapi';
import { type Invoice, loadInvoiceWithMerchantName } from '../invoices/repository';
import { InvoiceSchema } from '../invoices/schema';
import { requiredConfirmations } from '../invoices/state';
import { NotFoundError } from '../lib/errors';
import { isId } from '../lib/ids';
import { formatKzt, formatUnits, parseDecimal, quoteAtomic } from '../lib/money';
import type { Services } from '../services';

export function checkoutView(inv: Invoice, merchantName: string, now = new Date()) {
  const remainingTiyn = inv.amountTiyn > inv.amountPaidTiyn ? inv.amountTiyn - inv.amountPaidTiyn : 0n;
  const open = inv.status === 'new';
  const paid = inv.status === 'processing' || inv.status === 'settled';
  return {
    id: inv.id,
    status: inv.status,
    additionalStatus: inv.additionalStatus,
    // A payer sees only that the payment is being reviewed: never why, never a report.
    underReview: inv.review === 'held',
    merchant: { name: merchantName },
    description: inv.description,
    amount: formatKzt(inv.amountTiyn),
    amountPaid: formatKzt(inv.amountPaidTiyn),
    amountDue: formatKzt(remainingTiyn),
    currency: inv.currency,
    expiresAt: inv.expiresAt.toISOString(),
    serverTime: now.toISOString(),
    redirectUrl: paid ? inv.redirectUrl : null,
    paymentOptions: inv.options.map((o) => {
      const rate = parseDecimal(o.rate.kztPerUnit);
      // What is still owed, in this coin at its locked rate (rounded up, like the quote itself).
      const dueAtomic =
        remainingTiyn === 0n
          ? 0n
          : remainingTiyn === inv.amountTiyn
            ? o.amountAtomic
            : quoteAtomic(remainingTiyn, rate, o.decimals);
      const net = NETWORKS[o.network];
      return {
        option: o.option,
        asset: o.asset,
        network: o.network,
        chainId: net.chainId ?? null,
        address: o.address,
        amount: formatUnits(o.amountAtomic, o.decimals),
        amountAtomic: o.amountAtomic.toString(),
        amountDue: formatUnits(dueAtomic, o.decimals),
        amountDueAtomic: dueAtomic.toString(),
        decimals: o.decimals,
        kztPerUnit: o.rate.kztPerUnit,
        uri: o.uri,
        dueUri: open && dueAtomic !== o.amountAtomic ? replaceUriAmount(o.uri, dueAtomic, o.decimals) : o.uri,
        details: publicDetails(o.details),
      };
    }),
    payments: inv.payments.map((p) => ({
      option: p.option,
      txid: p.txid,
      amountKzt: formatKzt(p.amountTiyn),
      confirmations: p.confirmations,
      confirmationsRequired: requiredConfirmations(inv.speedPolicy, p.network, p.rbf),
      status: p.status,
      seenAt: p.seenAt.toISOString(),
    })),
  };
}

/** The browser wallet path needs token addresses; everything else in details stays internal. */
function publicDetails(d: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['tokenAddress', 'routerAddress']) if (d[k] !== undefined) out[k] = d[k];
  return out;
}

/** BIP21 carries a decimal `amount`; EIP-681 carries atomic `value`/`uint256`. */
function replaceUriAmount(uri: string, atomic: bigint, decimals: number): string {
  if (/^(bitcoin|litecoin):/.test(uri))
    return uri.replace(/([?&]amount=)[0-9.]+/, `$1${formatUnits(atomic, decimals)}`);
  return uri.replace(/([?&](?:value|uint256)=)[0-9.e+]+/, `$1${atomic.toString()}`);
}

export type CheckoutView = ReturnType<typeof checkoutView>;

export async function loadCheckout(services: Services, id: string): Promise<CheckoutView> {
  const found = isId('inv', id) ? await loadInvoiceWithMerchantName(services.sql, id) : undefined;
  if (!found) throw new NotFoundError('invoice', 'invoice_not_found');
  return checkoutView(found.invoice, found.merchantName);
}

const IdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' } }),
});

const Kzt = z.string().openapi({ example: '15000.00' });
const Atomic = z.string().regex(/^\d+$/).openapi({ description: 'Smallest units, as a decimal string' });
export const CheckoutSchema = z
  .object({
    id: z.string().openapi({ example: 'inv_01jd8x3q4m5n6p7r8s9t0v1w2x' }),
    status: InvoiceSchema.shape.status,
    additionalStatus: InvoiceSchema.shape.additionalStatus,
    underReview: z.boolean().openapi({ description: 'Being reviewed; never why' }),
    merchant: z.object({ name: z.string() }),
    description: z.string().nullable(),
    amount: Kzt,
    amountPaid: Kzt,
    amountDue: Kzt,
    currency: z.string(),
    expiresAt: z.string().datetime(),
    serverTime: z.string().datetime(),
    redirectUrl: z.string().nullable().openapi({ description: 'Set once the invoice is paid' }),
    paymentOptions: z.array(
      z.object({
        option: z.string(),
        asset: z.string(),
        network: z.string(),
        chainId: z.number().int().nullable(),
        address: z.string(),
        amount: z.string(),
        amountAtomic: Atomic,
        amountDue: z.string(),
        amountDueAtomic: Atomic,
        decimals: z.number().int(),
        kztPerUnit: z.string(),
        uri: z.string(),
        dueUri: z.string(),
        details: z
          .object({ tokenAddress: z.string().optional(), routerAddress: z.string().optional() })
          .openapi({ description: 'What a browser wallet needs for EVM tokens' }),
      }),
    ),
    payments: z.array(
      z.object({
        option: z.string(),
        txid: z.string(),
        amountKzt: Kzt,
        confirmations: z.number().int(),
        confirmationsRequired: z.number().int(),
        status: z.enum(['seen', 'confirmed', 'reorged', 'replaced']),
        seenAt: z.string().datetime(),
      }),
    ),
  })
  .openapi('Checkout');

/** The public checkout API: GET /v1/checkout/{id} and its event stream. */
export function checkoutRoutes() {
  const app = newApi();
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/checkout/{id}',
      operationId: 'getCheckout',
      tags: ['Checkout'],
      summary: "An invoice's public status for its checkout page",
      security: [],
      request: { params: IdParam },
      responses: {
        200: {
          description: 'Public checkout status',
          content: { 'application/json': { schema: CheckoutSchema } },
        },
        ...problemResponses(404),
      },
    }),
    async (c) => {
      const services = c.get('services');
      await services.checkInvoice?.(c.req.valid('param').id).catch(() => {});
      c.header('Cache-Control', 'no-store');
      return c.json(
        (await loadCheckout(services, c.req.valid('param').id)) as z.infer<typeof CheckoutSchema>,
        200,
      );
    },
  );

  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/v1/checkout/{id}/events',
    operationId: 'streamCheckoutEvents',
    tags: ['Checkout'],
    summary: 'Server-sent events: a `status` event (the Checkout object) at once and on every change',
    security: [],
    request: { params: IdParam },
    responses: {
      200: {
        description: 'An event stream that ends after a while (EventSource reconnects)',
        content: { 'text/event-stream': { schema: z.string() } },
      },
      ...problemResponses(404),
    },
  });
  // Server-sent events: the state is polled from PostgreSQL (LISTEN/NOTIFY is not delivered by the
  // embedded database), sent when it changes; the stream ends after a while and EventSource reconnects.
  app.get('/v1/checkout/:id/events', async (c) => {
    const services = c.get('services');
    const id = c.req.param('id');
    let last = JSON.stringify(await loadCheckout(services, id));
    c.header('Cache-Control', 'no-store');
    return streamSSE(c, async (stream) => {
      let seq = 0;
      await stream.writeSSE({ event: 'status', data: last, id: String(seq++) });
      const until = Date.now() + services.config.SSE_MAX_SECONDS * 1000;
      while (!stream.aborted && Date.now() < until) {
        await stream.sleep(services.config.SSE_POLL_MS);
        await services.checkInvoice?.(id).catch(() => {});
        const now = JSON.stringify(await loadCheckout(services, id));
        // serverTime changes every poll; compare without it.
        if (now.replace(/"serverTime":"[^"]*"/, '') !== last.replace(/"serverTime":"[^"]*"/, '')) {
          last = now;
          await stream.writeSSE({ event: 'status', data: now, id: String(seq++) });
        } else {
          await stream.write(': keep-alive\n\n');
        }
      }
    });
  });
  return app;
}
