// Security checks as tests (issue 8): limits on failed authentications per key and per client address
// (shared by several processes through the database), security headers on every page, no secret in
// any log line through a whole flow, and constant-time comparison wherever a secret is compared.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../src/app';
import { createDashboardUser } from '../../src/dashboard/users';
import { createLogger } from '../../src/lib/log';
import { generateApiKey, revokeApiKey } from '../../src/merchants/apikeys';
import { generateRegulatorKey } from '../../src/regulator/accounts';
import { generateEncryptionKey } from '../../src/webhooks/secrets';
import { amlContext, newInvoice, newRegulator, operatorList, PAYER_BTC, payAndScreen } from '../aml/support';
import { createTestMerchant, type TestContext } from '../helpers/services';
import { controlledRates } from '../invoices/api-support';
import { otherProcess } from '../webhooks/context';
import { startReceiver } from '../webhooks/receiver';

const PASSWORD = 'correct horse battery staple';
const PER_KEY = 3;
const PER_ADDRESS = 5;
const WINDOW = 60;

/** app.request as from a client at `address` (the socket address hono's Node server passes as env). */
const from = (address: string) => ({ incoming: { socket: { remoteAddress: address } } });
const bearer = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });

async function expect429(res: Response) {
  expect(res.status).toBe(429);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const retry = Number(res.headers.get('retry-after'));
  expect(retry).toBeGreaterThan(0);
  expect(retry).toBeLessThanOrEqual(WINDOW);
  expect(await res.json()).toMatchObject({ status: 429, code: 'too_many_auth_failures' });
}

describe('limits on failed authentications', () => {
  let ctx: Awaited<ReturnType<typeof amlContext>>;
  let goodKey: string;
  const pools: { end(o: { timeout: number }): Promise<void> }[] = [];

  beforeAll(async () => {
    ctx = await amlContext({
      AUTH_FAILURES_PER_KEY: String(PER_KEY),
      AUTH_FAILURES_PER_ADDRESS: String(PER_ADDRESS),
      AUTH_FAILURE_WINDOW_SECONDS: String(WINDOW),
      DASHBOARD_SCRYPT_LOG_N: '10',
    });
    goodKey = ctx.apiKey;
  });
  afterAll(async () => {
    for (const p of pools) await p.end({ timeout: 5 });
    await ctx?.close();
  });

  it('per address: bad keys from one address lead to 429 there, even for the good key; not elsewhere', async () => {
    const statuses = [];
    for (let i = 0; i < PER_ADDRESS; i++) {
      const res = await ctx.app.request('/v1/invoices', bearer(generateApiKey('test')), from('10.0.0.1'));
      statuses.push(res.status);
    }
    expect(statuses).toEqual(Array(PER_ADDRESS).fill(401));
    await expect429(await ctx.app.request('/v1/invoices', bearer(generateApiKey('test')), from('10.0.0.1')));
    await expect429(await ctx.app.request('/v1/invoices', bearer(goodKey), from('10.0.0.1')));
    // The flood did not touch the good key or any other address.
    expect((await ctx.app.request('/v1/invoices', bearer(goodKey), from('10.0.0.2'))).status).toBe(200);
    // Missing and malformed credentials count too.
    for (const h of [{}, { authorization: 'Basic eDp5' }, { authorization: 'Bearer nope' }] as Record<
      string,
      string
    >[])
      expect((await ctx.app.request('/v1/invoices', { headers: h }, from('10.0.0.3'))).status).toBe(401);
  });

  it('per key: one key failing from many addresses is refused everywhere, other keys are not', async () => {
    const { apiKey } = await createTestMerchant(ctx);
    await revokeApiKey(ctx.db.sql, apiKey.id);
    for (let i = 0; i < PER_KEY; i++) {
      const res = await ctx.app.request('/v1/invoices', bearer(apiKey.apiKey), from(`10.1.0.${i}`));
      expect(res.status).toBe(401);
    }
    await expect429(await ctx.app.request('/v1/invoices', bearer(apiKey.apiKey), from('10.1.1.1')));
    expect((await ctx.app.request('/v1/invoices', bearer(goodKey), from('10.1.1.1'))).status).toBe(200);
  });

  it('the window ends: after it, the address may try again', async () => {
    for (let i = 0; i <= PER_ADDRESS; i++)
      await ctx.app.request('/v1/rates', bearer(generateApiKey('test')), from('10.2.0.1'));
    await expect429(await ctx.app.request('/v1/rates', bearer(goodKey), from('10.2.0.1')));
    await ctx.db.sql`update auth_failures set window_start = now() - ${WINDOW + 1} * interval '1 second'
      where bucket = 'addr:10.2.0.1'`;
    expect((await ctx.app.request('/v1/rates', bearer(goodKey), from('10.2.0.1'))).status).toBe(200);
  });

  it('holds across processes: failures counted by one are refused by the other, none lost', async () => {
    const other = otherProcess(ctx, 4);
    if (other.pool) pools.push(other.pool);
    const app2 = createApp(ctx.config, other.services);
    const apps = [ctx.app, app2];
    for (let i = 0; i < PER_ADDRESS; i++) {
      const res = await apps[i % 2]!.request(
        '/v1/invoices',
        bearer(generateApiKey('test')),
        from('10.3.0.1'),
      );
      expect(res.status).toBe(401);
    }
    for (const app of apps)
      await expect429(await app.request('/v1/invoices', bearer(goodKey), from('10.3.0.1')));
    // Concurrent failures on both processes: every 401 is counted (atomic upserts), none lost.
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        apps[i % 2]!.request('/v1/invoices', bearer(generateApiKey('test')), from('10.3.0.2')),
      ),
    );
    const unauthorized = results.filter((r) => r.status === 401).length;
    expect(results.every((r) => r.status === 401 || r.status === 429)).toBe(true);
    const [row] = await ctx.db.sql<{ failures: number }[]>`select failures from auth_failures
      where bucket = 'addr:10.3.0.2'`;
    expect(row?.failures).toBe(unauthorized);
    await expect429(await app2.request('/v1/invoices', bearer(goodKey), from('10.3.0.2')));
  });

  it('the regulator API has the same limits', async () => {
    const { apiKey } = await newRegulator(ctx, 'Limit Tester', 'limit@afm.test');
    for (let i = 0; i < PER_ADDRESS; i++) {
      const res = await ctx.app.request(
        '/v1/regulator/cases',
        bearer(generateRegulatorKey()),
        from('10.4.0.1'),
      );
      expect(res.status).toBe(401);
    }
    await expect429(await ctx.app.request('/v1/regulator/cases', bearer(apiKey.apiKey), from('10.4.0.1')));
    expect(
      (await ctx.app.request('/v1/regulator/cases', bearer(apiKey.apiKey), from('10.4.0.2'))).status,
    ).toBe(200);
  });

  it('the sign-in forms refuse an address after too many wrong passwords (429 page, Retry-After)', async () => {
    await createDashboardUser(ctx.db.sql, {
      merchantId: ctx.merchantId,
      email: 'owner@limit.test',
      password: PASSWORD,
      scryptLogN: 10,
    });
    await newRegulator(ctx, 'Form Tester', 'form@afm.test', PASSWORD);
    for (const [prefix, cookie, email] of [
      ['/dashboard', 'dash_login', 'owner@limit.test'],
      ['/regulator', 'rg_login', 'form@afm.test'],
    ] as const) {
      const signIn = async (address: string, who: string, password: string) => {
        const page = await ctx.app.request(`${prefix}/login`, {}, from(address));
        const token = /name="csrf" value="([^"]+)"/.exec(await page.text())![1]!;
        return ctx.app.request(
          `${prefix}/login`,
          {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `${cookie}=${token}` },
            body: new URLSearchParams({ csrf: token, email: who, password }).toString(),
          },
          from(address),
        );
      };
      const address = `10.5.${prefix === '/dashboard' ? 1 : 2}.1`;
      // Different (unknown) accounts each time: the per-account lockout never sees two failures.
      for (let i = 0; i < PER_ADDRESS; i++)
        expect((await signIn(address, `nobody${i}@x.test`, 'wrong password')).status).toBe(401);
      const refused = await signIn(address, email, PASSWORD);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(refused.headers.get('content-type')).toMatch(/^text\/html/);
      expect((await signIn('10.5.9.9', email, PASSWORD)).status).toBe(303);
    }
  });
});

describe('security headers on every page', () => {
  let ctx: Awaited<ReturnType<typeof amlContext>>;
  beforeAll(async () => {
    ctx = await amlContext({ DASHBOARD_SCRYPT_LOG_N: '10' });
  });
  afterAll(() => ctx?.close());

  async function sessionCookie(prefix: string, loginCookie: string, email: string): Promise<string> {
    const page = await ctx.app.request(`${prefix}/login`);
    const token = /name="csrf" value="([^"]+)"/.exec(await page.text())![1]!;
    const res = await ctx.app.request(`${prefix}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `${loginCookie}=${token}` },
      body: new URLSearchParams({ csrf: token, email, password: PASSWORD }).toString(),
    });
    expect(res.status).toBe(303);
    return res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0]!)
      .filter((c) => /_session=/.test(c))
      .join('; ');
  }

  it('every GET route answers with nosniff, and every HTML answer with CSP, framing and referrer policies', async () => {
    await operatorList(ctx, `address,asset\n${PAYER_BTC},BTC\n`);
    const inv = await newInvoice(ctx, ctx.merchantId);
    const caseId = (await payAndScreen(ctx, inv)).outcome.caseId!;
    const { apiKey: regKey } = await newRegulator(ctx, 'Header Tester', 'h@afm.test', PASSWORD);
    await createDashboardUser(ctx.db.sql, {
      merchantId: ctx.merchantId,
      email: 'owner@headers.test',
      password: PASSWORD,
      scryptLogN: 10,
    });
    const hook = await ctx.app.request('/v1/webhooks', {
      method: 'POST',
      headers: { authorization: `Bearer ${ctx.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'http://127.0.0.1:9/x' }),
    });
    expect(hook.status).toBe(201);
    const hookId = ((await hook.json()) as { id: string }).id;
    const cookies = [
      await sessionCookie('/dashboard', 'dash_login', 'owner@headers.test'),
      await sessionCookie('/regulator', 'rg_login', 'h@afm.test'),
    ].join('; ');

    const fill = (path: string) =>
      path
        .replace(/\/(cases)\/:id/, `/$1/${caseId}`)
        .replace(/\/webhooks\/:id/, `/webhooks/${hookId}`)
        .replace(/\/reports\/:id/, '/reports/rep_0000000000000000000000000000')
        .replace(/\/assets\/:name/, '/assets/ui.css')
        .replace(/:id\b/, inv.id)
        .replace(/:\w+/g, 'x');
    const gets = [...new Set(ctx.app.routes.filter((r) => r.method === 'GET').map((r) => r.path))].filter(
      (p) => !p.endsWith('/events'),
    ); // the SSE stream stays open; its headers are checked below
    let html = 0;
    for (const template of gets) {
      const path = fill(template);
      for (const signedIn of [true, false]) {
        const auth = path.startsWith('/v1/regulator') ? regKey.apiKey : ctx.apiKey;
        const res = await ctx.app.request(path, {
          headers: signedIn ? { cookie: cookies, authorization: `Bearer ${auth}` } : {},
        });
        const where = `${template} (${signedIn ? 'signed in' : 'anonymous'}) → ${res.status}`;
        expect(res.status, where).toBeLessThan(500);
        expect(res.headers.get('x-content-type-options'), where).toBe('nosniff');
        if (/^text\/html/.test(res.headers.get('content-type') ?? '')) {
          html++;
          const csp = res.headers.get('content-security-policy') ?? '';
          expect(csp, where).toMatch(/default-src 'none'/);
          expect(csp, where).toMatch(/frame-ancestors 'none'/);
          expect(res.headers.get('x-frame-options'), where).toBe('DENY');
          expect(res.headers.get('referrer-policy'), where).toBe('no-referrer');
          const body = await res.text();
          expect(body, where).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>\s*\S/); // no inline script
        } else await res.body?.cancel();
      }
    }
    // Pages of the checkout, the docs, the dashboard and the console were all among them.
    expect(html).toBeGreaterThanOrEqual(15);
  });

  it('the HTML answers of form posts (errors included) carry the same headers', async () => {
    for (const path of ['/dashboard/login', '/regulator/login', '/dashboard/keys', '/regulator/logout']) {
      const res = await ctx.app.request(path, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'csrf=forged&email=a%40b.c&password=x',
      });
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.headers.get('content-type'), path).toMatch(/^text\/html/);
      expect(res.headers.get('content-security-policy'), path).toMatch(/frame-ancestors 'none'/);
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('referrer-policy'), path).toBe('no-referrer');
    }
  });
});

describe('no secret in any log line', () => {
  it('a full flow at debug level writes none of the secrets it handled', async () => {
    const lines: string[] = [];
    const logger = createLogger('debug', (l) => lines.push(l));
    const rates = controlledRates();
    const DB_PASSWORD = 'hunter2'; // in the crashing rates error (api-support.ts)
    const ctx: TestContext & { merchantId: string; apiKey: string } = await amlContext(
      {
        DASHBOARD_SCRYPT_LOG_N: '10',
        WEBHOOK_ENCRYPTION_KEY: generateEncryptionKey(),
        WEBHOOK_ALLOW_PRIVATE: 'true',
        WEBHOOK_RETRY_SCHEDULE: '0,0',
        LOG_LEVEL: 'debug',
      },
      { logger, rates },
    );
    const consoleOut: string[] = [];
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) =>
      vi.spyOn(console, m).mockImplementation((...a: unknown[]) => {
        consoleOut.push(a.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(' '));
      }),
    );
    const stderr = vi.spyOn(process.stderr, 'write');
    const receivedSecrets: string[] = [];
    // A receiver that fails every request, echoing what it was sent (a leaky receiver must not leak through us).
    const receiver = await startReceiver((req) => ({
      status: 500,
      body: `boom ${receivedSecrets.join(' ')} ${JSON.stringify(req.headers)}`,
    }));
    try {
      const secrets: string[] = [ctx.apiKey, PASSWORD, DB_PASSWORD];
      const api = (method: string, path: string, body?: unknown, key = ctx.apiKey) =>
        ctx.app.request(path, {
          method,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      const hook = (await (await api('POST', '/v1/webhooks', { url: receiver.url })).json()) as {
        id: string;
        secret: string;
      };
      secrets.push(hook.secret);
      receivedSecrets.push(hook.secret);
      const rotated = (await (await api('POST', `/v1/webhooks/${hook.id}/rotate-secret`)).json()) as {
        secret: string;
      };
      secrets.push(rotated.secret);
      receivedSecrets.push(rotated.secret);
      const inv = (await (
        await api('POST', '/v1/invoices', { amount: '1000.00', currency: 'KZT' })
      ).json()) as {
        id: string;
      };
      await api('POST', `/v1/invoices/${inv.id}/cancel`);
      // Failing deliveries, every attempt.
      const { runWebhookTick } = await import('../../src/webhooks/dispatch');
      for (let i = 0; i < 4; i++) await runWebhookTick(ctx.services);
      expect(receiver.requests.length).toBeGreaterThan(0);
      // A 5xx whose error message carries a database URL with its password.
      rates.mode = 'crash';
      expect((await api('POST', '/v1/invoices', { amount: '1000.00', currency: 'KZT' })).status).toBe(500);
      rates.mode = 'up';
      // Bad keys, and sign-ins with wrong and right passwords on both forms.
      const badKey = generateApiKey('test');
      const badRk = generateRegulatorKey();
      secrets.push(badKey, badRk);
      await api('GET', '/v1/invoices', undefined, badKey);
      await api('GET', '/v1/regulator/cases', undefined, badRk);
      const { apiKey: rk } = await newRegulator(ctx, 'Log Tester', 'log@afm.test', PASSWORD);
      secrets.push(rk.apiKey);
      await api('GET', '/v1/regulator/cases', undefined, rk.apiKey);
      await createDashboardUser(ctx.db.sql, {
        merchantId: ctx.merchantId,
        email: 'owner@log.test',
        password: PASSWORD,
        scryptLogN: 10,
      });
      for (const [prefix, cookie, email] of [
        ['/dashboard', 'dash_login', 'owner@log.test'],
        ['/regulator', 'rg_login', 'log@afm.test'],
      ] as const) {
        for (const password of [`${PASSWORD}!`, PASSWORD]) {
          const page = await ctx.app.request(`${prefix}/login`);
          const token = /name="csrf" value="([^"]+)"/.exec(await page.text())![1]!;
          await ctx.app.request(`${prefix}/login`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `${cookie}=${token}` },
            body: new URLSearchParams({ csrf: token, email, password }).toString(),
          });
        }
      }
      // The logger itself, handed secrets the way careless code would.
      logger.error('careless', {
        message: `key ${ctx.apiKey} secret ${hook.secret}`,
        password: PASSWORD,
        privateKey: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
        databaseUrl: `postgres://app:${DB_PASSWORD}@db/x`,
      });
      secrets.push('59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');

      const stderrText = stderr.mock.calls.map((c) => String(c[0])).join('\n');
      const all = [...lines, ...consoleOut, stderrText].join('\n');
      expect(lines.length).toBeGreaterThan(3); // the flow did log: the check below is not vacuous
      expect(all).toMatch(/whsec_\*\*\*|sk_test_\*\*\*/);
      for (const secret of secrets) {
        // Neither the whole secret nor the part after its label (the random part) may appear.
        const body = secret.replace(/^(sk_test_|sk_live_|whsec_|rk_)/, '');
        expect(all, `a log line holds ${secret.slice(0, 6)}…`).not.toContain(secret);
        expect(all).not.toContain(body.slice(0, 12));
      }
    } finally {
      for (const s of spies) s.mockRestore();
      stderr.mockRestore();
      await receiver.close();
      await ctx.close();
    }
  });
});

describe('constant-time comparison of secrets', () => {
  const read = (p: string) => readFileSync(join(__dirname, '../../src', p), 'utf8');

  it.each([
    ['merchants/apikeys.ts', /timingSafeEqual\(/],
    ['regulator/accounts.ts', /timingSafeEqual\(/],
    // Both sign-in areas check every form's CSRF token through auth/forms.ts csrfHolds.
    ['auth/forms.ts', /timingSafeEqualString\(token, expected\)/],
    ['auth/routes.tsx', /csrfHolds\(c, form, getCookie\(c, area\.cookies\.login\)\)/],
    ['auth/routes.tsx', /csrfHolds\(c, form, sessionOf\(c\)\.csrf\)/],
    // The server's verify.ts re-exports the merchants' package: the one implementation is there.
    ['../packages/client/src/webhooks.ts', /timingSafeEqualString\(candidate, expected\)/],
    ['auth/passwords.ts', /timingSafeEqual/],
  ])('%s compares its secret with the constant-time helper', (file, pattern) => {
    expect(read(file)).toMatch(pattern);
  });

  it('no secret-bearing module compares a secret with === or !== on strings or bytes', () => {
    for (const file of [
      'merchants/apikeys.ts',
      'regulator/accounts.ts',
      'auth/passwords.ts',
      'auth/forms.ts',
      'auth/sessions.ts',
      'dashboard/users.ts',
      '../packages/client/src/webhooks.ts',
    ]) {
      const risky = read(file)
        .split('\n')
        .filter((l) => /(hash|csrf|signature|token|secret|digest|expected)\w*\s*[!=]==\s*\w/i.test(l))
        .filter((l) => !/length|undefined|null|typeof/.test(l));
      expect(risky, file).toEqual([]);
    }
  });
});
