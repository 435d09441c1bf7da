// Merchants' webhook endpoints and their delivery log. Every read and write is scoped by the merchant
// id, so another tenant's endpoint is simply not found. Secrets are stored only as SecretBox
// ciphertexts bound to the endpoint id, and returned in plaintext only once, when they are made.
import type { Queryable, Sql } from '../db/client';
import type { EventType } from '../invoices/state';
import { ConflictError, NotFoundError, ValidationError } from '../lib/errors';
import { isId, newId } from '../lib/ids';
import { generateWebhookSecret, type SecretBox } from './secrets';
import { assertDeliverableUrl, type DeliverableUrlOptions } from './ssrf';

/** How long the secret replaced by a rotation keeps signing, so receivers can switch without a gap. */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000;
/** Enabled endpoints per merchant (Stripe allows 16): every event is sent once to each. */
export const MAX_ENDPOINTS_PER_MERCHANT = 16;
export const MAX_URL_LENGTH = 2000;

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed' | 'disabled';

export interface WebhookEndpoint {
  readonly id: string;
  readonly merchantId: string;
  readonly url: string;
  readonly events: readonly EventType[];
  readonly disabledAt: Date | null;
  readonly disabledReason: string | null;
  /** Set while the secret before the last rotation still signs. */
  readonly previousSecretExpiresAt: Date | null;
  readonly createdAt: Date;
}

export interface WebhookAttempt {
  readonly attempt: number;
  readonly startedAt: Date;
  readonly finishedAt: Date | null;
  readonly durationMs: number | null;
  readonly httpStatus: number | null;
  readonly error: string | null;
  readonly responseExcerpt: string | null;
}

export interface WebhookDelivery {
  readonly id: string;
  readonly endpointId: string;
  readonly eventId: string;
  readonly invoiceId: string | null;
  readonly type: string;
  readonly payload: string;
  readonly status: DeliveryStatus;
  readonly attemptCount: number;
  readonly nextAttemptAt: Date | null;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly attempts: readonly WebhookAttempt[];
}

export interface EndpointDeps {
  readonly sql: Sql;
  readonly secretBox: SecretBox;
  readonly urlCheck: DeliverableUrlOptions;
}

// biome-ignore lint/suspicious/noExplicitAny: raw rows from postgres.js
type Row = Record<string, any>;

const endpointFromRow = (r: Row): WebhookEndpoint => ({
  id: r.id,
  merchantId: r.merchant_id,
  url: r.url,
  events: r.events,
  disabledAt: r.disabled_at,
  disabledReason: r.disabled_reason,
  previousSecretExpiresAt:
    r.previous_expires_at && r.previous_expires_at.getTime() > Date.now() ? r.previous_expires_at : null,
  createdAt: r.created_at,
});

const attemptFromRow = (r: Row): WebhookAttempt => ({
  attempt: r.attempt,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  durationMs: r.duration_ms,
  httpStatus: r.http_status,
  error: r.error,
  responseExcerpt: r.response_excerpt,
});

const deliveryFromRow = (r: Row, attempts: readonly WebhookAttempt[]): WebhookDelivery => ({
  id: r.id,
  endpointId: r.endpoint_id,
  eventId: r.event_id,
  invoiceId: r.invoice_id,
  type: r.type,
  payload: r.payload,
  status: r.status,
  attemptCount: r.attempt_count,
  nextAttemptAt: r.status === 'pending' ? r.next_attempt_at : null,
  lastStatus: r.last_status,
  lastError: r.last_error,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  attempts,
});

const notFound = () => new NotFoundError('webhook endpoint', 'webhook_endpoint_not_found');

/** Registers an endpoint; the returned secret is the only time it is ever shown. */
export async function createEndpoint(
  deps: EndpointDeps,
  merchantId: string,
  input: { url: string; events?: readonly EventType[] },
): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  if (input.url.length > MAX_URL_LENGTH) {
    throw new ValidationError('invalid webhook URL', [
      { path: 'url', message: `at most ${MAX_URL_LENGTH} characters` },
    ]);
  }
  const url = (await assertDeliverableUrl(input.url, deps.urlCheck)).href;
  const events = [...new Set(input.events ?? [])];
  const id = newId('whk');
  const secret = generateWebhookSecret();
  const ciphertext = await deps.secretBox.encrypt(secret, id);
  const row = await deps.sql.begin(async (tx) => {
    // Serialises creations per merchant, so two concurrent requests cannot both pass the limit.
    await tx`select id from merchants where id = ${merchantId} for update`;
    const [{ n }] = (await tx`select count(*)::int as n from webhook_endpoints
      where merchant_id = ${merchantId} and deleted_at is null`) as unknown as [{ n: number }];
    if (n >= MAX_ENDPOINTS_PER_MERCHANT) {
      throw new ConflictError(
        'webhook_endpoint_limit',
        `a merchant may have at most ${MAX_ENDPOINTS_PER_MERCHANT} webhook endpoints; delete one first`,
      );
    }
    const [inserted] =
      await tx`insert into webhook_endpoints (id, merchant_id, url, events, secret_ciphertext)
      values (${id}, ${merchantId}, ${url}, ${tx.array(events)}, ${ciphertext}) returning *`;
    return inserted!;
  });
  return { endpoint: endpointFromRow(row), secret };
}

export async function listEndpoints(sql: Queryable, merchantId: string): Promise<WebhookEndpoint[]> {
  const rows = await sql`select * from webhook_endpoints
    where merchant_id = ${merchantId} and deleted_at is null order by id`;
  return rows.map(endpointFromRow);
}

export async function getEndpoint(
  sql: Queryable,
  merchantId: string,
  id: string,
): Promise<WebhookEndpoint | undefined> {
  if (!isId('whk', id)) return undefined;
  const [row] = await sql`select * from webhook_endpoints
    where id = ${id} and merchant_id = ${merchantId} and deleted_at is null`;
  return row ? endpointFromRow(row) : undefined;
}

/**
 * Deletes an endpoint: it stops receiving at once, its secrets are erased, and deliveries still
 * pending are closed as `disabled` (their log stays in the database).
 */
export async function deleteEndpoint(sql: Sql, merchantId: string, id: string): Promise<void> {
  if (!isId('whk', id)) throw notFound();
  await sql.begin(async (tx) => {
    const [row] = await tx`update webhook_endpoints set deleted_at = now(), updated_at = now(),
        secret_ciphertext = null, previous_secret_ciphertext = null, previous_expires_at = null
      where id = ${id} and merchant_id = ${merchantId} and deleted_at is null returning id`;
    if (!row) throw notFound();
    await tx`update webhook_deliveries set status = 'disabled', last_error = 'endpoint deleted',
        next_attempt_at = null, updated_at = now()
      where endpoint_id = ${id} and status = 'pending'`;
  });
}

/**
 * A new secret, shown once. The current one becomes the previous one and keeps signing (beside the
 * new one) for `overlapMs`; a previous secret still in its overlap is dropped at once.
 */
export async function rotateSecret(
  deps: EndpointDeps,
  merchantId: string,
  id: string,
  overlapMs = ROTATION_OVERLAP_MS,
): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  if (!isId('whk', id)) throw notFound();
  const secret = generateWebhookSecret();
  const ciphertext = await deps.secretBox.encrypt(secret, id);
  const [row] = await deps.sql`update webhook_endpoints set
      previous_secret_ciphertext = secret_ciphertext,
      previous_expires_at = now() + ${overlapMs} * interval '1 millisecond',
      secret_ciphertext = ${ciphertext}, updated_at = now()
    where id = ${id} and merchant_id = ${merchantId} and deleted_at is null returning *`;
  if (!row) throw notFound();
  return { endpoint: endpointFromRow(row), secret };
}

/** Marks an endpoint disabled (a 410 Gone from the receiver) and closes its pending deliveries. */
export async function disableEndpoint(sql: Sql, id: string, reason: string): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`update webhook_endpoints set disabled_at = coalesce(disabled_at, now()),
        disabled_reason = coalesce(disabled_reason, ${reason}), updated_at = now()
      where id = ${id}`;
    await tx`update webhook_deliveries set status = 'disabled', next_attempt_at = null, updated_at = now(),
        last_error = coalesce(last_error, ${reason})
      where endpoint_id = ${id} and status = 'pending'`;
  });
}

async function attemptsFor(sql: Queryable, deliveryIds: readonly string[]) {
  const byDelivery = new Map<string, WebhookAttempt[]>();
  if (deliveryIds.length === 0) return byDelivery;
  const rows = await sql`select * from webhook_attempts
    where delivery_id = any(${sql.array([...deliveryIds])}) order by delivery_id, attempt`;
  for (const r of rows) {
    const list = byDelivery.get(r.delivery_id) ?? [];
    list.push(attemptFromRow(r));
    byDelivery.set(r.delivery_id, list);
  }
  return byDelivery;
}

/** One page of an endpoint's deliveries, newest first, each with its attempts. */
export async function listDeliveries(
  sql: Queryable,
  merchantId: string,
  endpointId: string,
  opts: { status?: DeliveryStatus; limit: number; cursor?: string },
): Promise<{ data: WebhookDelivery[]; nextCursor: string | null }> {
  if (!(await getEndpoint(sql, merchantId, endpointId))) throw notFound();
  if (opts.cursor !== undefined && !isId('dlv', opts.cursor)) {
    throw new ValidationError('invalid cursor', [
      { path: 'cursor', message: 'use the nextCursor of a previous page' },
    ]);
  }
  // Ids sort by creation time, so the id itself is a stable keyset cursor.
  const rows = await sql`select * from webhook_deliveries
    where endpoint_id = ${endpointId} and merchant_id = ${merchantId}
    ${opts.status ? sql`and status = ${opts.status}` : sql``}
    ${opts.cursor ? sql`and id < ${opts.cursor}` : sql``}
    order by id desc limit ${opts.limit + 1}`;
  const page = rows.slice(0, opts.limit);
  const attempts = await attemptsFor(
    sql,
    page.map((r) => r.id as string),
  );
  return {
    data: page.map((r) => deliveryFromRow(r, attempts.get(r.id) ?? [])),
    nextCursor: rows.length > opts.limit ? (page[page.length - 1]!.id as string) : null,
  };
}

export async function getDelivery(
  sql: Queryable,
  merchantId: string,
  endpointId: string,
  deliveryId: string,
): Promise<WebhookDelivery | undefined> {
  if (!isId('dlv', deliveryId)) return undefined;
  const [row] = await sql`select * from webhook_deliveries
    where id = ${deliveryId} and endpoint_id = ${endpointId} and merchant_id = ${merchantId}`;
  if (!row) return undefined;
  const attempts = await attemptsFor(sql, [deliveryId]);
  return deliveryFromRow(row, attempts.get(deliveryId) ?? []);
}

/**
 * Sends a delivery again, whatever its status: due now, with a fresh retry schedule and the same
 * webhook-id (so a receiver that already handled it can recognise it). Refused while an attempt is
 * in flight, or when the endpoint is disabled.
 */
export async function redeliver(
  sql: Sql,
  merchantId: string,
  endpointId: string,
  deliveryId: string,
): Promise<WebhookDelivery> {
  const endpoint = await getEndpoint(sql, merchantId, endpointId);
  if (!endpoint) throw notFound();
  if (endpoint.disabledAt) {
    throw new ConflictError(
      'webhook_endpoint_disabled',
      `this endpoint was disabled (${endpoint.disabledReason ?? 'no reason recorded'}); register the ` +
        'URL again as a new endpoint to receive deliveries',
    );
  }
  if (!isId('dlv', deliveryId)) throw new NotFoundError('delivery', 'webhook_delivery_not_found');
  await sql.begin(async (tx) => {
    const [row] = await tx`select d.id, d.status, d.next_attempt_at > now() as leased_or_later,
        exists (select 1 from webhook_attempts a where a.delivery_id = d.id and a.finished_at is null)
          as unfinished
      from webhook_deliveries d
      where d.id = ${deliveryId} and d.endpoint_id = ${endpointId} and d.merchant_id = ${merchantId}
      for update`;
    if (!row) throw new NotFoundError('delivery', 'webhook_delivery_not_found');
    if (row.status === 'pending' && row.unfinished && row.leased_or_later) {
      throw new ConflictError(
        'webhook_delivery_in_flight',
        'an attempt of this delivery is in flight; look at its result before redelivering',
      );
    }
    await tx`update webhook_deliveries set status = 'pending', next_attempt_at = now(),
        schedule_start = attempt_count, updated_at = now()
      where id = ${deliveryId}`;
  });
  return (await getDelivery(sql, merchantId, endpointId, deliveryId))!;
}
