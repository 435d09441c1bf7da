// Fan-out: turns outbox events (written by the state machine in the same transaction as each state
// change) into one delivery per subscribed endpoint. The outbox row is marked dispatched in the same
// transaction as its deliveries are written, so an event is fanned out exactly once even with several
// processes ticking at once, and nothing is lost when one of them dies half-way.
import type { Sql } from '../db/client';
import { InvoiceSchema } from '../invoices/schema';
import { newId } from '../lib/ids';

export interface FanOutResult {
  /** Outbox events taken in this call. */
  readonly events: number;
  /** Deliveries created for them. */
  readonly deliveries: number;
}

const INVOICE_KEYS = Object.keys(InvoiceSchema.shape);

/** Key order for readers: jsonb keeps keys sorted by length, which puts `data` before `type`. */
function ordered(value: Record<string, unknown>, first: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of first) if (k in value) out[k] = value[k];
  for (const k of Object.keys(value).sort()) if (!(k in out)) out[k] = value[k];
  return out;
}

/**
 * The JSON text a delivery sends: `{ type, timestamp, data: { invoice, sequence, … } }`. Computed once,
 * at fan-out, and stored, so every attempt sends and signs exactly the same bytes.
 */
export function eventBody(payload: Record<string, unknown>): string {
  const data = payload.data as Record<string, unknown> | undefined;
  const shaped: Record<string, unknown> = { ...payload };
  if (data && typeof data === 'object') {
    const invoice = data.invoice as Record<string, unknown> | undefined;
    shaped.data = ordered(
      invoice && typeof invoice === 'object' ? { ...data, invoice: ordered(invoice, INVOICE_KEYS) } : data,
      ['invoice', 'sequence'],
    );
  }
  return JSON.stringify(ordered(shaped, ['type', 'timestamp', 'data']));
}

/**
 * Takes up to `batch` undispatched outbox events (skipping rows another process holds), writes a
 * pending delivery for each enabled endpoint of the event's merchant that subscribes to its type,
 * and marks the events dispatched — all in one transaction.
 */
export async function fanOut(
  sql: Sql,
  opts: { batch?: number; now?: Date; firstDelayMs?: number } = {},
): Promise<FanOutResult> {
  const batch = opts.batch ?? 200;
  return sql.begin(async (tx) => {
    const now = opts.now ?? new Date();
    const events = await tx<
      {
        id: bigint;
        event_id: string;
        merchant_id: string;
        invoice_id: string | null;
        type: string;
        payload: Record<string, unknown>;
      }[]
    >`select id, event_id, merchant_id, invoice_id, type, payload from outbox
      where dispatched_at is null order by id limit ${batch} for update skip locked`;
    if (events.length === 0) return { events: 0, deliveries: 0 };

    const merchants = [...new Set(events.map((e) => e.merchant_id))];
    const endpoints = await tx<{ id: string; merchant_id: string; events: string[] }[]>`
      select id, merchant_id, events from webhook_endpoints
      where merchant_id = any(${tx.array(merchants)}) and disabled_at is null and deleted_at is null`;

    const rows: Record<string, unknown>[] = [];
    const due = new Date(now.getTime() + (opts.firstDelayMs ?? 0));
    for (const e of events) {
      const targets = endpoints.filter(
        (ep) => ep.merchant_id === e.merchant_id && (ep.events.length === 0 || ep.events.includes(e.type)),
      );
      if (targets.length === 0) continue;
      const body = eventBody(e.payload);
      for (const ep of targets) {
        rows.push({
          id: newId('dlv', now.getTime()),
          endpoint_id: ep.id,
          event_id: e.event_id,
          merchant_id: e.merchant_id,
          invoice_id: e.invoice_id,
          type: e.type,
          payload: body,
          status: 'pending',
          next_attempt_at: due,
          created_at: now,
          updated_at: now,
        });
      }
    }
    let created = 0;
    // Chunked: one multi-row insert per 500 deliveries keeps the statement's parameters bounded.
    for (let i = 0; i < rows.length; i += 500) {
      const chunk = rows.slice(i, i + 500);
      const inserted = await tx`insert into webhook_deliveries ${tx(chunk as never)}
        on conflict (endpoint_id, event_id) do nothing returning id`;
      created += inserted.length;
    }
    await tx`update outbox set dispatched_at = ${now}
      where id = any(${tx.array(events.map((e) => String(e.id)))}::bigint[])`;
    return { events: events.length, deliveries: created };
  });
}
