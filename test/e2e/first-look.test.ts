// What a newcomer sees in chromium on the first-run path (issue 14 item 8): the regulator console in
// standards mode with its styles allowed and no console errors, an icon at /favicon.ico, the dashboard
// chart's axis labels whole and its rates grouped, console amounts grouped, a Kazakh live update written
// as the server writes it, and an over-paid checkout that says what arrived and whose the excess is.
import type { Browser, BrowserContext, ConsoleMessage, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboardUser } from '../../src/dashboard/users';
import { formatTenge, messagesFor } from '../../src/ui/i18n';
import { amlContext, confirm, newInvoice, newRegulator, payAndScreen } from '../aml/support';
import type { TestContext } from '../helpers/services';
import {
  cspViolations,
  guardThirdParty,
  launchChromium,
  plain,
  recordCspViolations,
  type Served,
  serveApp,
  skipBrowser,
} from './browser';

const PASSWORD = 'correct horse battery staple';
let ctx: TestContext & { merchantId: string };
let browser: Browser;
let app: Served;
let context: BrowserContext;
let foreign: string[];
/** Console errors and uncaught exceptions of every page, by page URL. */
const errors: string[] = [];

async function newPage(): Promise<Page> {
  const page = await context.newPage();
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() === 'error') errors.push(`${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`${page.url()}: ${e.message}`));
  return page;
}

const text = async (page: Page, sel: string) => plain(await page.locator(sel).first().textContent());

describe.skipIf(skipBrowser)('first look, in chromium', () => {
  beforeAll(async () => {
    browser = await launchChromium();
    let handler: (req: Request) => Response | Promise<Response> = () =>
      new Response('starting', { status: 503 });
    app = await serveApp((req) => handler(req));
    ctx = await amlContext({ DASHBOARD_SCRYPT_LOG_N: '10', SSE_POLL_MS: '100', PUBLIC_URL: app.base });
    handler = ctx.app.fetch;
    await newRegulator(ctx, 'Aigerim Sadykova', 'a@afm.test', PASSWORD);
    await createDashboardUser(ctx.db.sql, {
      merchantId: ctx.merchantId,
      email: 'owner@cafe.kz',
      password: PASSWORD,
      scryptLogN: 10,
    });
    // Six million tenge: over the AML threshold (a case in the console) and a chart axis of ₸10,000,000.
    const big = await newInvoice(ctx, ctx.merchantId, '6000000.00');
    const paid = await payAndScreen(ctx, big, { from: [] });
    await confirm(ctx, paid.paymentId, 6);
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    foreign = await guardThirdParty(context, () => [app.base]);
    await recordCspViolations(context);
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await app?.close();
    await ctx?.close();
  });

  it('the regulator console renders in standards mode, styled, with no console error', async () => {
    const page = await newPage();
    await page.goto(`${app.base}/regulator/login`);
    expect(await page.evaluate(() => document.compatMode)).toBe('CSS1Compat');
    await page.fill('input[name=email]', 'a@afm.test');
    await page.fill('input[name=password]', PASSWORD);
    await Promise.all([page.waitForURL(`${app.base}/regulator/cases`), page.click('button[type=submit]')]);
    expect(await page.evaluate(() => document.compatMode)).toBe('CSS1Compat');
    // The header items keep their spacing: the brand ends well before the first link starts.
    const brand = (await page.locator('header.top strong').boundingBox())!;
    const first = (await page.locator('header.top nav a').first().boundingBox())!;
    expect(first.x - (brand.x + brand.width)).toBeGreaterThanOrEqual(20);
    const name = (await page.locator('header.top form span').boundingBox())!;
    const signOut = (await page.locator('header.top form button').boundingBox())!;
    expect(signOut.x - (name.x + name.width)).toBeGreaterThanOrEqual(10);
    // Amounts as people read them.
    expect(await page.locator('#cases').textContent()).toContain('6,000,000.00');
    expect(await page.locator('#cases').textContent()).not.toContain('6000000.00');
    expect(await cspViolations(page)).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('/favicon.ico is an icon the browser decodes', async () => {
    // Its own context: playwright's request interception (the third-party guard) fails binary fetches.
    const plainContext = await browser.newContext();
    const page = await plainContext.newPage();
    await page.goto(`${app.base}/dashboard/login`);
    const got = await page.evaluate(async () => {
      const r = await fetch('/favicon.ico');
      return [r.status, r.headers.get('content-type'), (await r.arrayBuffer()).byteLength];
    });
    expect(got).toEqual([200, 'image/x-icon', 4286]);
    const size = await page.evaluate(async () => {
      const img = new Image();
      img.src = '/favicon.ico';
      await img.decode();
      return [img.naturalWidth, img.naturalHeight];
    });
    expect(size).toEqual([32, 32]);
    await plainContext.close();
  });

  it('the dashboard chart shows whole axis labels and the invoice shows grouped rates', async () => {
    const page = await newPage();
    await page.goto(`${app.base}/dashboard/login`);
    await page.fill('input[name=email]', 'owner@cafe.kz');
    await page.fill('input[name=password]', PASSWORD);
    await Promise.all([page.waitForURL(`${app.base}/dashboard`), page.click('button[type=submit]')]);
    const labels = await page.evaluate(() =>
      Array.from(document.querySelectorAll<SVGTextElement>('#volume-chart text[text-anchor="end"]')).map(
        (t) => ({ text: t.textContent, x: t.getBBox().x }),
      ),
    );
    expect(labels.map((l) => l.text)).toEqual(['₸0', '₸5,000,000', '₸10,000,000']);
    // Inside the drawing: nothing left of the viewBox, where the browser cuts it off.
    for (const l of labels) expect(l.x).toBeGreaterThanOrEqual(0);

    await page.click('#invoices a[href^="/dashboard/invoices/inv_"]');
    const rate = await page.evaluate(() => {
      const th = Array.from(document.querySelectorAll('th')).find((h) => h.textContent?.startsWith('Rate'))!;
      const col = Array.from(th.parentElement!.children).indexOf(th);
      return th.closest('table')!.querySelector('tbody tr')!.children[col]!.textContent;
    });
    expect(rate).toMatch(/^\d{1,3}(,\d{3})+(\.\d+)?$/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a live update on the Kazakh checkout writes tenge as the server does', async () => {
    const inv = await newInvoice(ctx, ctx.merchantId, '15000.00');
    const page = await newPage();
    await page.goto(`${app.base}/pay/${inv.id}?lang=kk`);
    await page.waitForSelector('#checkout[data-live="events"]');
    await payAndScreen(ctx, inv, { from: [] });
    await page.waitForSelector('#status[data-phase="seen"]');
    const line = await text(page, '#payments li span');
    expect(line).toBe(`${plain(formatTenge('kk', '15000.00'))} · BTC`);
    expect(line).toBe('15 000,00 ₸ · BTC');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('an over-paid checkout says what arrived, the transaction and whose the excess is; no lock note', async () => {
    const inv = await newInvoice(ctx, ctx.merchantId, '15000.00');
    const page = await newPage();
    await page.goto(`${app.base}/pay/${inv.id}?lang=kk`);
    await page.waitForSelector('#checkout[data-live="events"]');
    expect(await page.isVisible('#lock-note')).toBe(true);
    const txid = 'fe'.repeat(32);
    const over = await payAndScreen(ctx, inv, { from: [], amountTiyn: 1_550_050n, txid });
    await confirm(ctx, over.paymentId, 6);
    // Live, in Kazakh; then as the server renders it, in every language.
    await page.waitForSelector('#status[data-phase="paid"][data-over]');
    const check = async (lang: 'kk' | 'ru' | 'en') => {
      const S = messagesFor(lang).status;
      expect(await text(page, '#status-title')).toBe(S.paidOver);
      const detail = await text(page, '#status-detail');
      expect(detail).toContain(plain(formatTenge(lang, '15500.50')));
      expect(detail).toContain(plain(formatTenge(lang, '500.50')));
      expect(detail).toContain('Test Shop');
      expect(await text(page, '#payments')).toContain(txid);
      expect(await page.isVisible('#lock-note')).toBe(false);
      expect(await page.isVisible('#countdown-box')).toBe(false);
    };
    await check('kk');
    for (const lang of ['ru', 'en'] as const) {
      await page.goto(`${app.base}/pay/${inv.id}?lang=${lang}`);
      await check(lang);
    }
    expect(errors).toEqual([]);
    await page.close();
  });

  it('asked nothing of another host', () => {
    expect(foreign).toEqual([]);
  });
});
