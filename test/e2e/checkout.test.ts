// The checkout page in a real browser (playwright-core driving Debian's chromium): the three languages,
// live status over server-sent events as the state machine records a payment (seen → confirming →
// paid → back to the merchant), a partial payment's remainder, expiry, the polling fallback, copy
// buttons and keyboard use, the CSP, and not one request to another host.
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confirmPayment, expireDue, recordPayment } from '../../src/invoices/state';
import { createTestContext, createTestMerchant, jsonRequest, type TestContext } from '../helpers/services';
import {
  cspViolations,
  guardThirdParty,
  launchChromium,
  plain,
  recordCspViolations,
  type Served,
  screenshotDir,
  serveApp,
  skipBrowser,
} from './browser';

let ctx: TestContext;
let apiKey: string;
let browser: Browser;
let app: Served;
let shop: Served;
let context: BrowserContext;
let foreign: string[];

async function newInvoice(body: Record<string, unknown> = {}) {
  const res = await ctx.app.request(
    '/v1/invoices',
    jsonRequest(apiKey, {
      amount: '15000.00',
      currency: 'KZT',
      description: 'Two lattes and a croissant',
      ...body,
    }),
  );
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; paymentOptions: { option: string; amountAtomic: string }[] };
}

let txSeq = 0;
/** A synthetic BTC payment through the state machine (the same call the chain watchers make). */
async function pay(invoiceId: string, sats: bigint, tiyn: bigint) {
  const txid = (++txSeq).toString(16).padStart(64, 'e');
  const r = await ctx.db.sql.begin((tx) =>
    recordPayment(tx, ctx.services.state, {
      invoiceId,
      option: 'BTC@bitcoin-regtest',
      network: 'bitcoin-regtest',
      txid,
      outputIndex: 0,
      fromAddresses: [],
      amountAtomic: sats,
      amountTiyn: tiyn,
      confirmations: 0,
      blockHash: null,
      blockHeight: null,
      rbf: false,
    }),
  );
  return r.paymentId;
}

const confirm = (paymentId: string, n: number) =>
  ctx.db.sql.begin((tx) =>
    confirmPayment(tx, ctx.services.state, paymentId, n, { hash: 'ab'.repeat(32), height: 7n }),
  );

const text = async (page: Page, sel: string) => plain(await page.locator(sel).textContent());
const phase = (page: Page, p: string) => page.waitForSelector(`#status[data-phase="${p}"]`);

describe.skipIf(skipBrowser)('checkout in chromium', () => {
  beforeAll(async () => {
    // Launch first: a missing browser under CI fails here, loudly.
    browser = await launchChromium();
    ctx = await createTestContext({ SSE_POLL_MS: '100', SSE_MAX_SECONDS: '30' });
    apiKey = (await createTestMerchant(ctx, { name: 'Alatau Demo Café' })).apiKey.apiKey;
    app = await serveApp(ctx.app.fetch);
    shop = await serveApp(
      () =>
        new Response('<!DOCTYPE html><title>Thanks</title><h1>Thank you</h1>', {
          headers: { 'content-type': 'text/html' },
        }),
    );
    context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    foreign = await guardThirdParty(context, () => [app.base, shop.base]);
    await recordCspViolations(context);
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await app?.close();
    await shop?.close();
    await ctx?.close();
  });

  it('shows the right words and amounts in Kazakh, Russian and English (with screenshots)', async () => {
    const inv = await newInvoice();
    const expected = {
      kk: {
        status: 'Төлеміңізді күтудеміз',
        amount: '15 000,00 ₸',
        copy: 'Мекенжайды көшіру',
        pay: 'Төлеу тәсілін таңдаңыз',
      },
      ru: {
        status: 'Ожидаем ваш платёж',
        amount: '15 000,00 ₸',
        copy: 'Скопировать адрес',
        pay: 'Выберите способ оплаты',
      },
      en: {
        status: 'Waiting for your payment',
        amount: '₸15,000.00',
        copy: 'Copy address',
        pay: 'Choose how to pay',
      },
    } as const;
    const page = await context.newPage();
    for (const [lang, words] of Object.entries(expected)) {
      const res = await page.goto(`${app.base}/pay/${inv.id}?lang=${lang}`);
      const csp = res!.headers()['content-security-policy']!;
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      await page.waitForSelector('#checkout[data-live="events"]');
      expect(await page.getAttribute('html', 'lang')).toBe(lang);
      expect(await text(page, '#amount-kzt')).toBe(words.amount);
      expect(await text(page, '#status-title')).toBe(words.status);
      expect(await text(page, '#pay-title')).toBe(words.pay);
      // The copy buttons exist only with the script, which shows them.
      expect(await page.locator('button[data-copy="address"]').isVisible()).toBe(true);
      expect(await text(page, 'button[data-copy="address"]')).toBe(words.copy);
      expect(await text(page, '#crypto-amount')).toBe('0.0003 BTC');
      expect(await text(page, '#countdown')).toMatch(/^1[45]:[0-5][0-9]$/);
      expect(await page.locator('#qr svg').getAttribute('aria-label')).toContain('0.0003 BTC');
      await page.screenshot({ path: join(screenshotDir(), `checkout-${lang}.png`), fullPage: true });
    }
    // Accept-Language alone picks the language.
    const ru = await browser.newContext({ locale: 'ru-RU' });
    try {
      const p = await ru.newPage();
      await p.goto(`${app.base}/pay/${inv.id}`);
      expect(await p.getAttribute('html', 'lang')).toBe('ru');
    } finally {
      await ru.close();
    }
    // The switcher: a link per language, the current one marked.
    await page.click('.langs a[lang="kk"]');
    await page.waitForURL(/lang=kk/);
    expect(await page.getAttribute('.langs a[aria-current="true"]', 'lang')).toBe('kk');
    expect(await cspViolations(page)).toEqual([]);
    await page.close();
  });

  it('moves live from waiting to payment seen and paid, then returns to the merchant', async () => {
    const inv = await newInvoice({ redirectUrl: `${shop.base}/thanks?order=42` });
    const page = await context.newPage();
    await page.goto(`${app.base}/pay/${inv.id}?lang=en`);
    await page.waitForSelector('#checkout[data-live="events"]');
    expect(await text(page, '#status-title')).toBe('Waiting for your payment');

    const paymentId = await pay(inv.id, 30_000n, 1_500_000n);
    await phase(page, 'seen');
    expect(await text(page, '#status-title')).toBe('Payment seen');
    expect(await text(page, '#status-detail')).toBe('Waiting for confirmations from the network: 0 of 1.');
    expect(await page.locator('#pay').isHidden()).toBe(true);
    expect(await text(page, '#payments')).toContain('₸15,000.00 · BTC');

    await confirm(paymentId, 1);
    await phase(page, 'paid');
    expect(await text(page, '#status-title')).toBe('Paid');
    expect(await text(page, '#status-detail')).toBe('Thank you! Alatau Demo Café has received your payment.');
    expect(await text(page, '#redirect-note')).toBe('Taking you back to Alatau Demo Café…');
    expect(await page.getAttribute('#back-link', 'href')).toBe(`${shop.base}/thanks?order=42`);
    await page.screenshot({ path: join(screenshotDir(), 'checkout-paid-en.png'), fullPage: true });
    await page.waitForURL(`${shop.base}/thanks?order=42`);
    await page.close();
  });

  it('a partial payment shows what is still due, with its own QR code and URI', async () => {
    const inv = await newInvoice();
    const page = await context.newPage();
    await page.goto(`${app.base}/pay/${inv.id}?lang=ru`);
    await page.waitForSelector('#checkout[data-live="events"]');
    const firstQr = await page.locator('#qr').getAttribute('href');
    expect(firstQr).toContain('amount=0.0003');

    await pay(inv.id, 10_000n, 500_000n);
    // The page reloads to draw the remainder's QR code on the server.
    await phase(page, 'partial');
    expect(await text(page, '#status-title')).toBe('Поступила часть оплаты');
    expect(await text(page, '#status-detail')).toBe(
      'Получено 5 000,00 ₸. Осталось оплатить: 10 000,00 ₸. Отправьте остаток по реквизитам ниже.',
    );
    expect(await text(page, '#crypto-amount')).toBe('0.0002 BTC');
    expect(await page.getAttribute('#uri', 'href')).toMatch(/^bitcoin:bcrt1[0-9a-z]+\?amount=0\.0002&/);
    expect(await page.getAttribute('#qr', 'href')).toBe(await page.getAttribute('#uri', 'href'));
    expect(await page.locator('#qr svg').getAttribute('aria-label')).toBe('QR-код для оплаты 0.0002 BTC');
    await page.screenshot({ path: join(screenshotDir(), 'checkout-partial-ru.png'), fullPage: true });

    await pay(inv.id, 20_000n, 1_000_000n);
    await phase(page, 'seen');
    expect(await text(page, '#status-title')).toBe('Платёж обнаружен');
    await page.close();
  });

  it('expires live: the countdown stops offering the payment details', async () => {
    const inv = await newInvoice();
    const page = await context.newPage();
    await page.goto(`${app.base}/pay/${inv.id}?lang=kk`);
    await page.waitForSelector('#checkout[data-live="events"]');
    expect(await page.locator('#pay').isVisible()).toBe(true);
    await ctx.db.sql`update invoices set expires_at = now() - interval '1 second' where id = ${inv.id}`;
    expect(await expireDue(ctx.db.sql, ctx.services.state)).toBeGreaterThanOrEqual(1);
    await phase(page, 'expired');
    expect(await text(page, '#status-title')).toBe('Бұл шоттың мерзімі өтті');
    expect(await page.locator('#pay').isHidden()).toBe(true);
    expect(await page.locator('#countdown-box').isHidden()).toBe(true);
    await page.close();
  });

  it('falls back to polling when server-sent events are unavailable', async () => {
    const inv = await newInvoice();
    const poller = await browser.newContext();
    try {
      await poller.addInitScript(() => {
        Object.defineProperty(window, 'EventSource', { value: undefined });
      });
      const page = await poller.newPage();
      await page.goto(`${app.base}/pay/${inv.id}?lang=en`);
      await page.waitForSelector('#checkout[data-live="polling"]');
      const paymentId = await pay(inv.id, 30_000n, 1_500_000n);
      await confirm(paymentId, 1);
      await phase(page, 'paid');
      expect(await page.getAttribute('#checkout', 'data-live')).toBe('stopped');
    } finally {
      await poller.close();
    }
  });

  it('copies the address, and every control is reachable by keyboard', async () => {
    const inv = await newInvoice();
    const keyboard = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
    try {
      const page = await keyboard.newPage();
      await page.goto(`${app.base}/pay/${inv.id}?lang=en`);
      await page.waitForSelector('#checkout[data-live="events"]');
      const address = await page.getAttribute('#address', 'data-value');
      await page.focus('button[data-copy="address"]');
      await page.keyboard.press('Enter');
      await page.waitForFunction(
        () => document.querySelector('button[data-copy="address"]')?.textContent === 'Copied',
      );
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(address);
      expect(await text(page, '#live-note')).toBe('Copied');

      // Tab order walks the language links, the option tabs, the QR link, the copy buttons, the URI.
      await page.focus('body');
      const seen: string[] = [];
      for (let i = 0; i < 12; i++) {
        await page.keyboard.press('Tab');
        seen.push(
          await page.evaluate(() => {
            const el = document.activeElement as HTMLElement;
            return (
              el.id ||
              el.getAttribute('data-option') ||
              el.getAttribute('data-copy') ||
              el.getAttribute('lang') ||
              el.tagName
            );
          }),
        );
      }
      expect(seen).toEqual(
        expect.arrayContaining([
          'kk',
          'ru',
          'en',
          'BTC@bitcoin-regtest',
          'LTC@litecoin-regtest',
          'qr',
          'crypto-amount',
          'address',
          'uri',
        ]),
      );
      // Enter on an option tab switches to it, no script needed.
      await page.focus('a[data-option="LTC@litecoin-regtest"]');
      await Promise.all([page.waitForURL(/option=LTC/), page.keyboard.press('Enter')]);
      expect(await text(page, '#crypto-amount')).toBe('0.3 LTC');
    } finally {
      await keyboard.close();
    }
  });

  it('asked nothing of any host but the gateway (and the merchant it returned to)', async () => {
    expect(foreign).toEqual([]);
  });
});
