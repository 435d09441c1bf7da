// Merchant webhook API (SPEC section 6): endpoints, their delivery log, redelivery, secret rotation.
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { type AppEnv, merchantAuth } from '../http/auth';
import { ProblemSchema } from '../invoices/schema';
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
} from './schema';

const problems = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((s) => [
      s,
      {
        description: 'Problem details (RFC 9457)',
        content: { 'application/problem+json': { schema: ProblemSchema } },
      },
    ]),
  );
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

export function registerWebhookRoutes(app: OpenAPIHono<AppEnv>) {
  const authed = merchantAuth();
  app.use('/v1/webhooks', authed);
  app.use('/v1/webhooks/*', authed);

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/webhooks',
      tags,
      summary: 'Register a webhook endpoint',
      description:
        'The URL must be a public http(s) address (checked again before every delivery). The answer ' +
        'holds the whsec_ signing secret: it is shown this once and never again.',
      security,
      request: { body: { required: true, content: { 'application/json': { schema: CreateWebhookSchema } } } },
      responses: {
        201: {
          description: 'Created, with its secret',
          content: { 'application/json': { schema: CreatedWebhookSchema } },
        },
        ...problems(400, 401, 409, 413, 415, 422),
      },
    }),
    async (c) => {
      const services = c.get('services');
      const input = c.req.valid('json');
      const { endpoint, secret } = await createEndpoint(
        endpointDeps(services),
        c.get('principal').merchantId,
        input,
      );
      c.header('Location', `/v1/webhooks/${endpoint.id}`);
      c.header('Cache-Control', 'no-store');
      return c.json({ ...endpointToJson(endpoint), secret }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/webhooks',
      tags,
      summary: 'List webhook endpoints (without secrets)',
      security,
      responses: {
        200: {
          description: 'Endpoints',
          content: { 'application/json': { schema: z.object({ data: z.array(WebhookEndpointSchema) }) } },
        },
        ...problems(401),
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
      tags,
      summary: 'Get a webhook endpoint (without its secret)',
      security,
      request: { params: IdParam },
      responses: {
        200: {
          description: 'The endpoint',
          content: { 'application/json': { schema: WebhookEndpointSchema } },
        },
        ...problems(401, 404),
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
      tags,
      summary: 'Delete a webhook endpoint',
      description: 'Deliveries still pending are closed as disabled; the secrets are erased.',
      security,
      request: { params: IdParam },
      responses: { 204: { description: 'Deleted' }, ...problems(401, 404) },
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
        ...problems(401, 404),
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
        ...problems(401, 404, 422),
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
        ...problems(401, 404, 409),
      },
    }),
    async (c) => {
      const { id, deliveryId } = c.req.valid('param');
      const delivery = await redeliver(c.get('services').sql, c.get('principal').merchantId, id, deliveryId);
      return c.json(deliveryToJson(delivery), 202);
    },
  );
}
