// Merchant webhook API (SPEC section 6): endpoints, their delivery log, redelivery, secret rotation.
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { newApi } from '../http/api';
import { merchantAuth } from '../http/auth';
import type { MerchantEnv } from '../http/env';
import { checkIdempotencyKey, requestFingerprint, withIdempotency } from '../http/idempotency';
import { IDEMPOTENT_REPLAYED_HEADER, LOCATION_HEADER, problemResponses } from '../http/openapi';
import { EVENT_TYPES } from '../invoices/state';
import { NotFoundError } from '../lib/errors';
import type { Services } from '../services';
import {
  createEndpoint,
  deleteEndpoint,
  type EndpointDeps,
  getEndpoint,
  listDeliveries,
  listEndpoints,
  redeliver,
  rotateSecret,
} from './repository';
import {
  CreatedWebhookSchema,
  CreateWebhookSchema,
  DeliveryListQuerySchema,
  deliveryToJson,
  endpointToJson,
  RotatedSecretSchema,
  WebhookDeliverySchema,
  WebhookEndpointSchema,
  webhookEventSchema,
} from './schema';

const security = [{ bearer: [] }];
const tags = ['Webhooks'];

const EndpointId = z
  .string()
  .max(64)
  .openapi({ param: { name: 'id', in: 'path' }, example: 'whk_01jd8x3q4m5n6p7r8s9t0v1w2x' });
const IdParam = z.object({ id: EndpointId });
const DeliveryParams = z.object({
  id: EndpointId,
  deliveryId: z
    .string()
    .max(64)
    .openapi({ param: { name: 'deliveryId', in: 'path' }, example: 'dlv_01jd8x3q4m5n6p7r8s9t0v1w2x' }),
});

const endpointDeps = (services: Services): EndpointDeps => ({
  sql: services.sql,
  secretBox: services.secretBox,
  urlCheck: { allowPrivate: services.config.WEBHOOK_ALLOW_PRIVATE },
});

const DeliveryHeaders = z.object({
  'webhook-id': z
    .string()
    .openapi({ description: 'The event id, the same on every attempt: deduplicate by it' }),
  'webhook-timestamp': z.string().openapi({ description: 'Unix seconds; refuse it if far from now' }),
  'webhook-signature': z
    .string()
    .openapi({ description: 'Space-separated `v1,<base64 HMAC-SHA256>` entries (Standard Webhooks)' }),
});

/**
 * The event payloads, as OpenAPI 3.1 top-level `webhooks`: what a receiver must accept. Registered
 * on the root app's registry: a sub-app's webhooks would be merged by app.route() as paths (`/invoice.paid`).
 */
export function registerEventPayloads(registry: OpenAPIHono['openAPIRegistry']) {
  for (const type of EVENT_TYPES) {
    registry.registerWebhook({
      method: 'post',
      path: type,
      operationId: `on${type.replace(/(^|[._])(\w)/g, (_, _s, ch: string) => ch.toUpperCase())}`,
      tags,
      summary: `The ${type} event, POSTed to every endpoint that subscribes to it`,
      security: [],
      request: {
        headers: DeliveryHeaders,
        body: { required: true, content: { 'application/json': { schema: webhookEventSchema(type) } } },
      },
      responses: {
        200: { description: 'Any 2xx: received (the delivery is done)' },
        400: { description: 'Any other answer or none within the timeout: retried on the schedule' },
      },
    });
  }
}

/** The merchant API's webhook endpoints and deliveries under /v1/webhooks. */
export function webhookRoutes() {
  const app = newApi<MerchantEnv>();
  const authed = merchantAuth();
  app.use('/v1/webhooks', authed);
  app.use('/v1/webhooks/*', authed);

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/webhooks',
      operationId: 'createWebhookEndpoint',
      tags,
      summary: 'Register a webhook endpoint',
      description:
        'The URL must be a public http(s) address (checked again before every delivery). The answer ' +
        'holds the whsec_ signing secret: it is shown this once and never again.',
      security,
      request: {
        body: { required: true, content: { 'application/json': { schema: CreateWebhookSchema } } },
        headers: z.object({
          'idempotency-key': z.string().optional().openapi({ description: 'Safe retries (IETF draft)' }),
        }),
      },
      responses: {
        201: {
          description: 'Created, with its secret (or the stored answer to the same Idempotency-Key)',
          headers: { ...LOCATION_HEADER, ...IDEMPOTENT_REPLAYED_HEADER },
          content: { 'application/json': { schema: CreatedWebhookSchema } },
        },
        ...problemResponses(400, 401, 409, 413, 415, 422),
      },
    }),
    async (c) => {
      const services = c.get('services');
      const input = c.req.valid('json');
      const { merchantId } = c.get('principal');
      const key = checkIdempotencyKey(c.req.header('idempotency-key'));
      const create = async () => {
        const { endpoint, secret } = await createEndpoint(endpointDeps(services), merchantId, input);
        return { ...endpointToJson(endpoint), secret };
      };
      let body: z.infer<typeof CreatedWebhookSchema>;
      if (key) {
        // The stored answer keeps the secret sealed (bound to the endpoint id), never in plaintext.
        const res = await withIdempotency(
          services.sql,
          merchantId,
          key,
          requestFingerprint('POST', '/v1/webhooks', input),
          async () => {
            const made = await create();
            const sealed = await services.secretBox.encrypt(made.secret, made.id);
            return { status: 201, body: { ...made, secret: undefined, sealedSecret: sealed } };
          },
        );
        const stored = res.body as z.infer<typeof WebhookEndpointSchema> & { sealedSecret: string };
        const { sealedSecret, ...endpoint } = stored;
        body = { ...endpoint, secret: await services.secretBox.decrypt(sealedSecret, stored.id) };
        if (res.replayed) c.header('Idempotent-Replayed', 'true');
      } else {
        body = await create();
      }
      c.header('Location', `/v1/webhooks/${body.id}`);
      c.header('Cache-Control', 'no-store');
      return c.json(body, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/webhooks',
      operationId: 'listWebhookEndpoints',
      tags,
      summary: 'List webhook endpoints (without secrets)',
      security,
      responses: {
        200: {
          description: 'Endpoints',
          content: { 'application/json': { schema: z.object({ data: z.array(WebhookEndpointSchema) }) } },
        },
        ...problemResponses(401),
      },
    }),
    async (c) => {
      const rows = await listEndpoints(c.get('services').sql, c.get('principal').merchantId);
      return c.json({ data: rows.map(endpointToJson) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/webhooks/{id}',
      operationId: 'getWebhookEndpoint',
      tags,
      summary: 'Get a webhook endpoint (without its secret)',
      security,
      request: { params: IdParam },
      responses: {
        200: {
          description: 'The endpoint',
          content: { 'application/json': { schema: WebhookEndpointSchema } },
        },
        ...problemResponses(401, 404),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const endpoint = await getEndpoint(c.get('services').sql, c.get('principal').merchantId, id);
      if (!endpoint) throw new NotFoundError('webhook endpoint', 'webhook_endpoint_not_found');
      return c.json(endpointToJson(endpoint), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/webhooks/{id}',
      operationId: 'deleteWebhookEndpoint',
      tags,
      summary: 'Delete a webhook endpoint',
      description: 'Deliveries still pending are closed as disabled; the secrets are erased.',
      security,
      request: { params: IdParam },
      responses: { 204: { description: 'Deleted' }, ...problemResponses(401, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await deleteEndpoint(c.get('services').sql, c.get('principal').merchantId, id);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/webhooks/{id}/rotate-secret',
      operationId: 'rotateWebhookSecret',
      tags,
      summary: 'Rotate the signing secret',
      description:
        'Returns a new secret, shown once. For 24 hours every delivery is signed with both the new and ' +
        'the old secret (two v1 entries in webhook-signature), so receivers can switch without a gap.',
      security,
      request: { params: IdParam },
      responses: {
        200: {
          description: 'The new secret',
          content: { 'application/json': { schema: RotatedSecretSchema } },
        },
        ...problemResponses(401, 404),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const services = c.get('services');
      const { endpoint, secret } = await rotateSecret(
        endpointDeps(services),
        c.get('principal').merchantId,
        id,
      );
      c.header('Cache-Control', 'no-store');
      return c.json(
        { id: endpoint.id, secret, previousSecretExpiresAt: endpoint.previousSecretExpiresAt!.toISOString() },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/webhooks/{id}/deliveries',
      operationId: 'listWebhookDeliveries',
      tags,
      summary: "An endpoint's delivery log, newest first, with every attempt",
      security,
      request: { params: IdParam, query: DeliveryListQuerySchema },
      responses: {
        200: {
          description: 'A page of deliveries',
          content: {
            'application/json': {
              schema: z.object({ data: z.array(WebhookDeliverySchema), nextCursor: z.string().nullable() }),
            },
          },
        },
        ...problemResponses(401, 404, 422),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { status, limit = 20, cursor } = c.req.valid('query');
      const page = await listDeliveries(c.get('services').sql, c.get('principal').merchantId, id, {
        limit,
        ...(status ? { status } : {}),
        ...(cursor !== undefined ? { cursor } : {}),
      });
      return c.json({ data: page.data.map(deliveryToJson), nextCursor: page.nextCursor }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver',
      operationId: 'redeliverWebhookDelivery',
      tags,
      summary: 'Send a delivery again',
      description:
        'Due at once, with the same webhook-id and body and a fresh retry schedule, whatever its status.',
      security,
      request: { params: DeliveryParams },
      responses: {
        202: {
          description: 'Queued',
          content: { 'application/json': { schema: WebhookDeliverySchema } },
        },
        ...problemResponses(401, 404, 409),
      },
    }),
    async (c) => {
      const { id, deliveryId } = c.req.valid('param');
      const delivery = await redeliver(c.get('services').sql, c.get('principal').merchantId, id, deliveryId);
      return c.json(deliveryToJson(delivery), 202);
    },
  );
  return app;
}
