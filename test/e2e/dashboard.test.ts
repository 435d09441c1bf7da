// The merchant dashboard in chromium: sign in, create an invoice with the form, follow it to paid (the
// payer's checkout page and the dashboard both), manage a webhook endpoint whose delivery arrives at a
// real receiver, export CSV, sign out; and no request to another host on the way.
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboardUser } from '../../src/dashboard/users';
import { confirmPayment, recordPayment } from '../../src/invoices/state';
import { runWebhookTick } from '../../src/webhooks/dispatch';
import { createTestContext, createTestMerchant, jsonRequest, type TestContext } from '../helpers/services';
import { type Receiver, startReceiver } from '../webhooks/receiver';
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

const PASSWORD = 'correct horse battery staple';
let ctx: TestContext;
let browser: Browser;
let app: Served;
let receiver: Receiver;
let context: BrowserContext;
let page: Page;
let foreign: string[];
let apiKey: string;
let merchantId: string;
let invoiceId: string;
let txn = 0;

async function pay(invoiceId: string, sats: bigint, tiyn: bigint, seenAt?: Date) {
  const r = await ctx.db.sql.begin((tx) =>
    recordPayment(tx, ctx.services.state, {
      invoiceId,
      option: 'LTC@litecoin-regtest',
      network: 'litecoin-regtest',
      txid: (++txn).toString(16).padStart(64, 'c'),
      outputIndex: 0,
      fromAddresses: [],
      amountAtomic: sats,
      amountTiyn: tiyn,
      confirmations: 0,
      blockHash: null,
      blockHeight: null,
      rbf: false,
      ...(seenAt ? { seenAt } : {}),
    }),
  );
  await ctx.db.sql.begin((tx) =>
    confirmPayment(tx, ctx.services.state, r.paymentId, 1, { hash: null, height: 9n }),
  );
}

/** A few weeks of paid invoices, so the chart has something to draw. */
async function history() {
  for (let i = 0; i < 8; i++) {
    const kzt = 4_800 + ((i * 3_700) % 11_000);
    const res = await ctx.app.request(
      '/v1/invoices',
      jsonRequest(apiKey, {
        amount: `${kzt}.00`,
        currency: 'KZT',
        orderId: `H-${100 + i}`,
        description: 'Flat white',
      }),
    );
    const inv = (await res.json()) as { id: string };
    const tiyn = BigInt(kzt) * 100n;
    // LTC at the sandbox's fixed 50,000 ₸: 1 tiyn = 20 litoshi.
    await pay(inv.id, tiyn * 20n, tiyn, new Date(Date.now() - (i * 3 + 1) * 86_400_000));
  }
}

const text = async (sel: string) => plain(await page.locator(sel).textContent());

describe.skipIf(skipBrowser)('merchant dashboard in chromium', () => {
  beforeAll(async () => {
    browser = await launchChromium();
    // Serve first, so the app's PUBLIC_URL (checkout links) is the address the browser reaches.
    let handler: (req: Request) => Response | Promise<Response> = () =>
      new Response('starting', { status: 503 });
    app = await serveApp((req) => handler(req));
    ctx = await createTestContext({ DASHBOARD_SCRYPT_LOG_N: '10', SSE_POLL_MS: '100', PUBLIC_URL: app.base });
    handler = ctx.app.fetch;
    const m = await createTestMerchant(ctx, { name: 'Alatau Demo Café' });
    apiKey = m.apiKey.apiKey;
    merchantId = m.merchant.id;
    await createDashboardUser(ctx.db.sql, {
      merchantId,
      email: 'owner@cafe.kz',
      password: PASSWORD,
      scryptLogN: 10,
    });
    await history();
    receiver = await startReceiver();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    foreign = await guardThirdParty(context, () => [app.base]);
    await recordCspViolations(context);
    page = await context.newPage();
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await app?.close();
    await receiver?.close();
    await ctx?.close();
  });

  it('signs in and shows the overview with the daily volume chart', async () => {
    await page.goto(`${app.base}/dashboard`);
    expect(new URL(page.url()).pathname).toBe('/dashboard/login');
    await page.fill('input[name=email]', 'owner@cafe.kz');
    await page.fill('input[name=password]', PASSWORD);
    await Promise.all([page.waitForURL(`${app.base}/dashboard`), page.click('button[type=submit]')]);
    expect(await text('header strong')).toBe('Alatau Demo Café');
    const cookie = (await context.cookies()).find((c) => c.name === 'dash_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/dashboard' });
    expect(await page.locator('#volume-chart rect.bar').count()).toBe(30);
    const tall = await page.locator('#volume-chart rect.bar[height]:not([height="0"])').count();
    expect(tall).toBeGreaterThanOrEqual(6);
    expect(await text('#stats')).toContain('Paid invoices8');
    await page.screenshot({ path: join(screenshotDir(), 'dashboard-overview.png'), fullPage: true });
  });

  it('creates an invoice with the form and follows it to paid', async () => {
    await page.click('nav a[href="/dashboard/invoices/new"]');
    await page.fill('input[name=amount]', '15 000');
    await page.fill('input[name=description]', 'Two lattes and a croissant');
    await page.fill('input[name=orderId]', 'A-1042');
    await page.uncheck('input[value="BTC@bitcoin-regtest"]');
    await Promise.all([
      page.waitForURL(/\/dashboard\/invoices\/inv_[0-9a-z]{26}\?done=created$/),
      page.click('#new-invoice button[type=submit]'),
    ]);
    invoiceId = /inv_[0-9a-z]{26}/.exec(page.url())![0];
    expect(await text('#notice')).toBe('The invoice is created. Send the payer its checkout link.');
    expect(await text('#invoice-status')).toBe('new');

    // The payer opens the checkout link from the dashboard and pays.
    const payer = await context.newPage();
    await payer.goto((await page.getAttribute('#checkout-link', 'href')) as string);
    await payer.waitForSelector('#checkout[data-live="events"]');
    expect(plain(await payer.locator('#crypto-amount').textContent())).toBe('0.3 LTC');
    await pay(invoiceId, 30_000_000n, 1_500_000n);
    await payer.waitForSelector('#status[data-phase="paid"]');
    await payer.close();

    await page.reload();
    expect(await text('#invoice-status')).toBe('settled');
    expect(await text('#invoice-paid')).toBe('₸15,000.00');
    expect(await text('#payments')).toContain('1 of 1');
    const events = await page
      .locator('#timeline li[data-event]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-event')));
    expect(events).toEqual([
      'invoice.created',
      'invoice.payment_received',
      'invoice.processing',
      'invoice.settled',
    ]);
    await page.screenshot({ path: join(screenshotDir(), 'dashboard-invoice.png'), fullPage: true });

    // The list finds it by order id.
    await page.goto(`${app.base}/dashboard/invoices`);
    await page.fill('input[name=orderId]', 'A-1042');
    await Promise.all([
      page.waitForURL(/orderId=A-1042/),
      page.click('form[aria-label="Filter invoices"] button'),
    ]);
    expect(await page.locator('#invoices tbody tr').count()).toBe(1);
    expect(await page.getAttribute('#invoices tbody tr', 'data-invoice')).toBe(invoiceId);
  });

  it('adds a webhook endpoint, shows its secret once, lists the delivery the receiver got', async () => {
    await page.click('nav a[href="/dashboard/webhooks"]');
    await page.fill('input[name=url]', receiver.url);
    await page.check('input[value="invoice.created"]');
    await page.click('#new-webhook button[type=submit]');
    await page.waitForSelector('#webhook-secret');
    const secret = await text('#webhook-secret');
    expect(secret).toMatch(/^whsec_/);
    receiver.secrets.push(secret);
    await page.screenshot({ path: join(screenshotDir(), 'dashboard-webhooks.png'), fullPage: true });
    await page.goto(`${app.base}/dashboard/webhooks`);
    expect(await page.content()).not.toContain(secret);

    const res = await ctx.app.request(
      '/v1/invoices',
      jsonRequest(apiKey, { amount: '2500.00', currency: 'KZT', orderId: 'W-1' }),
    );
    const created = (await res.json()) as { id: string };
    await runWebhookTick(ctx.services);
    expect(receiver.requests.some((r) => r.body.includes(created.id) && r.verified.get(secret))).toBe(true);

    await page.click('#endpoints a.mono');
    await page.waitForSelector('#deliveries');
    // Every event not yet dispatched when the endpoint was added is sent to it too: find this invoice's.
    const row = page.locator('#deliveries tr[data-status="succeeded"]', {
      has: page.locator(`a[href$="${created.id}"]`),
    });
    expect(await row.count()).toBe(1);
    await Promise.all([page.waitForURL(/done=redelivered/), row.locator('button').click()]);
    expect(await text('#notice')).toBe('The delivery is queued to be sent again now.');
    await runWebhookTick(ctx.services);
    expect(receiver.requests.filter((r) => r.body.includes(created.id))).toHaveLength(2);
  });

  it('exports the paid invoice as CSV and signs out', async () => {
    await page.goto(`${app.base}/dashboard/invoices?orderId=A-1042`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-invoices')]);
    const path = await download.path();
    const { readFileSync } = await import('node:fs');
    const csv = readFileSync(path, 'utf8');
    expect(csv).toContain(`${invoiceId},`);
    expect(csv).toContain(',settled,none,none,15000.00,15000.00,KZT,A-1042,Two lattes and a croissant,');
    expect(await cspViolations(page)).toEqual([]);

    await Promise.all([
      page.waitForURL(/\/dashboard\/login$/),
      page.click('form[action="/dashboard/logout"] button'),
    ]);
    await page.goto(`${app.base}/dashboard/invoices`);
    expect(new URL(page.url()).pathname).toBe('/dashboard/login');
  });

  it('requested nothing from another host', () => {
    expect(foreign).toEqual([]);
  });
});
