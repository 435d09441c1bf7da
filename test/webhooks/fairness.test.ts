// Fair delivery (issue 13 item 10): a merchant whose receivers never answer cannot delay another
// merchant's webhooks, a dead endpoint is paused by its circuit breaker and probed, and no event is lost.
// Real database, real receivers on 127.0.0.1. Assertions are on order and counts, never on time.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { allocate, type Candidate } from '../../src/webhooks/claim';
import { runWebhookTick, startDeliveryLoop } from '../../src/webhooks/dispatch';
import { fanOut } from '../../src/webhooks/outbox';
import { createEndpoint } from '../../src/webhooks/repository';
import { generateEncryptionKey } from '../../src/webhooks/secrets';
import { createTestContext, type TestContext } from '../helpers/services';
import { webhookMerchant } from './context';
import { type Receiver, startReceiver } from './receiver';

const ENV = {
  WEBHOOK_ENCRYPTION_KEY: generateEncryptionKey(),
  WEBHOOK_ALLOW_PRIVATE: 'true',
  WEBHOOK_RETRY_SCHEDULE: '0,0,0,0,0,0,0,0,0,0',
  WEBHOOK_RETRY_JITTER_PERCENT: '0',
};

let ctx: TestContext;
let receivers: Receiver[] = [];

beforeAll(async () => {
  ctx = await createTestContext(ENV);
});
afterAll(() => ctx.close());
afterEach(async () => {
  await ctx.db.sql`update webhook_deliveries set status = 'disabled', next_attempt_at = null
    where status = 'pending'`;
  await ctx.db.sql`update outbox set dispatched_at = now() where dispatched_at is null`;
  for (const r of receivers) await r.close();
  receivers = [];
});

async function receiver(handler?: Receiver['handler']): Promise<Receiver> {
  const r = await startReceiver(handler);
  receivers.push(r);
  return r;
}

async function endpoint(merchantId: string, r: Receiver): Promise<string> {
  const { endpoint: ep, secret } = await createEndpoint(
    { sql: ctx.db.sql, secretBox: ctx.services.secretBox, urlCheck: { allowPrivate: true } },
    merchantId,
    { url: r.url },
  );
  r.secrets.push(secret);
  return ep.id;
}

async function invoice(key: string): Promise<string> {
  const res = await ctx.app.request('/v1/invoices', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ amount: '15000.00', currency: 'KZT' }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('fair shares', () => {
  const c = (endpointId: string, merchantId: string, due = 10, inFlight = 0, cap = 8): Candidate => ({
    endpointId,
    merchantId,
    due,
    inFlight,
    cap,
  });

  it('serves merchant by merchant: sixteen endpoints of one merchant do not outnumber another merchant', () => {
    const b = Array.from({ length: 16 }, (_, i) => c(`b${i}`, 'B'));
    const got = allocate([...b, c('a', 'A')], new Map(), 4, { perMerchant: 8, perEndpoint: 8 });
    expect(got.get('a')).toBe(2);
    // B's two go to two different endpoints (round-robin inside a merchant).
    expect([...got].filter(([id]) => id.startsWith('b'))).toEqual([
      ['b0', 1],
      ['b1', 1],
    ]);
  });

  it('never gives a merchant or an endpoint more than its share, counting what is in flight', () => {
    const got = allocate(
      [c('b0', 'B', 10, 1), c('b1', 'B', 10, 1), c('a', 'A', 1), c('x', 'X', 10, 0, 1)],
      new Map([['B', 2]]),
      16,
      { perMerchant: 3, perEndpoint: 3 },
    );
    expect(got.get('b0') ?? 0).toBeLessThanOrEqual(1);
    expect((got.get('b0') ?? 0) + (got.get('b1') ?? 0)).toBe(1); // B: 3 at most, 2 already in flight
    expect(got.get('a')).toBe(1); // only one due
    expect(got.get('x')).toBe(1); // failing endpoint: one at a time
  });
});

describe('webhook delivery under a merchant whose receivers never answer', () => {
  it("delivers another merchant's event while the dead endpoints' attempts are still hanging", async () => {
    const a = await webhookMerchant(ctx);
    const b = await webhookMerchant(ctx);
    const dead: Receiver[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await receiver(() => 'hang');
      dead.push(r);
      await endpoint(b.id, r);
    }
    const alive = await receiver();
    await endpoint(a.id, alive);
    // B's events are older (due first); then A's.
    await invoice(b.key);
    await invoice(b.key);
    await fanOut(ctx.db.sql);
    await invoice(a.key);

    const loop = startDeliveryLoop(ctx.services, 20, { concurrency: 4, timeoutMs: 4_000 });
    try {
      // Until A's event arrives, or any of B's attempts ends (its timeout): whichever comes first.
      for (;;) {
        const [{ ended }] = (await ctx.db.sql`select count(*)::int as ended from webhook_attempts t
          join webhook_deliveries d on d.id = t.delivery_id
          where d.merchant_id = ${b.id} and t.finished_at is not null`) as unknown as [{ ended: number }];
        if (alive.requests.length > 0 || ended > 0) {
          expect(ended).toBe(0);
          break;
        }
        await sleep(20);
      }
      expect(alive.requests.map((q) => JSON.parse(q.body).type)).toEqual(['invoice.created']);
      // B holds at most its share (half of 4 slots), one per failing endpoint at a time.
      const hanging = dead.reduce((n, r) => n + r.requests.length, 0);
      expect(hanging).toBeGreaterThan(0);
      expect(hanging).toBeLessThanOrEqual(2);
      const [{ inFlight }] = (await ctx.db.sql`select count(*)::int as "inFlight" from webhook_deliveries
        where merchant_id = ${b.id} and leased_until > now()`) as unknown as [{ inFlight: number }];
      expect(inFlight).toBe(hanging);
    } finally {
      for (const r of dead) await r.close(); // the hanging attempts end now (connection dropped)
      await loop.stop();
    }
  });

  it('opens the breaker after consecutive silent attempts, probes after the pause, closes on an answer; nothing is lost', async () => {
    const m = await webhookMerchant(ctx);
    let up = false;
    const r = await receiver(() => (up ? { status: 204 } : 'hang'));
    const epId = await endpoint(m.id, r);
    for (let i = 0; i < 4; i++) await invoice(m.key);
    const deps = {
      concurrency: 2,
      timeoutMs: 150,
      breaker: { failures: 3, pauseMs: 3_600_000, maxPauseMs: 86_400_000 },
    };
    const breaker = async () => {
      const [row] = await ctx.db.sql<
        { consecutive_failures: number; breaker_opens: number; pause_s: number | null; probing: boolean }[]
      >`select consecutive_failures, breaker_opens, probing,
          extract(epoch from paused_until - now())::float8 as pause_s
        from webhook_endpoints where id = ${epId}`;
      return row!;
    };
    const tick = () => runWebhookTick(ctx.services, { deps });

    // Three silent attempts open it; from then on nothing is attempted, however often the tick runs.
    for (let i = 0; i < 6; i++) await tick();
    expect(r.requests).toHaveLength(3);
    let state = await breaker();
    expect(state).toMatchObject({ consecutive_failures: 3, breaker_opens: 1, probing: false });
    expect(state.pause_s).toBeGreaterThan(3500);

    // The pause ends (time passes); the probe is one delivery, still silent: open again, twice as long.
    await ctx.db
      .sql`update webhook_endpoints set paused_until = now() - interval '1 second' where id = ${epId}`;
    await tick();
    await tick();
    expect(r.requests).toHaveLength(4);
    state = await breaker();
    expect(state).toMatchObject({ consecutive_failures: 4, breaker_opens: 2 });
    expect(state.pause_s).toBeGreaterThan(7100);

    // The receiver is back: the probe gets an answer, the breaker closes, every event goes out.
    up = true;
    await ctx.db
      .sql`update webhook_endpoints set paused_until = now() - interval '1 second' where id = ${epId}`;
    for (let i = 0; i < 5; i++) await tick();
    state = await breaker();
    expect(state).toMatchObject({ consecutive_failures: 0, breaker_opens: 0, probing: false, pause_s: null });
    const rows = await ctx.db.sql<{ status: string; event_id: string }[]>`select status, event_id
      from webhook_deliveries where endpoint_id = ${epId}`;
    expect(rows).toHaveLength(4);
    expect(rows.every((d) => d.status === 'succeeded')).toBe(true);
    const answered = r.requests.slice(4).map((q) => q.id);
    expect(answered.sort()).toEqual(rows.map((d) => d.event_id).sort());
  });

  it('counts an answer as alive: a receiver answering 500 is retried by its schedule, never paused', async () => {
    const m = await webhookMerchant(ctx);
    const r = await receiver(() => ({ status: 500 }));
    const epId = await endpoint(m.id, r);
    for (let i = 0; i < 3; i++) await invoice(m.key);
    const deps = { concurrency: 4, breaker: { failures: 2, pauseMs: 3_600_000, maxPauseMs: 3_600_000 } };
    for (let i = 0; i < 3; i++) await runWebhookTick(ctx.services, { deps });
    expect(r.requests).toHaveLength(9);
    const [row] = await ctx.db.sql`select consecutive_failures, paused_until from webhook_endpoints
      where id = ${epId}`;
    expect(row).toEqual({ consecutive_failures: 0, paused_until: null });
  });
});
