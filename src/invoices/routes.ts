// Merchant invoice API (SPEC section 6).
import { createRoute, z } from '@hono/zod-openapi';
import { newApi } from '../http/api';
import { merchantAuth } from '../http/auth';
import type { MerchantEnv } from '../http/env';
import {
  checkIdempotencyKey,
  type IdempotencyClaim,
  requestFingerprint,
  withIdempotency,
} from '../http/idempotency';
import { IDEMPOTENT_REPLAYED_HEADER, LOCATION_HEADER, problemResponses } from '../http/openapi';
import { NotFoundError, ValidationError } from '../lib/errors';
import { isId } from '../lib/ids';
import { createInvoiceWithJson } from './create';
import { invoiceToJson, listInvoicePage, loadInvoice } from './repository';
import { createInvoiceSchema, InvoiceSchema, ListQuerySchema } from './schema';
import { cancelInvoiceNow } from './state';

const security = [{ bearer: [] }];
const IdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'inv_01jd8x3q4m5n6p7r8s9t0v1w2x' }),
});

/** The merchant API's invoices: POST/GET /v1/invoices, GET /v1/invoices/{id}, POST …/cancel. */
export function invoiceRoutes(limits: { metadataLimitBytes: number; maxExpiryMinutes: number }) {
  const app = newApi<MerchantEnv>();
  // '/v1/invoices/*' also matches '/v1/invoices': registering both would authenticate twice.
  app.use('/v1/invoices/*', merchantAuth());

  const body = createInvoiceSchema(limits);

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/invoices',
      operationId: 'createInvoice',
      tags: ['Invoices'],
      summary: 'Create an invoice priced in tenge',
      security,
      request: {
        body: { required: true, content: { 'application/json': { schema: body } } },
        headers: z.object({
          'idempotency-key': z.string().optional().openapi({ description: 'Safe retries (IETF draft)' }),
        }),
      },
      responses: {
        201: {
          description: 'Created (or the stored answer to the same Idempotency-Key)',
          headers: { ...LOCATION_HEADER, ...IDEMPOTENT_REPLAYED_HEADER },
          content: { 'application/json': { schema: InvoiceSchema } },
        },
        ...problemResponses(400, 401, 409, 413, 415, 422, 503),
      },
    }),
    async (c) => {
      const services = c.get('services');
      const { merchantId } = c.get('principal');
      const input = c.req.valid('json');
      const key = checkIdempotencyKey(c.req.header('idempotency-key'));
      const run = async (held?: IdempotencyClaim) => {
        const { json } = await createInvoiceWithJson(services, merchantId, input, {
          merchant: c.get('merchant'),
          ...(held ? { idempotency: held } : {}),
        });
        // With a key, the invoice's own write stored this answer under it (src/invoices/store.ts).
        return { status: 201, body: json, stored: key !== undefined };
      };
      const res = key
        ? await withIdempotency(
            services.sql,
            merchantId,
            key,
            requestFingerprint('POST', '/v1/invoices', input),
            run,
          )
        : { ...(await run()), replayed: false };
      if (res.replayed) c.header('Idempotent-Replayed', 'true');
      c.header('Location', `/v1/invoices/${(res.body as { id: string }).id}`);
      return c.json(res.body as z.infer<typeof InvoiceSchema>, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/invoices/{id}',
      operationId: 'getInvoice',
      tags: ['Invoices'],
      summary: 'Get an invoice',
      security,
      request: { params: IdParam },
      responses: {
        200: { description: 'The invoice', content: { 'application/json': { schema: InvoiceSchema } } },
        ...problemResponses(401, 404),
      },
    }),
    async (c) => {
      const services = c.get('services');
      const { id } = c.req.valid('param');
      const inv = isId('inv', id)
        ? await loadInvoice(services.sql, id, { merchantId: c.get('principal').merchantId })
        : undefined;
      if (!inv) throw new NotFoundError('invoice', 'invoice_not_found');
      return c.json(invoiceToJson(inv, services.config.PUBLIC_URL) as z.infer<typeof InvoiceSchema>, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/invoices',
      operationId: 'listInvoices',
      tags: ['Invoices'],
      summary: 'List invoices, newest first',
      security,
      request: { query: ListQuerySchema },
      responses: {
        200: {
          description: 'A page of invoices',
          content: {
            'application/json': {
              schema: z.object({ data: z.array(InvoiceSchema), nextCursor: z.string().nullable() }),
            },
          },
        },
        ...problemResponses(401, 422),
      },
    }),
    async (c) => {
      const services = c.get('services');
      const { status, limit = 20, cursor, orderId } = c.req.valid('query');
      if (cursor !== undefined && !isId('inv', cursor)) {
        throw new ValidationError('invalid cursor', [
          { path: 'cursor', message: 'use the nextCursor of a previous page' },
        ]);
      }
      const page = await listInvoicePage(services.sql, {
        merchantId: c.get('principal').merchantId,
        status,
        orderId,
        cursor,
        limit,
      });
      return c.json(
        {
          data: page.invoices.map((i) => invoiceToJson(i, services.config.PUBLIC_URL)) as z.infer<
            typeof InvoiceSchema
          >[],
          nextCursor: page.nextCursor,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/invoices/{id}/cancel',
      operationId: 'cancelInvoice',
      tags: ['Invoices'],
      summary: 'Cancel a new invoice that has received no payment',
      security,
      request: { params: IdParam },
      responses: {
        200: {
          description: 'The invalidated invoice',
          content: { 'application/json': { schema: InvoiceSchema } },
        },
        ...problemResponses(401, 404, 409),
      },
    }),
    async (c) => {
      const services = c.get('services');
      const { id } = c.req.valid('param');
      if (!isId('inv', id)) throw new NotFoundError('invoice', 'invoice_not_found');
      const merchantId = c.get('principal').merchantId;
      const inv = await cancelInvoiceNow(services.sql, services.state, id, merchantId, {
        actor: `merchant:${merchantId}`,
      });
      return c.json(invoiceToJson(inv, services.config.PUBLIC_URL) as z.infer<typeof InvoiceSchema>, 200);
    },
  );
  return app;
}
