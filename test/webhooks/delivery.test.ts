// Webhook delivery end to end: real database, real HTTP receivers on 127.0.0.1, signatures checked by the
// official `standardwebhooks` package inside the receiver.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import type { Sql } from '../../src/db/client';
import type { Services } from '../../src/services';
import { runTick } from '../../src/watch/tick';
import { type DeliveryDeps, deliverDue } from '../../src/webhooks/deliver';
import { deliveryDepsFrom, runWebhookTick, type WebhookTickResult } from '../../src/webhooks/dispatch';
import { fanOut } from '../../src/webhooks/outbox';
import { createEndpoint } from '../../src/webhooks/repository';
import { generateEncryptionKey } from '../../src/webhooks/secrets';
import { verifyWebhook } from '../../src/webhooks/verify';
import { createTestContext, type TestContext } from '../helpers/services';
import { otherProcess as otherProcessOf, webhookMerchant } from './context';
import { type Answer, type ReceivedRequest, type Receiver, startReceiver } from './receiver';

const ENV = {
  WEBHOOK_ENCRYPTION_KEY: generateEncryptionKey(),
  WEBHOOK_ALLOW_PRIVATE: 'true',
  WEBHOOK_RETRY_SCHEDULE: '0,0,0',
  WEBHOOK_RETRY_JITTER_PERCENT: '0',
};

let ctx: TestContext;
let receivers: Receiver[] = [];
let pools: Sql[] = [];

beforeAll(async () => {
  ctx = await createTestContext(ENV);
});
afterAll(() => ctx.close());
afterEach(async () => {
  // Each test leaves nothing due behind for the next one's dispatcher to pick up.
  await ctx.db.sql`update webhook_deliveries set status = 'disabled', next_attempt_at = null
    where status = 'pending'`;
  await ctx.db.sql`update outbox set dispatched_at = now() where dispatched_at is null`;
  for (const r of receivers) await r.close();
  receivers = [];
  for (const p of pools) await p.end({ timeout: 5 });
  pools = [];
});

async function receiver(handler?: (req: ReceivedRequest, n: number) => Answer): Promise<Receiver> {
  const r = await startReceiver(handler);
  receivers.push(r);
  return r;
}

interface TestMerchant {
  readonly id: string;
  readonly key: string;
}

const merchant = (): Promise<TestMerchant> => webhookMerchant(ctx);

// biome-ignore lint/suspicious/noExplicitAny: JSON answers are checked field by field
type Json = any;

async function api(
  m: TestMerchant,
  method: string,
  path: string,
  body?: unknown,
  app = ctx.app,
): Promise<{ status: number; body: Json }> {
  const res = await app.request(path, {
    method,
    headers: {
      authorization: `Bearer ${m.key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: res.status === 204 ? null : await res.json() };
}

async function register(m: TestMerchant, r: Receiver, events?: string[]): Promise<Json> {
  const res = await api(m, 'POST', '/v1/webhooks', { url: r.url, ...(events ? { events } : {}) });
  expect(res.status).toBe(201);
  r.secrets.push(res.body.secret);
  return res.body;
}

async function newInvoice(m: TestMerchant, app = ctx.app): Promise<Json> {
  const res = await api(m, 'POST', '/v1/invoices', { amount: '15000.00', currency: 'KZT' }, app);
  expect(res.status).toBe(201);
  return res.body;
}

/** Services as another process builds them: their own pool on PostgreSQL (see context.ts). */
function otherProcess(max = 2): Services {
  const made = otherProcessOf(ctx, max);
  if (made.pool) pools.push(made.pool);
  return made.services;
}

/** Ticks until nothing is due (or undispatched) any more. */
async function drain(
  services: Services[] = [ctx.services],
  deps: Partial<DeliveryDeps> = {},
  onTick: (r: WebhookTickResult) => void = () => {},
) {
  for (let i = 0; i < 50; i++) {
    await Promise.all(services.map(async (s) => onTick(await runWebhookTick(s, { deps }))));
    const [{ due, undispatched }] = (await ctx.db.sql`select
        (select count(*)::int from webhook_deliveries where status = 'pending' and next_attempt_at <= now())
          as due,
        (select count(*)::int from outbox where dispatched_at is null) as undispatched`) as unknown as [
      { due: number; undispatched: number },
    ];
    if (due === 0 && undispatched === 0) return;
  }
  throw new Error('deliveries still due after 50 ticks');
}

async function deliveries(m: TestMerchant, endpointId: string): Promise<Json[]> {
  const res = await api(m, 'GET', `/v1/webhooks/${endpointId}/deliveries?limit=100`);
  expect(res.status).toBe(200);
  return res.body.data;
}

describe('webhook delivery', () => {
  it('delivers every event of a state change, signed per Standard Webhooks, with the invoice as GET shows it', async () => {
    const m = await merchant();
    const r = await receiver();
    const ep = await register(m, r);
    const inv = await newInvoice(m);
    const cancelled = await api(m, 'POST', `/v1/invoices/${inv.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(r.requests).toHaveLength(0); // nothing is sent inside the request: the outbox holds it

    await drain();

    expect(r.requests).toHaveLength(2);
    const bodies = r.requests
      .map((q) => JSON.parse(q.body))
      .sort((a, b) => a.data.sequence - b.data.sequence);
    expect(bodies.map((b) => b.type)).toEqual(['invoice.created', 'invoice.invalid']);
    expect(bodies.map((b) => b.data.sequence)).toEqual([1, 2]);
    const current = await api(m, 'GET', `/v1/invoices/${inv.id}`);
    expect(bodies[1].data.invoice).toEqual(current.body);
    expect(bodies[0].data.invoice.status).toBe('new');
    for (const q of r.requests) {
      expect(Object.keys(JSON.parse(q.body))).toEqual(['type', 'timestamp', 'data']);
      expect(q.verified.get(ep.secret)).toBe(true);
      expect(q.id).toMatch(/^evt_/);
      expect(q.attempt).toBe(1);
      expect(q.headers['content-type']).toBe('application/json');
      // Our own merchant-side helper agrees with the official package.
      expect(await verifyWebhook(ep.secret, q.headers, q.body)).toEqual(JSON.parse(q.body));
    }

    const log = await deliveries(m, ep.id);
    expect(log).toHaveLength(2);
    for (const d of log) {
      expect(d).toMatchObject({ status: 'succeeded', attemptCount: 1, lastStatus: 204, nextAttemptAt: null });
      expect(d.attempts).toHaveLength(1);
      expect(d.attempts[0]).toMatchObject({ attempt: 1, httpStatus: 204, error: null });
      expect(r.requests.map((q) => q.id)).toContain(d.eventId);
    }
  });

  it('sends only the subscribed event types', async () => {
    const m = await merchant();
    const r = await receiver();
    await register(m, r, ['invoice.invalid']);
    const inv = await newInvoice(m);
    await api(m, 'POST', `/v1/invoices/${inv.id}/cancel`);
    await drain();
    expect(r.requests.map((q) => JSON.parse(q.body).type)).toEqual(['invoice.invalid']);
  });

  it('delivers after a crash between the committed state change and its delivery', async () => {
    const m = await merchant();
    const r = await receiver();
    await register(m, r);
    // The "process" that writes the state changes, then dies before any tick runs.
    const before = otherProcess();
    const app = createApp(ctx.config, before);
    const inv = await newInvoice(m, app);
    expect((await api(m, 'POST', `/v1/invoices/${inv.id}/cancel`, undefined, app)).status).toBe(200);
    await pools.pop()?.end({ timeout: 5 }); // the process is gone (a shared embedded pool stays)
    expect(r.requests).toHaveLength(0);
    const [row] = await ctx.db.sql`select count(*)::int as n from outbox
      where invoice_id = ${inv.id} and dispatched_at is null`;
    expect(row?.n).toBe(2);

    // A new process with new services: its regular tick finds the events and delivers them.
    const after = otherProcess();
    await runTick(after);
    await drain([after]);
    expect(r.requests.map((q) => JSON.parse(q.body).type).sort()).toEqual([
      'invoice.created',
      'invoice.invalid',
    ]);
    expect(r.requests.every((q) => q.verified.get(r.secrets[0]!) === true)).toBe(true);
  });

  it('retries a receiver that fails twice, logging each attempt, with the same webhook-id', async () => {
    const m = await merchant();
    const r = await receiver((_req, n) =>
      n === 1
        ? { status: 500, body: 'down' }
        : n === 2
          ? { status: 503, body: 'still down' }
          : { status: 200, body: 'ok' },
    );
    const ep = await register(m, r);
    await newInvoice(m);
    await drain();

    expect(r.requests).toHaveLength(3);
    expect(new Set(r.requests.map((q) => q.id)).size).toBe(1);
    expect(r.requests.map((q) => q.attempt)).toEqual([1, 2, 3]);
    expect(r.requests.every((q) => q.verified.get(ep.secret) === true)).toBe(true);
    const [d] = await deliveries(m, ep.id);
    expect(d).toMatchObject({
      status: 'succeeded',
      attemptCount: 3,
      lastStatus: 200,
      eventId: r.requests[0]!.id,
    });
    expect(d.attempts.map((a: Json) => [a.attempt, a.httpStatus, a.responseExcerpt])).toEqual([
      [1, 500, 'down'],
      [2, 503, 'still down'],
      [3, 200, 'ok'],
    ]);
    for (const a of d.attempts) {
      expect(a.durationMs).toBeGreaterThanOrEqual(0);
      expect(a.finishedAt).not.toBeNull();
    }
  });

  it('marks a delivery failed when the schedule runs out, and redelivers it with the same webhook-id', async () => {
    const m = await merchant();
    let up = false;
    const r = await receiver(() => (up ? { status: 204 } : { status: 404, body: 'no such route' }));
    const ep = await register(m, r);
    await newInvoice(m);
    await drain();
    let [d] = await deliveries(m, ep.id);
    expect(d).toMatchObject({ status: 'failed', attemptCount: 3, lastStatus: 404, nextAttemptAt: null });
    expect(d.lastError).toBe('HTTP 404');

    up = true;
    const again = await api(m, 'POST', `/v1/webhooks/${ep.id}/deliveries/${d.id}/redeliver`);
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ id: d.id, status: 'pending', eventId: d.eventId });
    await drain();
    [d] = await deliveries(m, ep.id);
    expect(d).toMatchObject({ status: 'succeeded', attemptCount: 4, lastStatus: 204 });
    expect(r.requests.map((q) => [q.id, q.attempt])).toEqual([1, 2, 3, 4].map((n) => [d.eventId, n]));

    // A succeeded delivery can be sent again too, on request.
    expect((await api(m, 'POST', `/v1/webhooks/${ep.id}/deliveries/${d.id}/redeliver`)).status).toBe(202);
    await drain();
    expect(r.requests).toHaveLength(5);
    expect(r.requests[4]!.id).toBe(d.eventId);
    expect(r.requests[4]!.verified.get(ep.secret)).toBe(true);
    expect((await api(m, 'POST', `/v1/webhooks/${ep.id}/deliveries/dlv_nope/redeliver`)).status).toBe(404);
  });

  it('never sends one attempt twice with two dispatchers on two connection pools', async () => {
    const m = await merchant();
    const firstSeen = new Set<string>();
    // Each message fails its first attempt and succeeds on its second.
    const r = await receiver((req) => {
      if (firstSeen.has(req.id)) return { status: 200 };
      firstSeen.add(req.id);
      return { status: 500 };
    });
    const ep = await register(m, r);
    const invoices = 12;
    for (let i = 0; i < invoices; i++) await newInvoice(m);

    const a = otherProcess(3);
    const b = otherProcess(3);
    let leased = 0;
    await drain([a, b], { concurrency: 3 }, (r) => {
      leased += r.leased;
    });
    // Every lease taken by either dispatcher became exactly one request.
    expect(leased).toBe(invoices * 2);

    const perAttempt = new Map<string, number>();
    for (const q of r.requests)
      perAttempt.set(`${q.id}#${q.attempt}`, (perAttempt.get(`${q.id}#${q.attempt}`) ?? 0) + 1);
    expect([...perAttempt.values()].every((n) => n === 1)).toBe(true);
    expect(r.requests).toHaveLength(invoices * 2);
    expect(firstSeen.size).toBe(invoices);
    const log = await deliveries(m, ep.id);
    expect(log).toHaveLength(invoices);
    for (const d of log) {
      expect(d).toMatchObject({ status: 'succeeded', attemptCount: 2 });
      expect(d.attempts.map((x: Json) => x.httpStatus)).toEqual([500, 200]);
    }
  });

  it('does not send a leased attempt again until its lease runs out; the lost attempt is logged as abandoned', async () => {
    const m = await merchant();
    const r = await receiver();
    const ep = await register(m, r);
    await newInvoice(m);
    await fanOut(ctx.db.sql);

    // Dispatcher A leases the delivery, then hangs inside the send (a process about to die).
    let release!: () => void;
    let entered!: () => void;
    const inside = new Promise<void>((res) => {
      entered = res;
    });
    const hung = new Promise<void>((res) => {
      release = res;
    });
    const stuck = deliverDue(
      deliveryDepsFrom(ctx.services, {
        fetchImpl: (async () => {
          entered();
          await hung;
          return new Response('late', { status: 200 });
        }) as typeof fetch,
      }),
    );
    await inside;

    // While the lease holds, another dispatcher finds nothing due and redelivery is refused.
    const b = otherProcess();
    expect((await deliverDue(deliveryDepsFrom(b))).leased).toBe(0);
    const [d] = await deliveries(m, ep.id);
    const inFlight = await api(m, 'POST', `/v1/webhooks/${ep.id}/deliveries/${d.id}/redeliver`);
    expect(inFlight.status).toBe(409);
    expect(inFlight.body.code).toBe('webhook_delivery_in_flight');

    // The lease runs out (time passes): B takes attempt 2 and delivers it.
    await ctx.db.sql`update webhook_deliveries set next_attempt_at = now() - interval '1 second'
      where id = ${d.id}`;
    expect((await deliverDue(deliveryDepsFrom(b))).succeeded).toBe(1);
    expect(r.requests.map((q) => q.attempt)).toEqual([2]);

    // A wakes up late: its result is logged on its own attempt but cannot overwrite B's newer one.
    release();
    await stuck;
    const [after] = await deliveries(m, ep.id);
    expect(after).toMatchObject({ status: 'succeeded', attemptCount: 2, lastStatus: 204 });
    expect(after.attempts.map((x: Json) => x.attempt)).toEqual([1, 2]);
    expect(r.requests).toHaveLength(1);
  });

  it('records the abandoned attempt when a lease runs out without a result', async () => {
    const m = await merchant();
    const r = await receiver();
    const ep = await register(m, r);
    await newInvoice(m);
    await fanOut(ctx.db.sql);
    // A process leased the delivery and died: the lease row and an unfinished attempt remain.
    const [d0] = await deliveries(m, ep.id);
    await ctx.db
      .sql`update webhook_deliveries set attempt_count = 1, next_attempt_at = now() - interval '1 second'
      where id = ${d0.id}`;
    await ctx.db.sql`insert into webhook_attempts (delivery_id, attempt, started_at)
      values (${d0.id}, 1, now() - interval '2 minutes')`;
    await drain();
    const [d] = await deliveries(m, ep.id);
    expect(d.status).toBe('succeeded');
    expect(d.attempts[0].error).toMatch(/^abandoned/);
    expect(d.attempts[1]).toMatchObject({ attempt: 2, httpStatus: 204 });
  });

  it('disables the endpoint on 410 Gone and closes its other pending deliveries', async () => {
    const m = await merchant();
    const r = await receiver(() => ({ status: 410, body: 'gone' }));
    const ep = await register(m, r);
    await newInvoice(m);
    await newInvoice(m);
    await fanOut(ctx.db.sql);
    const result = await deliverDue(deliveryDepsFrom(ctx.services), { limit: 1 });
    expect(result).toMatchObject({ leased: 1, disabled: 1 });
    expect(r.requests).toHaveLength(1);

    const log = await deliveries(m, ep.id);
    expect(log.map((d: Json) => d.status)).toEqual(['disabled', 'disabled']);
    const got = await api(m, 'GET', `/v1/webhooks/${ep.id}`);
    expect(got.body).toMatchObject({ status: 'disabled', disabledReason: 'the receiver answered 410 Gone' });
    expect(got.body.disabledAt).not.toBeNull();

    // Later events are not fanned out to it; redelivery is refused with a reason.
    await newInvoice(m);
    await drain();
    expect(r.requests).toHaveLength(1);
    expect(await deliveries(m, ep.id)).toHaveLength(2);
    const again = await api(m, 'POST', `/v1/webhooks/${ep.id}/deliveries/${log[0].id}/redeliver`);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('webhook_endpoint_disabled');
  });

  it('checks the URL again at delivery: refuses a private address, and a name that now resolves to one', async () => {
    const m = await merchant();
    const r = await receiver();
    const ep = await register(m, r);
    await newInvoice(m);
    await runWebhookTick(ctx.services, { deps: { allowPrivate: false } });
    expect(r.requests).toHaveLength(0);
    let [d] = await deliveries(m, ep.id);
    expect(d.status).toBe('pending');
    expect(d.attempts[0].httpStatus).toBeNull();
    expect(d.attempts[0].error).toMatch(/^refused URL: .*127\.0\.0\.1.*loopback/);

    // DNS rebinding: public when registered, loopback when delivered.
    const m2 = await merchant();
    const port = new URL(r.url).port;
    const { endpoint } = await createEndpoint(
      {
        sql: ctx.db.sql,
        secretBox: ctx.services.secretBox,
        urlCheck: { allowPrivate: false, resolve: async () => ['93.184.216.34'] },
      },
      m2.id,
      { url: `http://hooks.shop.example:${port}/hooks` },
    );
    await newInvoice(m2);
    await runWebhookTick(ctx.services, { deps: { allowPrivate: false, resolve: async () => ['127.0.0.1'] } });
    expect(r.requests).toHaveLength(0);
    [d] = await deliveries(m2, endpoint.id);
    expect(d.attempts[0].error).toMatch(/resolves to 127\.0\.0\.1, a loopback address/);

    // Rebinding between the check and the connection: the check's lookup answers a public address,
    // the next one loopback. The delivery connects only to what it checked, so nothing arrives.
    const m3 = await merchant();
    const rebound = await createEndpoint(
      {
        sql: ctx.db.sql,
        secretBox: ctx.services.secretBox,
        urlCheck: { allowPrivate: false, resolve: async () => ['93.184.216.34'] },
      },
      m3.id,
      { url: `http://rebind.shop.example:${port}/hooks` },
    );
    await newInvoice(m3);
    let lookups = 0;
    // (Earlier endpoints still due in this tick resolve to loopback and are refused as before.)
    const flipping = async (host: string) =>
      host === 'rebind.shop.example' && ++lookups === 1 ? ['93.184.216.34'] : ['127.0.0.1'];
    await runWebhookTick(ctx.services, { deps: { allowPrivate: false, resolve: flipping } });
    expect(lookups).toBe(2);
    expect(r.requests).toHaveLength(0);
    [d] = await deliveries(m3, rebound.endpoint.id);
    expect(d.attempts[0].httpStatus).toBeNull();
    expect(d.attempts[0].error).toMatch(/^refused URL: .*resolves to 127\.0\.0\.1, a loopback address/);
  });

  it('signs with both secrets during a rotation overlap, then with the new one only', async () => {
    const m = await merchant();
    const r = await receiver();
    const ep = await register(m, r);
    const oldSecret = ep.secret as string;
    const rotated = await api(m, 'POST', `/v1/webhooks/${ep.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    const newSecret = rotated.body.secret as string;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(oldSecret);
    const overlapHours = (Date.parse(rotated.body.previousSecretExpiresAt) - Date.now()) / 3_600_000;
    expect(overlapHours).toBeGreaterThan(23.9);
    expect(overlapHours).toBeLessThanOrEqual(24);
    r.secrets.push(newSecret);

    const inv = await newInvoice(m);
    await drain();
    expect(r.requests).toHaveLength(1);
    expect(r.requests[0]!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(r.requests[0]!.verified.get(oldSecret)).toBe(true);
    expect(r.requests[0]!.verified.get(newSecret)).toBe(true);

    // The overlap ends: only the new secret signs.
    await ctx.db.sql`update webhook_endpoints set previous_expires_at = now() - interval '1 second'
      where id = ${ep.id}`;
    await api(m, 'POST', `/v1/invoices/${inv.id}/cancel`);
    await drain();
    expect(r.requests).toHaveLength(2);
    expect(r.requests[1]!.headers['webhook-signature']!.split(' ')).toHaveLength(1);
    expect(r.requests[1]!.verified.get(oldSecret)).toBe(false);
    expect(r.requests[1]!.verified.get(newSecret)).toBe(true);
    expect((await api(m, 'GET', `/v1/webhooks/${ep.id}`)).body.previousSecretExpiresAt).toBeNull();
  });

  it('stops at the timeout, never follows a redirect, and keeps only the first KB of an answer', async () => {
    const m = await merchant();
    const slow = await receiver(() => 'hang');
    const moved = await receiver((req) =>
      req.path === '/hooks' ? { status: 302, headers: { location: '/elsewhere' } } : { status: 200 },
    );
    const chatty = await receiver(() => ({ status: 200, body: 'é'.repeat(5000) }));
    const slowEp = await register(m, slow);
    const movedEp = await register(m, moved);
    const chattyEp = await register(m, chatty);
    await newInvoice(m);
    await runWebhookTick(ctx.services, { deps: { timeoutMs: 300 } });

    const [s] = await deliveries(m, slowEp.id);
    expect(s.status).toBe('pending');
    expect(s.attempts[0].error).toBe('timeout: no complete answer within 300 ms');

    const [mv] = await deliveries(m, movedEp.id);
    expect(mv.status).toBe('pending');
    expect(mv.attempts[0].httpStatus).toBe(302);
    expect(mv.attempts[0].error).toMatch(/redirect to \/elsewhere not followed/);
    expect(moved.requests.map((q) => q.path)).toEqual(['/hooks']);

    const [c] = await deliveries(m, chattyEp.id);
    expect(c.status).toBe('succeeded');
    expect(c.attempts[0].responseExcerpt).toBe('é'.repeat(512)); // 1024 bytes of UTF-8
  });

  it('logs connection errors and honours Retry-After on 429 within the schedule', async () => {
    const m = await merchant();
    const closed = await startReceiver();
    await closed.close();
    const busy = await receiver(() => ({ status: 429, headers: { 'retry-after': '3600' } }));
    const closedEp = await register(m, closed);
    const busyEp = await register(m, busy);
    await newInvoice(m);
    await runWebhookTick(ctx.services, { deps: { scheduleMs: [0, 0, 7_200_000] } });

    const [c] = await deliveries(m, closedEp.id);
    expect(c.status).toBe('pending');
    expect(c.attempts[0].error).toMatch(/^connection failed \(ECONNREFUSED\)/);

    const [b] = await deliveries(m, busyEp.id);
    expect(b).toMatchObject({ status: 'pending', lastStatus: 429 });
    const waitS = (Date.parse(b.nextAttemptAt) - Date.now()) / 1000;
    expect(waitS).toBeGreaterThan(3500);
    expect(waitS).toBeLessThanOrEqual(3600);
  });

  it('closes pending deliveries of a deleted endpoint without sending them', async () => {
    const m = await merchant();
    const r = await receiver();
    const ep = await register(m, r);
    await newInvoice(m);
    await fanOut(ctx.db.sql);
    expect((await api(m, 'DELETE', `/v1/webhooks/${ep.id}`)).status).toBe(204);
    await drain();
    expect(r.requests).toHaveLength(0);
    const [row] = await ctx.db
      .sql`select status, last_error from webhook_deliveries where endpoint_id = ${ep.id}`;
    expect(row).toEqual({ status: 'disabled', last_error: 'endpoint deleted' });
  });
});
