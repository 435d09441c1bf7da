// The regulator console in a real browser (playwright-core driving Debian's chromium): sign-in, a
// four-eyes clearance by two regulators, CSRF refusals (a forged token, a cross-site form), and the
// lockout. Fails, never skips, when chromium is missing and CI or REQUIRE_CHROMIUM=1 is set.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  amlContext,
  confirm,
  newInvoice,
  newRegulator,
  operatorList,
  PAYER_BTC,
  payAndScreen,
} from '../aml/support';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const required = Boolean(process.env.CI) || process.env.REQUIRE_CHROMIUM === '1';
const PASSWORD = 'correct horse battery staple';

let ctx: Awaited<ReturnType<typeof amlContext>>;
let server: ReturnType<typeof serve>;
let base: string;
let browser: Browser;
let caseId: string;
let invoiceId: string;
let paymentId: string;

describe.skipIf(!existsSync(CHROMIUM) && !required)('regulator console in chromium', () => {
  beforeAll(async () => {
    // Launch first: a missing browser under CI fails here, loudly.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    ctx = await amlContext({ REGULATOR_LOCKOUT_ATTEMPTS: '3' });
    await operatorList(ctx, `address,asset,name,reason\n${PAYER_BTC},BTC,Listed Payer,test listing\n`);
    await newRegulator(ctx, 'Aigerim Sadykova', 'a@afm.test', PASSWORD);
    await newRegulator(ctx, 'Daniyar Abenov', 'd@afm.test', PASSWORD);
    await newRegulator(ctx, 'Locked Out', 'locked@afm.test', PASSWORD);
    const inv = await newInvoice(ctx, ctx.merchantId);
    const paid = await payAndScreen(ctx, inv);
    caseId = paid.outcome.caseId!;
    invoiceId = inv.id;
    paymentId = paid.paymentId;
    await new Promise<void>((resolve) => {
      server = serve({ fetch: ctx.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve());
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await ctx?.close();
  });

  async function signedIn(email: string): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/regulator/cases`);
    expect(new URL(page.url()).pathname).toBe('/regulator/login');
    await page.fill('input[name=email]', email);
    await page.fill('input[name=password]', PASSWORD);
    await Promise.all([page.waitForURL(`${base}/regulator/cases`), page.click('button[type=submit]')]);
    return { context, page };
  }

  it('signs in with an HttpOnly SameSite=Strict cookie and shows the queue', async () => {
    const { context, page } = await signedIn('a@afm.test');
    try {
      const cookie = (await context.cookies()).find((c) => c.name === 'rg_session')!;
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/regulator' });
      // HttpOnly: scripts on the page cannot read it.
      expect(await page.evaluate(() => document.cookie)).not.toContain('rg_session');
      expect(await page.locator(`#cases tr[data-case="${caseId}"]`).textContent()).toMatch(/severe/);
    } finally {
      await context.close();
    }
  });

  it('a forged CSRF token and a cross-site form are both refused', async () => {
    const { context, page } = await signedIn('a@afm.test');
    // Another site (localhost is not 127.0.0.1) whose page posts a decision to the console.
    const evil: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        `<form id="f" method="post" action="${base}/regulator/cases/${caseId}/decisions">` +
          '<input name="decision" value="reject"><input name="reason" value="csrf"></form>' +
          '<script>document.getElementById("f").submit()</script>',
      );
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    try {
      await page.goto(`${base}/regulator/cases/${caseId}`);
      await page.evaluate(() => {
        (document.querySelector('#decision-form input[name=csrf]') as HTMLInputElement).value =
          'forged-token-value';
      });
      await page.fill('textarea[name=reason]', 'forged');
      const [res] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/decisions')),
        page.click('button[value=escalate]'),
      ]);
      expect(res.status()).toBe(403);
      expect(await page.locator('#csrf-error').textContent()).toMatch(/CSRF/);

      const evilPort = (evil.address() as AddressInfo).port;
      const [crossSite] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/decisions')),
        page.goto(`http://localhost:${evilPort}/`),
      ]);
      // SameSite=Strict keeps the session cookie home, and Sec-Fetch-Site says cross-site.
      expect(crossSite.status()).toBe(403);
      const [row] = await ctx.db.sql`select status from aml_cases where id = ${caseId}`;
      expect(row!.status).toBe('open');
    } finally {
      await context.close();
      await new Promise<void>((resolve) => evil.close(() => resolve()));
    }
  });

  it('two different regulators clear a severe case; the same one cannot clear it twice', async () => {
    await confirm(ctx, paymentId, 2);
    const first = await signedIn('a@afm.test');
    try {
      const page = first.page;
      await page.goto(`${base}/regulator/cases/${caseId}`);
      expect(await page.locator('#reasons').textContent()).toMatch(/Listed Payer/);
      await page.fill('textarea[name=reason]', 'customer documents checked');
      await Promise.all([page.waitForURL(/done=clear-first/), page.click('button[value=clear]')]);
      expect(await page.locator('#decision-notice').textContent()).toMatch(/second, different regulator/);

      await page.fill('textarea[name=reason]', 'clearing again');
      await page.click('button[value=clear]');
      await page.waitForSelector('#decision-error');
      expect(await page.locator('#decision-error').textContent()).toMatch(/second, different regulator/);
    } finally {
      await first.context.close();
    }
    const second = await signedIn('d@afm.test');
    try {
      const page = second.page;
      await page.goto(`${base}/regulator/cases/${caseId}`);
      await page.fill('textarea[name=reason]', 'I agree');
      await Promise.all([page.waitForURL(/done=clear$/), page.click('button[value=clear]')]);
      expect(await page.locator('#timeline').textContent()).toMatch(/clear by Daniyar Abenov: I agree/);
    } finally {
      await second.context.close();
    }
    const [inv] = await ctx.db.sql`select status, review from invoices where id = ${invoiceId}`;
    expect(inv).toMatchObject({ status: 'settled', review: 'released' });
  });

  it('locks an account after repeated failed sign-ins, even against the right password', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const attempt = async (password: string) => {
        await page.goto(`${base}/regulator/login`);
        await page.fill('input[name=email]', 'locked@afm.test');
        await page.fill('input[name=password]', password);
        const [res] = await Promise.all([
          page.waitForResponse(
            (r) => r.url().endsWith('/regulator/login') && r.request().method() === 'POST',
          ),
          page.click('button[type=submit]'),
        ]);
        await page.waitForSelector('#login-error');
        return { status: res.status(), text: await page.locator('#login-error').textContent() };
      };
      expect(await attempt('wrong one')).toMatchObject({ status: 401, text: 'Wrong email or password.' });
      expect((await attempt('wrong two')).status).toBe(401);
      const locked = await attempt('wrong three');
      expect(locked.status).toBe(423);
      expect(locked.text).toMatch(/locked/);
      const right = await attempt(PASSWORD);
      expect(right.status).toBe(423);
      expect((await context.cookies()).some((c) => c.name === 'rg_session')).toBe(false);
    } finally {
      await context.close();
    }
  });
});
