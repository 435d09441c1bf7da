// GET /pay/{id} in-process: the security headers, the three languages, option links, the QR code of the
// amount still due, expiry, the 404 page, and that nothing merchant-private reaches the page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordPayment } from '../../src/invoices/state';
import { CHECKOUT_JS } from '../../src/ui/generated/checkout-js';
import { createTestContext, createTestMerchant, jsonRequest, type TestContext } from '../helpers/services';

let ctx: TestContext;
let apiKey: string;

const nb = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');
const decode = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

async function newInvoice(body: Record<string, unknown> = {}) {
  const res = await ctx.app.request(
    '/v1/invoices',
    jsonRequest(apiKey, { amount: '15000.00', currency: 'KZT', description: 'Two lattes', ...body }),
  );
  expect(res.status).toBe(201);
  return (await res.json()) as {
    id: string;
    paymentOptions: { option: string; uri: string; amount: string }[];
  };
}

async function page(path: string, headers: Record<string, string> = {}) {
  const res = await ctx.app.request(path, { headers });
  return { res, html: await res.text() };
}

/** The JSON the page hands its script. */
const pageData = (html: string) => JSON.parse(decode(/data-checkout="([^"]*)"/.exec(html)![1]!));

beforeAll(async () => {
  ctx = await createTestContext();
  apiKey = (await createTestMerchant(ctx, { name: 'Kofe Alatau' })).apiKey.apiKey;
});
afterAll(() => ctx.close());

describe('GET /pay/{id}', () => {
  it('answers with a CSP that has no inline script and forbids framing', async () => {
    const inv = await newInvoice();
    const { res, html } = await page(`/pay/${inv.id}`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    // Every script is a file from this origin: none inline, none from another host.
    const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]!);
    expect(scripts.length).toBe(1);
    for (const s of scripts) expect(s).toMatch(/src="\/assets\/checkout\.js\?v=[0-9a-f]{12}"/);
    expect(html).not.toMatch(/\son[a-z]+="/);
    // Only the SVG namespace names another host, and nothing fetches it.
    expect(html).not.toMatch(/https?:\/\/(?!gateway\.test|www\.w3\.org\/2000\/svg")/);
  });

  it('speaks Kazakh, Russian and English, by ?lang or Accept-Language', async () => {
    const inv = await newInvoice();
    const kk = await page(`/pay/${inv.id}?lang=kk`);
    expect(kk.html).toContain('<html lang="kk">');
    expect(nb(kk.html)).toContain('15 000,00 ₸');
    expect(kk.html).toContain('Төлеміңізді күтудеміз');
    expect(kk.res.headers.get('content-language')).toBe('kk');

    const ru = await page(`/pay/${inv.id}`, { 'accept-language': 'ru-RU,ru;q=0.9,en;q=0.5' });
    expect(ru.html).toContain('<html lang="ru">');
    expect(nb(ru.html)).toContain('15 000,00 ₸');
    expect(ru.html).toContain('Ожидаем ваш платёж');
    expect(ru.html).toContain('Скопировать адрес');

    const en = await page(`/pay/${inv.id}?lang=en`, { 'accept-language': 'ru' });
    expect(en.html).toContain('₸15,000.00');
    expect(en.html).toContain('Waiting for your payment');
    expect(en.html).toContain('Kofe Alatau');
    expect(en.html).toContain('Two lattes');
    // The switcher links keep the chosen option.
    expect(decode(en.html)).toContain(`href="/pay/${inv.id}?lang=kk&option=BTC%40bitcoin-regtest"`);
  });

  it('shows the chosen option with its QR code, copy fields and payment URI', async () => {
    const inv = await newInvoice();
    const ltc = inv.paymentOptions.find((o) => o.option === 'LTC@litecoin-regtest')!;
    const { html } = await page(`/pay/${inv.id}?lang=en&option=LTC@litecoin-regtest`);
    expect(html).toMatch(/aria-current="true" data-option="LTC@litecoin-regtest"/);
    expect(html).toContain(`data-value="${ltc.amount}"`);
    expect(decode(html)).toContain(`<a class="button" id="uri" href="${ltc.uri}">`);
    expect(html).toContain('<svg xmlns="http://www.w3.org/2000/svg"');
    expect(html).toContain(`aria-label="QR code to pay ${ltc.amount} LTC"`);
    expect(html).toContain('data-copy="address"');
    // An unknown option falls back to the first.
    const other = await page(`/pay/${inv.id}?lang=en&option=DOGE@nowhere`);
    expect(other.html).toMatch(/aria-current="true" data-option="BTC@bitcoin-regtest"/);
  });

  it('after a partial payment: the remainder, and a QR code and URI for it', async () => {
    const inv = await newInvoice();
    await ctx.db.sql.begin((tx) =>
      recordPayment(tx, ctx.services.state, {
        invoiceId: inv.id,
        option: 'BTC@bitcoin-regtest',
        network: 'bitcoin-regtest',
        txid: 'cd'.repeat(32),
        outputIndex: 0,
        fromAddresses: [],
        amountAtomic: 10_000n,
        amountTiyn: 500_000n,
        confirmations: 0,
        blockHash: null,
        blockHeight: null,
        rbf: false,
      }),
    );
    const { html } = await page(`/pay/${inv.id}?lang=ru`);
    expect(html).toContain('data-phase="partial"');
    expect(nb(decode(html))).toContain('Получено 5 000,00 ₸. Осталось оплатить: 10 000,00 ₸.');
    expect(html).toContain('data-value="0.0002"');
    expect(decode(html)).toMatch(/id="uri" href="bitcoin:bcrt1[0-9a-z]+\?amount=0\.0002&/);
    expect(pageData(html).view.amountDue).toBe('10000.00');
  });

  it('an expired invoice offers nothing to pay', async () => {
    const inv = await newInvoice();
    await ctx.db.sql`update invoices set expires_at = now() - interval '1 minute' where id = ${inv.id}`;
    const { html } = await page(`/pay/${inv.id}?lang=en`);
    expect(html).toContain('data-phase="expired"');
    expect(html).toContain('This invoice has expired');
    expect(html).toMatch(/<section class="card" id="pay" hidden=""/);
    expect(html).not.toContain('<svg xmlns');
  });

  it('hands the script the public view only: no order id, metadata, buyer e-mail, merchant id', async () => {
    const inv = await newInvoice({
      orderId: 'secret-order-9',
      metadata: { internal: 'do-not-show' },
      buyerEmail: 'buyer@example.kz',
    });
    const { html } = await page(`/pay/${inv.id}?lang=en`);
    for (const secret of ['secret-order-9', 'do-not-show', 'buyer@example.kz', 'mer_']) {
      expect(html).not.toContain(secret);
    }
    const data = pageData(html);
    expect(data).toMatchObject({ id: inv.id, lang: 'en', merchant: 'Kofe Alatau' });
    expect(data.messages.status.paid).toBe('Paid');
    // BTC is not an EVM option: no browser-wallet button data.
    expect(data.option).toBeNull();
  });

  it('answers an unknown invoice with a localized 404 page', async () => {
    const { res, html } = await page('/pay/inv_01jd8x3q4m5n6p7r8s9t0v1w2x?lang=ru');
    expect(res.status).toBe(404);
    expect(html).toContain('Счёт не найден');
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const bad = await page('/pay/not-an-id', { 'accept-language': 'kk' });
    expect(bad.res.status).toBe(404);
    expect(bad.html).toContain('Шот табылмады');
  });
});

describe('/assets', () => {
  it('serves the script and the stylesheet from this origin, cacheable by content hash', async () => {
    const { html } = await page(`/pay/${(await newInvoice()).id}`);
    const js = /src="(\/assets\/checkout\.js\?v=[0-9a-f]+)"/.exec(html)![1]!;
    const res = await ctx.app.request(js);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('cache-control')).toContain('immutable');
    expect(await res.text()).toBe(CHECKOUT_JS);
    const etag = res.headers.get('etag')!;
    expect((await ctx.app.request(js, { headers: { 'if-none-match': etag } })).status).toBe(304);
    const css = await ctx.app.request('/assets/ui.css');
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(css.headers.get('cache-control')).toBe('public, max-age=300');
    expect((await ctx.app.request('/assets/nope.js')).status).toBe(404);
  });

  it('the script is valid JavaScript without template literals or eval', () => {
    expect(() => new Function(CHECKOUT_JS)).not.toThrow();
    expect(CHECKOUT_JS).not.toMatch(/\beval\(|new Function|innerHTML|document\.write/);
  });
});
