// Sandbox only: a webhook receiver served by the gateway itself, so the README's first paid invoice
// ends with a delivered, verified `invoice.settled` and no shop of one's own. The demo seed points the
// demo merchant's endpoint here. It verifies like a merchant would (src/webhooks/verify.ts, with the
// endpoint's secret opened through the SecretBox) and shows the last events at GET /sandbox/webhooks.
//
// Kept in memory, not in the database: it is a window onto deliveries for the person at the terminal,
// not a record (the delivery log in webhook_deliveries is that), needs no migration, and the process
// that receives is the one that answers GET. A restart empties it.
import type { Queryable } from '../db/client';
import { newApi } from '../http/api';
import { problemResponse } from '../http/problem';
import type { SecretBox } from './secrets';
import { verifyWebhook, WebhookVerificationError } from './verify';

export const SANDBOX_WEBHOOK_PATH = '/sandbox/webhooks';
/** settings key naming the demo merchant's endpoint (written by the seed). */
export const DEMO_WEBHOOK_SETTING = 'demo_webhook_endpoint';
export const RECEIVED_KEPT = 50;
/** Our own events are a few hundred bytes; anything far larger is not one of them. */
export const MAX_RECEIVED_BYTES = 64 * 1024;

export interface ReceivedWebhook {
  readonly type: string;
  readonly invoiceId: string | null;
  readonly webhookId: string;
  readonly verified: true;
  readonly receivedAt: string;
}

/** The secrets that sign for the demo endpoint now (the previous one too, during a rotation). */
export async function demoEndpointSecrets(sql: Queryable, box: SecretBox): Promise<string[]> {
  const [row] =
    await sql`select e.id, e.secret_ciphertext, e.previous_secret_ciphertext, e.previous_expires_at
    from settings s join webhook_endpoints e on e.id = s.value->>'endpointId'
    where s.key = ${DEMO_WEBHOOK_SETTING} and e.deleted_at is null and e.secret_ciphertext is not null`;
  if (!row) return [];
  const open = [box.decrypt(row.secret_ciphertext, row.id)];
  if (
    row.previous_secret_ciphertext &&
    row.previous_expires_at &&
    row.previous_expires_at.getTime() > Date.now()
  ) {
    open.push(box.decrypt(row.previous_secret_ciphertext, row.id));
  }
  return Promise.all(open);
}

/** The sandbox's own webhook receiver (mounted in sandbox mode only). */
export function sandboxReceiver() {
  const app = newApi();
  const received: ReceivedWebhook[] = [];

  app.post(SANDBOX_WEBHOOK_PATH, async (c) => {
    const length = c.req.header('content-length');
    if (length !== undefined && !(Number.parseInt(length, 10) <= MAX_RECEIVED_BYTES)) {
      return problemResponse(
        c,
        413,
        'payload_too_large',
        `the body must be at most ${MAX_RECEIVED_BYTES} bytes`,
      );
    }
    const body = await readCapped(c.req.raw, MAX_RECEIVED_BYTES);
    if (body === undefined) {
      return problemResponse(
        c,
        413,
        'payload_too_large',
        `the body must be at most ${MAX_RECEIVED_BYTES} bytes`,
      );
    }
    const services = c.get('services');
    const secrets = await demoEndpointSecrets(services.sql, services.secretBox);
    let event: unknown;
    let lastError: WebhookVerificationError | undefined;
    for (const secret of secrets) {
      try {
        event = await verifyWebhook(secret, c.req.raw.headers, body);
        lastError = undefined;
        break;
      } catch (err) {
        if (!(err instanceof WebhookVerificationError)) throw err;
        lastError = err;
      }
    }
    if (event === undefined) {
      const detail = lastError?.message ?? 'no demo webhook endpoint is registered';
      // A body that is signed but not JSON is malformed; anything unsigned is unauthenticated.
      return lastError?.code === 'invalid_json'
        ? problemResponse(c, 400, 'invalid_json', detail)
        : problemResponse(c, 401, lastError?.code ?? 'no_matching_signature', detail);
    }
    const e = (event ?? {}) as { type?: unknown; data?: { invoice?: { id?: unknown } } };
    const invoiceId = e.data?.invoice?.id;
    received.unshift({
      type: typeof e.type === 'string' ? e.type.slice(0, 100) : '(none)',
      invoiceId: typeof invoiceId === 'string' ? invoiceId.slice(0, 100) : null,
      webhookId: c.req.header('webhook-id')!.slice(0, 200),
      verified: true,
      receivedAt: new Date().toISOString(),
    });
    received.length = Math.min(received.length, RECEIVED_KEPT);
    return c.body(null, 204);
  });

  app.get(SANDBOX_WEBHOOK_PATH, (c) => c.json({ received }));
  return app;
}

/** The raw body, or undefined once it passes `max` bytes (chunked bodies have no length to check). */
async function readCapped(req: Request, max: number): Promise<Uint8Array | undefined> {
  if (!req.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const ch of chunks) {
    out.set(ch, at);
    at += ch.byteLength;
  }
  return out;
}
