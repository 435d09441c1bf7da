// Fan-out from the outbox: one delivery per subscribed, enabled endpoint of the event's merchant,
// the outbox row marked in the same transaction, never twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInvoice } from '../../src/invoices/repository';
import { emitEvent } from '../../src/invoices/state';
import { eventBody, fanOut } from '../../src/webhooks/outbox';
import { createEndpoint, deleteEndpoint, disableEndpoint } from '../../src/webhooks/repository';
import { generateEncryptionKey } from '../../src/webhooks/secrets';
import { createTestContext, type TestContext } from '../helpers/services';
import { webhookMerchant } from './context';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ WEBHOOK_ENCRYPTION_KEY: generateEncryptionKey() });
});
afterAll(() => ctx.close());

const deps = () => ({
  sql: ctx.db.sql,
  secretBox: ctx.services.secretBox,
  urlCheck: { allowPrivate: true },
});

async function endpoint(merchantId: string, events?: string[]) {
  const { endpoint } = await createEndpoint(deps(), merchantId, {
    url: 'http://127.0.0.1:9/hooks',
    ...(events ? { events: events as never } : {}),
  });
  return endpoint.id;
}

async function invoiceFor(key: string): Promise<string> {
  const res = await ctx.app.request('/v1/invoices', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ amount: '2500.00', currency: 'KZT' }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

describe('eventBody', () => {
  it('puts type, timestamp and data first and keeps every value', () => {
    // As jsonb hands it back: keys sorted by length.
    const stored = {
      data: { sequence: 3, invoice: { status: 'settled', id: 'inv_1', amount: '1.00' }, paymentId: 'pay_1' },
      type: 'invoice.settled',
      timestamp: '2026-03-01T00:00:00.000Z',
    };
    const text = eventBody(stored);
    expect(text.startsWith('{"type":"invoice.settled","timestamp":"2026-03-01T00:00:00.000Z","data":{')).toBe(
      true,
    );
    const parsed = JSON.parse(text);
    expect(parsed).toEqual(stored);
    expect(Object.keys(parsed.data)).toEqual(['invoice', 'sequence', 'paymentId']);
    expect(Object.keys(parsed.data.invoice)).toEqual(['id', 'status', 'amount']);
  });
});

describe('fanOut', () => {
  it('creates a delivery for each subscribed, enabled endpoint of the merchant only', async () => {
    const a = await webhookMerchant(ctx);
    const b = await webhookMerchant(ctx);
    const all = await endpoint(a.id);
    const createdOnly = await endpoint(a.id, ['invoice.created']);
    const settledOnly = await endpoint(a.id, ['invoice.settled']);
    const disabled = await endpoint(a.id);
    await disableEndpoint(ctx.db.sql, disabled, 'test');
    const deleted = await endpoint(a.id);
    await deleteEndpoint(ctx.db.sql, a.id, deleted);
    const otherMerchant = await endpoint(b.id);

    const invoiceId = await invoiceFor(a.key);
    const result = await fanOut(ctx.db.sql);
    expect(result).toEqual({ events: 1, deliveries: 2 });
    const rows = await ctx.db.sql`select endpoint_id, event_id, type, invoice_id, merchant_id, status, payload
      from webhook_deliveries where invoice_id = ${invoiceId}`;
    expect(rows.map((r) => r.endpoint_id).sort()).toEqual([all, createdOnly].sort());
    for (const r of rows) {
      expect(r).toMatchObject({ type: 'invoice.created', merchant_id: a.id, status: 'pending' });
      expect(r.endpoint_id).not.toBe(settledOnly);
      expect(r.endpoint_id).not.toBe(otherMerchant);
    }
    const [outbox] = await ctx.db.sql`select event_id, payload, dispatched_at from outbox
      where invoice_id = ${invoiceId}`;
    expect(outbox!.dispatched_at).not.toBeNull();
    expect(rows[0]!.event_id).toBe(outbox!.event_id);
    // The stored body is the outbox payload, the same bytes for every endpoint.
    expect(JSON.parse(rows[0]!.payload)).toEqual(outbox!.payload);
    expect(rows[1]!.payload).toBe(rows[0]!.payload);

    expect(await fanOut(ctx.db.sql)).toEqual({ events: 0, deliveries: 0 });
  });

  it('never creates a second delivery for an event, even when it is fanned out again', async () => {
    const m = await webhookMerchant(ctx);
    const ep = await endpoint(m.id);
    const invoiceId = await invoiceFor(m.key);
    // More events for the same invoice through the state machine, then two fan-outs at once.
    await ctx.db.sql.begin(async (tx) => {
      const inv = (await loadInvoice(tx, invoiceId))!;
      for (let i = 0; i < 5; i++) await emitEvent(tx, ctx.services.state, inv, 'invoice.processing');
    });
    const results = await Promise.all([fanOut(ctx.db.sql, { batch: 2 }), fanOut(ctx.db.sql, { batch: 2 })]);
    while ((await fanOut(ctx.db.sql, { batch: 2 })).events > 0) {}
    expect(results.reduce((n, r) => n + r.events, 0)).toBeLessThanOrEqual(4);
    await ctx.db.sql`update outbox set dispatched_at = null where invoice_id = ${invoiceId}`;
    expect(await fanOut(ctx.db.sql)).toEqual({ events: 6, deliveries: 0 });

    const rows = await ctx.db.sql`select event_id from webhook_deliveries where endpoint_id = ${ep}`;
    expect(rows).toHaveLength(6);
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(6);
  });

  it('marks events with no subscriber dispatched and creates nothing', async () => {
    const m = await webhookMerchant(ctx);
    const invoiceId = await invoiceFor(m.key);
    const r = await fanOut(ctx.db.sql);
    expect(r.events).toBeGreaterThanOrEqual(1);
    const [row] = await ctx.db.sql`select dispatched_at from outbox where invoice_id = ${invoiceId}`;
    expect(row!.dispatched_at).not.toBeNull();
    const none = await ctx.db.sql`select 1 from webhook_deliveries where invoice_id = ${invoiceId}`;
    expect(none).toHaveLength(0);
  });
});
