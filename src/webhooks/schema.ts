// The zod schemas that validate webhook requests are the same ones /openapi.json is generated from.
import { z } from '@hono/zod-openapi';
import { InvoiceSchema, isSafeText } from '../invoices/schema';
import { EVENT_TYPES } from '../invoices/state';
import { MAX_URL_LENGTH, type WebhookDelivery, type WebhookEndpoint } from './repository';

export const EventTypeSchema = z.enum(EVENT_TYPES, {
  error: (iss) =>
    `unknown event type ${JSON.stringify(iss.input)}; expected one of ${EVENT_TYPES.join(', ')}`,
});

export const CreateWebhookSchema = z
  .strictObject(
    {
      url: z
        .string({
          error: (iss) =>
            iss.input === undefined
              ? 'url is required: the http(s) address that receives the deliveries'
              : 'url must be a string',
        })
        .min(1, 'url is required: the http(s) address that receives the deliveries')
        .max(MAX_URL_LENGTH, `at most ${MAX_URL_LENGTH} characters`)
        .refine(isSafeText, 'contains a NUL or an unpaired surrogate')
        .openapi({ example: 'https://shop.example/alatau/webhooks' }),
      events: z
        .array(EventTypeSchema, { error: 'events must be an array of event types' })
        .max(EVENT_TYPES.length * 2)
        .optional()
        .openapi({
          example: ['invoice.settled', 'invoice.expired'],
          description: 'Event types to receive; omitted or empty: every type',
        }),
    },
    {
      error: (iss) =>
        iss.code === 'unrecognized_keys'
          ? `unknown field(s): ${iss.keys.join(', ')}`
          : 'the body must be a JSON object',
    },
  )
  .openapi('CreateWebhook');

export const WebhookEndpointSchema = z
  .object({
    id: z.string().openapi({ example: 'whk_01jd8x3q4m5n6p7r8s9t0v1w2x' }),
    url: z.string(),
    events: z.array(z.string()).openapi({ description: 'Empty: every event type' }),
    status: z.enum(['enabled', 'disabled']),
    disabledAt: z.string().nullable(),
    disabledReason: z.string().nullable(),
    previousSecretExpiresAt: z
      .string()
      .nullable()
      .openapi({ description: 'While set, the secret before the last rotation still signs too' }),
    createdAt: z.string(),
  })
  .openapi('WebhookEndpoint');

export const CreatedWebhookSchema = WebhookEndpointSchema.extend({
  secret: z.string().openapi({
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    description: 'The signing secret. Shown only in this answer: store it now',
  }),
}).openapi('CreatedWebhook');

export const RotatedSecretSchema = z
  .object({
    id: z.string(),
    secret: z.string().openapi({ description: 'The new signing secret, shown only in this answer' }),
    previousSecretExpiresAt: z
      .string()
      .openapi({ description: 'Until then deliveries carry a signature with the old secret as well' }),
  })
  .openapi('RotatedWebhookSecret');

export const WebhookAttemptSchema = z.object({
  attempt: z.number().int(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  durationMs: z.number().int().nullable(),
  httpStatus: z.number().int().nullable(),
  error: z.string().nullable(),
  responseExcerpt: z.string().nullable().openapi({ description: 'The first kilobyte of the answer' }),
});

export const WebhookDeliverySchema = z
  .object({
    id: z.string().openapi({ example: 'dlv_01jd8x3q4m5n6p7r8s9t0v1w2x' }),
    endpointId: z.string(),
    eventId: z.string().openapi({ description: 'Sent as webhook-id, the same on every attempt' }),
    type: z.string(),
    invoiceId: z.string().nullable(),
    status: z.enum(['pending', 'succeeded', 'failed', 'disabled']),
    attemptCount: z.number().int(),
    nextAttemptAt: z.string().nullable(),
    lastStatus: z.number().int().nullable(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    payload: z.record(z.string(), z.unknown()).openapi({ description: 'The body that is sent' }),
    attempts: z.array(WebhookAttemptSchema),
  })
  .openapi('WebhookDelivery');

export const DeliveryListQuerySchema = z.object({
  status: z.enum(['pending', 'succeeded', 'failed', 'disabled']).optional(),
  limit: z
    .string()
    .regex(/^[0-9]{1,3}$/, 'limit must be a whole number from 1 to 100')
    .transform(Number)
    .refine((n) => n >= 1 && n <= 100, 'limit must be a whole number from 1 to 100')
    .optional(),
  cursor: z.string().max(100).optional(),
});

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function endpointToJson(e: WebhookEndpoint): z.infer<typeof WebhookEndpointSchema> {
  return {
    id: e.id,
    url: e.url,
    events: [...e.events],
    status: e.disabledAt ? 'disabled' : 'enabled',
    disabledAt: iso(e.disabledAt),
    disabledReason: e.disabledReason,
    previousSecretExpiresAt: iso(e.previousSecretExpiresAt),
    createdAt: e.createdAt.toISOString(),
  };
}

export function deliveryToJson(d: WebhookDelivery): z.infer<typeof WebhookDeliverySchema> {
  return {
    id: d.id,
    endpointId: d.endpointId,
    eventId: d.eventId,
    type: d.type,
    invoiceId: d.invoiceId,
    status: d.status,
    attemptCount: d.attemptCount,
    nextAttemptAt: iso(d.nextAttemptAt),
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    createdAt: d.createdAt.toISOString(),
    updatedAt: d.updatedAt.toISOString(),
    payload: JSON.parse(d.payload) as Record<string, unknown>,
    attempts: d.attempts.map((a) => ({
      attempt: a.attempt,
      startedAt: a.startedAt.toISOString(),
      finishedAt: iso(a.finishedAt),
      durationMs: a.durationMs,
      httpStatus: a.httpStatus,
      error: a.error,
      responseExcerpt: a.responseExcerpt,
    })),
  };
}

/** The body every delivery POSTs: `{ type, timestamp, data: { invoice, sequence, … } }` (webhooks/outbox.ts). */
export const webhookEventSchema = (type: (typeof EVENT_TYPES)[number]) =>
  z.object({
    type: z.literal(type),
    timestamp: z.string().datetime(),
    data: z
      .object({
        invoice: InvoiceSchema,
        sequence: z
          .number()
          .int()
          .openapi({ description: "The invoice's event counter: order events by it, not by arrival" }),
      })
      .catchall(z.unknown()),
  });
