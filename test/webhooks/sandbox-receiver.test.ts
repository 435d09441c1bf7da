// The sandbox receiver: the demo merchant's webhooks land on the gateway itself, verified with that
// endpoint's secret; forgeries, NUL bytes and huge bodies are refused and never listed; no such route
// outside the sandbox.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../src/seed';
import { demoEndpointSecrets, MAX_RECEIVED_BYTES } from '../../src/webhooks/sandbox-receiver';
import { signWebhook } from '../../src/webhooks/sign';
import { createTestContext, type TestContext } from '../helpers/services';

const PATH = '/sandbox/webhooks';
const FAST = { scryptLogN: 10, regulatorScryptLogN: 10 };

type Listed = {
  received: { type: string; invoiceId: string | null; webhookId: string; verified: boolean }[];
};

describe('the sandbox webhook receiver', () => {
  let ctx: TestContext;
  let secret: string;
  const now = () => Math.floor(Date.now() / 1000);
  const post = (body: string, headers: Record<string, string>) =>
    ctx.app.request(PATH, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
    });
  const listed = async () => ((await (await ctx.app.request(PATH)).json()) as Listed).received;

  beforeAll(async () => {
    ctx = await createTestContext();
    await seedDemo(ctx.db.sql, 'test', {
      ...FAST,
      webhook: { url: `http://gateway.test${PATH}`, secretBox: ctx.services.secretBox },
    });
    [secret] = (await demoEndpointSecrets(ctx.db.sql, ctx.services.secretBox)) as [string];
  });
  afterAll(() => ctx?.close());

  it('the seed gave the demo merchant one endpoint, here, and a second seed adds none', async () => {
    await seedDemo(ctx.db.sql, 'test', {
      ...FAST,
      webhook: { url: `http://gateway.test${PATH}`, secretBox: ctx.services.secretBox },
    });
    const rows = await ctx.db.sql`select url from webhook_endpoints`;
    expect(rows.map((r) => r.url)).toEqual([`http://gateway.test${PATH}`]);
    expect(secret).toMatch(/^whsec_/);
  });

  it('keeps an event signed with the endpoint secret, listed as verified', async () => {
    const body = JSON.stringify({
      type: 'invoice.settled',
      timestamp: 'x',
      data: { invoice: { id: 'inv_1' } },
    });
    const headers = await signWebhook({ id: 'msg_ok1', timestampSeconds: now(), body, secrets: [secret] });
    expect((await post(body, headers)).status).toBe(204);
    expect(await listed()).toEqual([
      expect.objectContaining({
        type: 'invoice.settled',
        invoiceId: 'inv_1',
        webhookId: 'msg_ok1',
        verified: true,
      }),
    ]);
  });

  it('refuses a forged signature with 401 and does not list it', async () => {
    const body = JSON.stringify({ type: 'invoice.settled', data: { invoice: { id: 'inv_forged' } } });
    const forged = await signWebhook({
      id: 'msg_forged',
      timestampSeconds: now(),
      body,
      secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    });
    const res = await post(body, forged);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    // A signed body changed on the way is a forgery too.
    const good = await signWebhook({ id: 'msg_tamper', timestampSeconds: now(), body, secrets: [secret] });
    expect((await post(body.replace('inv_forged', 'inv_tamper'), good)).status).toBe(401);
    expect((await post(body, {})).status).toBe(401);
    const ids = (await listed()).map((r) => r.webhookId);
    expect(ids).not.toContain('msg_forged');
    expect(ids).not.toContain('msg_tamper');
  });

  it('refuses NUL bytes and huge bodies as 4xx, never listed', async () => {
    const nul = '{"type":"invoice.settled\u0000","data":{}}';
    const signed = await signWebhook({
      id: 'msg_nul',
      timestampSeconds: now(),
      body: nul,
      secrets: [secret],
    });
    const r1 = await post(nul, signed);
    expect(r1.status).toBe(400);
    const huge = `{"type":"x","pad":"${'a'.repeat(MAX_RECEIVED_BYTES + 10)}"}`;
    const r2 = await post(
      huge,
      await signWebhook({ id: 'msg_huge', timestampSeconds: now(), body: huge, secrets: [secret] }),
    );
    expect(r2.status).toBe(413);
    // Without a length (streamed): cut off once it passes the limit.
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new Uint8Array(MAX_RECEIVED_BYTES / 4));
        c.close();
      },
    });
    const r3 = await ctx.app.request(PATH, {
      method: 'POST',
      body: stream,
      headers: { 'content-type': 'application/json' },
      duplex: 'half',
    } as RequestInit);
    expect(r3.status).toBe(413);
    const ids = (await listed()).map((r) => r.webhookId);
    expect(ids).toEqual(['msg_ok1']);
  });

  it('keeps the last 50 only, newest first', async () => {
    const body = JSON.stringify({ type: 'invoice.created', data: { invoice: { id: 'inv_2' } } });
    const sends = Array.from({ length: 60 }, async (_, i) =>
      post(body, await signWebhook({ id: `msg_n${i}`, timestampSeconds: now(), body, secrets: [secret] })),
    );
    for (const r of await Promise.all(sends)) expect(r.status).toBe(204);
    const list = await listed();
    expect(list).toHaveLength(50);
    expect(list.every((r) => r.verified && r.type === 'invoice.created')).toBe(true);
  });
});

describe.each(['testnet', 'mainnet'])('outside the sandbox (%s)', (mode) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ NETWORK_MODE: mode });
  });
  afterAll(() => ctx?.close());

  it('there is no receiver: 404', async () => {
    expect((await ctx.app.request(PATH)).status).toBe(404);
    expect((await ctx.app.request(PATH, { method: 'POST', body: '{}' })).status).toBe(404);
  });
});
