// The outside screening provider against a local server answering with recorded Chainalysis sanctions
// API bodies (and the generic JSON shape): a hit holds the payment, a timeout holds it under the
// default policy and lets it through under `allow`.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProviderScreener, providerUrl, readProviderAnswer } from '../../src/aml/screeners/provider';
import type { ScreenSubject } from '../../src/aml/types';
import { type FixtureServer, startServer } from '../rates/server';
import { amlContext, newInvoice, payAndScreen } from './support';

const fx = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const SANCTIONED = '0x1da5821544e25c636c1417ba96ade4cf6d2f9b5a';
const SLOW = 'bcrt1qslowslowslowslowslowslowslowslowslow';
const BROKEN = 'bcrt1qbrokenbrokenbrokenbrokenbrokenbroke';
const GENERIC = 'bcrt1qgenericgenericgenericgenericgeneric';
const KEY = 'test-provider-key';

let server: FixtureServer;
beforeAll(async () => {
  server = await startServer((url, req) => {
    if (url.pathname.startsWith('/generic/')) {
      return {
        body: JSON.stringify({ risk: 'medium', reasons: [{ code: 'mixer', message: 'mixer exposure 12%' }] }),
      };
    }
    if (req.headers['x-api-key'] !== KEY) return { status: 403, body: fx('chainalysis-unauthorized.json') };
    const address = decodeURIComponent(url.pathname.replace('/api/v1/address/', ''));
    if (address === SLOW) return { hang: true };
    if (address === BROKEN) return { status: 500, body: 'upstream exploded', contentType: 'text/plain' };
    if (address.toLowerCase() === SANCTIONED) return { body: fx('chainalysis-sanctioned.json') };
    return { body: fx('chainalysis-clean.json') };
  });
});
afterAll(() => server?.close());

const subject = (addresses: string[]): ScreenSubject => ({
  kind: 'payment',
  network: 'bitcoin-regtest',
  addresses,
  amountTiyn: 100n,
  invoiceId: 'inv_x',
  at: new Date(),
  q: undefined as never,
});

describe('the provider screener', () => {
  // Generous timeouts where an answer comes (a loaded CI machine is slow); short where none will.
  const screener = (failPolicy: 'hold' | 'allow' = 'hold', apiKey = KEY, timeoutMs = 10_000) =>
    createProviderScreener({ url: server.baseUrl, apiKey, timeoutMs, failPolicy });

  it('grades a Chainalysis identification severe and a clean answer none, sending X-API-Key', async () => {
    const hit = await screener().screen(subject([SANCTIONED]));
    expect(hit.risk).toBe('severe');
    expect(hit.reasons[0]).toMatchObject({ code: 'provider_identification' });
    expect(hit.reasons[0]!.message).toContain('Secondeye Solution');
    expect(server.requests).toContain(`/api/v1/address/${SANCTIONED}`);
    expect(await screener().screen(subject(['bcrt1qclean']))).toEqual({
      screener: 'provider',
      risk: 'none',
      reasons: [],
    });
  });

  it('a timeout, an HTTP error or a refused key hold by default and pass under "allow"', async () => {
    for (const address of [SLOW, BROKEN]) {
      const held = await screener('hold', KEY, 300).screen(subject([address]));
      expect(held.risk).toBe('high');
      expect(held.reasons[0]!.code).toBe('provider_unavailable');
      const allowed = await screener('allow', KEY, 300).screen(subject([address]));
      expect(allowed.risk).toBe('none');
      expect(allowed.reasons[0]!.code).toBe('provider_unavailable');
    }
    expect((await screener('hold', KEY, 300).screen(subject([SLOW]))).reasons[0]!.message).toMatch(
      /timed out after 300 ms/,
    );
    expect((await screener('hold', 'wrong').screen(subject(['bcrt1qclean']))).risk).toBe('high');
  });

  it('reads the generic shape through a URL template', async () => {
    const s = createProviderScreener({
      url: `${server.baseUrl}/generic/{address}`,
      timeoutMs: 1000,
      failPolicy: 'hold',
    });
    const r = await s.screen(subject([GENERIC]));
    expect(r).toEqual({
      screener: 'provider',
      risk: 'medium',
      reasons: [{ code: 'provider_mixer', message: `${GENERIC}: mixer exposure 12%` }],
    });
    expect(providerUrl('https://x.test/', 'a b')).toBe('https://x.test/api/v1/address/a%20b');
    expect(() => readProviderAnswer('a', { unexpected: true })).toThrow(/neither/);
  });
});

describe('the provider inside payment screening', () => {
  let ctx: Awaited<ReturnType<typeof amlContext>>;
  afterAll(() => ctx?.close());

  it('holds a payment whose screening timed out, and one the provider identifies', async () => {
    ctx = await amlContext({
      SCREENING_PROVIDER_URL: server.baseUrl,
      SCREENING_PROVIDER_KEY: KEY,
      SCREENING_PROVIDER_TIMEOUT_MS: '2000',
    });
    const slow = await payAndScreen(ctx, await newInvoice(ctx, ctx.merchantId), { from: [SLOW] });
    expect(slow.outcome).toMatchObject({ risk: 'high', held: true });
    expect(slow.invoice.review).toBe('held');
    const [c] = await ctx.db.sql`select reasons from aml_cases where id = ${slow.outcome.caseId}`;
    expect(c!.reasons).toEqual([expect.objectContaining({ code: 'provider_unavailable' })]);

    const hit = await payAndScreen(ctx, await newInvoice(ctx, ctx.merchantId), { from: [SANCTIONED] });
    expect(hit.outcome).toMatchObject({ risk: 'severe', held: true });

    const clean = await payAndScreen(ctx, await newInvoice(ctx, ctx.merchantId), { from: ['bcrt1qclean'] });
    expect(clean.outcome).toMatchObject({ risk: 'none', held: false, caseId: null });
  });

  it('under SCREENING_PROVIDER_FAIL_POLICY=allow a timeout lets the payment through', async () => {
    const allow = await amlContext({
      SCREENING_PROVIDER_URL: server.baseUrl,
      SCREENING_PROVIDER_KEY: KEY,
      SCREENING_PROVIDER_TIMEOUT_MS: '2000',
      SCREENING_PROVIDER_FAIL_POLICY: 'allow',
    });
    try {
      const slow = await payAndScreen(allow, await newInvoice(allow, allow.merchantId), { from: [SLOW] });
      expect(slow.outcome).toMatchObject({ risk: 'none', held: false, caseId: null });
      const [s] = await allow.db.sql`select results from screenings where payment_id = ${slow.paymentId}`;
      expect(JSON.stringify(s!.results)).toContain('provider_unavailable');
    } finally {
      await allow.close();
    }
  });
});
