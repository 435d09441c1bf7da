// Idempotency-Key on POST /v1/invoices (IETF draft, SPEC section 6).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkIdempotencyKey, requestFingerprint } from '../../src/http/idempotency';
import { createInvoice } from '../../src/invoices/create';
import { ValidationError } from '../../src/lib/errors';
import { checkContract } from '../helpers/contract';
import { createTestContext, createTestMerchant, jsonRequest, type TestContext } from '../helpers/services';
import { type ControlledRates, controlledRates, expectProblem, paths, writeSnapshot } from './api-support';

let ctx: TestContext;
let rates: ControlledRates;
let keyA: string;
let merchantA: string;
let keyB: string;

beforeAll(async () => {
  rates = controlledRates();
  ctx = await createTestContext({}, { rates });
  await checkContract(ctx.app); // every answer below is checked against /openapi.json
  const a = await createTestMerchant(ctx, { name: 'Shop A' });
  keyA = a.apiKey.apiKey;
  merchantA = a.merchant.id;
  keyB = (await createTestMerchant(ctx, { name: 'Shop B' })).apiKey.apiKey;
});
afterAll(() => ctx.close());

const BODY = { amount: '15000.00', currency: 'KZT', orderId: 'idem-1', metadata: { a: 1, b: 2 } };
const post = (key: string, body: unknown, idem?: string) =>
  ctx.app.request(
    '/v1/invoices',
    jsonRequest(key, body, idem === undefined ? {} : { 'idempotency-key': idem }),
  );
const invoiceCount = async (merchantId: string) => {
  const [r] = await ctx.db.sql`select count(*)::int as n from invoices where merchant_id = ${merchantId}`;
  return r!.n as number;
};

describe('Idempotency-Key', () => {
  it('same key and body → the same invoice, replayed, one row', async () => {
    const before = await invoiceCount(merchantA);
    const first = await post(keyA, BODY, 'order-1042-attempt');
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const firstJson = await first.json();
    const second = await post(keyA, BODY, 'order-1042-attempt');
    expect(second.status).toBe(201);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.headers.get('location')).toBe(`/v1/invoices/${firstJson.id}`);
    expect(await second.json()).toEqual(firstJson);
    // The same JSON with its keys in another order is the same request.
    const reordered = await post(
      keyA,
      { metadata: { b: 2, a: 1 }, orderId: 'idem-1', currency: 'KZT', amount: '15000.00' },
      'order-1042-attempt',
    );
    expect(reordered.status).toBe(201);
    expect(reordered.headers.get('idempotent-replayed')).toBe('true');
    expect((await reordered.json()).id).toBe(firstJson.id);
    expect(await invoiceCount(merchantA)).toBe(before + 1);
  });

  it('without a key, every POST is a new invoice', async () => {
    const a = await (await post(keyA, BODY)).json();
    const b = await (await post(keyA, BODY)).json();
    expect(a.id).not.toBe(b.id);
  });

  it('keys belong to one merchant: another merchant’s same key is its own request', async () => {
    const a = await (await post(keyA, BODY, 'shared-key')).json();
    const resB = await post(keyB, BODY, 'shared-key');
    expect(resB.status).toBe(201);
    expect(resB.headers.get('idempotent-replayed')).toBeNull();
    const b = await resB.json();
    expect(b.id).not.toBe(a.id);
    const bSees = await ctx.app.request(`/v1/invoices/${a.id}`, jsonRequest(keyB));
    await expectProblem(bSees, 404, 'invoice_not_found');
  });

  it('same key, other body → 422 idempotency_key_reused, nothing written', async () => {
    expect((await post(keyA, BODY, 'reuse-me')).status).toBe(201);
    const before = await writeSnapshot(ctx.db.sql);
    const p = await expectProblem(await post(keyA, { ...BODY, amount: '15000.01' }, 'reuse-me'), 422);
    expect(p.code).toBe('idempotency_key_reused');
    expect(await writeSnapshot(ctx.db.sql)).toEqual(before);
  });

  it('while the first request is in flight → 409, then the first completes and replays', async () => {
    let release!: () => void;
    rates.gate = new Promise<void>((r) => {
      release = r;
    });
    const reached = rates.nextCall();
    const first = post(keyA, BODY, 'slow-one');
    try {
      await reached; // the first request holds the key and waits for its rates
      rates.gate = undefined; // later requests are not held
      const p = await expectProblem(await post(keyA, BODY, 'slow-one'), 409, 'idempotency_key_in_flight');
      expect(p.detail).toMatch(/in flight/);
      // A different body under the in-flight key is still a reuse, not a wait.
      await expectProblem(
        await post(keyA, { ...BODY, amount: '1.00' }, 'slow-one'),
        422,
        'idempotency_key_reused',
      );
    } finally {
      release();
    }
    const res = await first;
    expect(res.status).toBe(201);
    const json = await res.json();
    const replay = await post(keyA, BODY, 'slow-one');
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect((await replay.json()).id).toBe(json.id);
  });

  it('a failed first attempt frees the key: a retry with it succeeds', async () => {
    rates.mode = 'down';
    const before = await writeSnapshot(ctx.db.sql);
    try {
      const p = await expectProblem(await post(keyA, BODY, 'retry-after-outage'), 503, 'rate_unavailable');
      expect(p.detail).toMatch(/BTC|LTC/);
    } finally {
      rates.mode = 'up';
    }
    expect(await writeSnapshot(ctx.db.sql)).toEqual(before);
    const ok = await post(keyA, BODY, 'retry-after-outage');
    expect(ok.status).toBe(201);
    expect(ok.headers.get('idempotent-replayed')).toBeNull();
  });

  it('a body that fails validation stores nothing under the key, so the fixed body can use it', async () => {
    const before = await writeSnapshot(ctx.db.sql);
    await expectProblem(await post(keyA, { ...BODY, amount: '1.001' }, 'fix-and-retry'), 422);
    expect(await writeSnapshot(ctx.db.sql)).toEqual(before);
    expect((await post(keyA, BODY, 'fix-and-retry')).status).toBe(201);
  });

  it.each([
    ['256 characters', 'k'.repeat(256)],
    ['a space', 'my key'],
    ['a non-ASCII character', 'clé-1'],
    ['a control character', 'key\u0001'],
  ])('a key with %s → 400 naming the header, nothing written', async (_what, key) => {
    const before = await writeSnapshot(ctx.db.sql);
    const p = await expectProblem(await post(keyA, BODY, key), 400, 'idempotency_key_invalid');
    expect(paths(p)).toEqual(['header.Idempotency-Key']);
    expect(await writeSnapshot(ctx.db.sql)).toEqual(before);
  });

  it('a key of exactly 255 characters is accepted', async () => {
    const res = await post(keyA, BODY, 'k'.repeat(255));
    expect(res.status).toBe(201);
  });
});

describe('checkIdempotencyKey / requestFingerprint', () => {
  it('accepts 1..255 visible ASCII characters and refuses the rest', () => {
    expect(checkIdempotencyKey(undefined)).toBeUndefined();
    expect(checkIdempotencyKey('a')).toBe('a');
    expect(checkIdempotencyKey('~'.repeat(255))).toBe('~'.repeat(255));
    for (const bad of ['', 'x'.repeat(256), 'a b', 'tab\there', 'ключ', 'nul\u0000']) {
      expect(() => checkIdempotencyKey(bad)).toThrow(ValidationError);
    }
  });

  it('depends on method, path and body content, not on key order', () => {
    const a = requestFingerprint('POST', '/v1/invoices', { x: 1, y: { b: 2, a: 1 } });
    expect(requestFingerprint('POST', '/v1/invoices', { y: { a: 1, b: 2 }, x: 1 })).toBe(a);
    expect(requestFingerprint('POST', '/v1/other', { x: 1, y: { b: 2, a: 1 } })).not.toBe(a);
    expect(requestFingerprint('PUT', '/v1/invoices', { x: 1, y: { b: 2, a: 1 } })).not.toBe(a);
    expect(requestFingerprint('POST', '/v1/invoices', { x: 2, y: { b: 2, a: 1 } })).not.toBe(a);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('a process killed between storing the invoice and recording the answer', () => {
  // Found by the chaos run (sandbox/chaos.ts): the retry, once the key counted as abandoned,
  // created a second invoice for the same order.
  it('leaves the key done with the answer, so a late retry replays the same invoice', async () => {
    const body = { ...BODY, currency: 'KZT' as const, orderId: 'idem-killed' };
    const key = 'killed-after-insert';
    // What withIdempotency did before calling the handler: the key claimed, in flight.
    await ctx.db.sql`insert into idempotency_keys (merchant_id, key, request_hash, state, claim)
      values (${merchantA}, ${key}, ${requestFingerprint('POST', '/v1/invoices', body)}, 'in_flight', 'c1')`;
    // The handler stores the invoice; the process dies before withIdempotency's own update.
    const inv = await createInvoice(ctx.services, merchantA, body, { idempotency: { key, claim: 'c1' } });
    const [row] = await ctx.db.sql<
      { state: string; response_status: number; response_body: { id: string } }[]
    >`
      select state, response_status, response_body from idempotency_keys
      where merchant_id = ${merchantA} and key = ${key}`;
    expect(row).toMatchObject({ state: 'done', response_status: 201, response_body: { id: inv.id } });

    // Long after, past the window in which an in-flight key counts as abandoned, the client retries.
    await ctx.db.sql`update idempotency_keys set created_at = now() - interval '10 minutes'
      where merchant_id = ${merchantA} and key = ${key}`;
    const before = await invoiceCount(merchantA);
    const retry = await post(keyA, body, key);
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect((await retry.json()).id).toBe(inv.id);
    expect(await invoiceCount(merchantA)).toBe(before);
    const [n] = await ctx.db.sql`select count(*)::int as n from invoices where order_id = 'idem-killed'`;
    expect(n!.n).toBe(1);
  });

  it('without a key, the statement touches no idempotency row', async () => {
    const [before] = await ctx.db.sql`select count(*)::int as n from idempotency_keys`;
    await createInvoice(ctx.services, merchantA, { ...BODY, currency: 'KZT', orderId: 'idem-none' });
    const [after] = await ctx.db.sql`select count(*)::int as n from idempotency_keys`;
    expect(after!.n).toBe(before!.n);
  });
});

describe('a key taken over while its first request is still running (issue 13 item 7)', () => {
  // The first request is held past the abandonment window (its key aged by a minute and more, as a
  // fake clock would), a retry takes the key over, then both run to the end: one invoice, one answer.
  it('fences the original: exactly one invoice, and both clients end up with it', async () => {
    const body = { ...BODY, orderId: 'idem-takeover' };
    const key = 'taken-over';
    let release!: () => void;
    rates.gate = new Promise<void>((r) => {
      release = r;
    });
    const reachedFirst = rates.nextCall();
    const first = post(keyA, body, key);
    let second: Promise<Response> | undefined;
    try {
      await reachedFirst;
      await ctx.db.sql`update idempotency_keys set created_at = now() - interval '61 seconds'
        where merchant_id = ${merchantA} and key = ${key}`;
      const reachedSecond = rates.nextCall();
      second = Promise.resolve(post(keyA, body, key)); // takes the key over, then waits at the same gate
      await reachedSecond;
    } finally {
      rates.gate = undefined;
      release();
    }
    const answers = await Promise.all([first, second!]);
    const [n] = await ctx.db.sql`select count(*)::int as n from invoices where order_id = 'idem-takeover'`;
    expect(n!.n).toBe(1);
    const won = answers.filter((r) => r.status === 201);
    const lost = answers.filter((r) => r.status !== 201);
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const p = await expectProblem(lost[0]!, 409, 'idempotency_key_superseded');
    expect(p.detail).toMatch(/retry/);
    // The loser's client retries and is told the winner's invoice; nothing half-written is left.
    const winner = await won[0]!.json();
    const retry = await post(keyA, body, key);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect((await retry.json()).id).toBe(winner.id);
    const [orphans] = await ctx.db.sql`select
      (select count(*)::int from payment_options o join invoices i on i.id = o.invoice_id
        where i.order_id = 'idem-takeover') as options,
      (select count(*)::int from outbox e join invoices i on i.id = e.invoice_id
        where i.order_id = 'idem-takeover') as events`;
    expect(orphans).toEqual({ options: 2, events: 1 }); // BTC and LTC, one invoice.created
  });
});
