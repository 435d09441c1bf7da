// Dashboard sign-in, sessions and CSRF, in-process: cookie flags, wrong passwords and the lockout,
// refusals without a session or token or from another site, sign-out, and what the database keeps.
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInWithPassword } from '../../../src/auth/signin';
import { createDashboardSession, loadDashboardSession } from '../../../src/dashboard/sessions';
import { createDashboardUser, dashboardAccounts } from '../../../src/dashboard/users';
import type { TestContext } from '../../helpers/services';
import { createTestMerchant } from '../../helpers/services';
import { client, csrfOf, dashboardContext, PASSWORD, signIn } from './support';

let ctx: TestContext;
let email: string;
let merchantId: string;

beforeAll(async () => {
  const d = await dashboardContext({ DASHBOARD_LOCKOUT_ATTEMPTS: '3', DASHBOARD_LOCKOUT_MINUTES: '10' });
  ctx = d.ctx;
  email = d.email;
  merchantId = d.merchant.id;
});
afterAll(() => ctx.close());

describe('sign-in', () => {
  it('sets an HttpOnly SameSite=Strict cookie on /dashboard and shows the merchant', async () => {
    const c = client(ctx);
    const { res } = await signIn(c, email.toUpperCase());
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/dashboard');
    const set = res.headers.getSetCookie().find((l) => l.startsWith('dash_session='))!;
    expect(set).toMatch(/HttpOnly/);
    expect(set).toMatch(/SameSite=Strict/);
    expect(set).toMatch(/Path=\/dashboard/);
    const home = await c.get('/dashboard');
    expect(home.res.status).toBe(200);
    expect(home.html).toContain('Kofe Alatau');
    expect(home.res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    // The database keeps the token's hash, never the token.
    const token = c.cookies.get('dash_session')!;
    const rows = await ctx.db.sql`select token_hash from merchant_sessions`;
    expect(rows.some((r) => Buffer.from(r.token_hash).equals(Buffer.from(sha256(utf8ToBytes(token)))))).toBe(
      true,
    );
    expect(JSON.stringify(rows)).not.toContain(token);
    const [audit] = await ctx.db.sql`select action from audit_log where action = 'dashboard_user.signed_in'`;
    expect(audit).toBeDefined();
  });

  it('refuses a wrong password and an unknown email alike (401)', async () => {
    const c = client(ctx);
    const wrong = await signIn(c, email, 'not the password!');
    expect(wrong.res.status).toBe(401);
    expect(wrong.html).toContain('Wrong email or password.');
    const unknown = await signIn(c, 'nobody@kofe.kz');
    expect(unknown.res.status).toBe(401);
    expect(unknown.html).toContain('Wrong email or password.');
    expect(c.cookies.has('dash_session')).toBe(false);
  });

  it('locks the account after repeated failures, even against the right password', async () => {
    const { merchant } = await createTestMerchant(ctx, { name: 'Locked Shop' });
    await createDashboardUser(ctx.db.sql, {
      merchantId: merchant.id,
      email: 'lock@shop.kz',
      password: PASSWORD,
      scryptLogN: 10,
    });
    const c = client(ctx);
    expect((await signIn(c, 'lock@shop.kz', 'wrong one, #1')).res.status).toBe(401);
    expect((await signIn(c, 'lock@shop.kz', 'wrong one, #2')).res.status).toBe(401);
    const locked = await signIn(c, 'lock@shop.kz', 'wrong one, #3');
    expect(locked.res.status).toBe(423);
    expect(locked.html).toMatch(/locked after repeated failed sign-ins/);
    expect((await signIn(c, 'lock@shop.kz')).res.status).toBe(423);
    // After the lockout the right password works again.
    const later = await signInWithPassword(ctx.db.sql, dashboardAccounts, {
      email: 'lock@shop.kz',
      password: PASSWORD,
      lockout: { attempts: 3, minutes: 10 },
      now: new Date(Date.now() + 11 * 60_000),
      hasher: ctx.services.passwords,
      scryptLogN: 10,
    });
    expect(later.ok).toBe(true);
  });

  it('refuses a sign-in form without the pre-session cookie token (CSRF)', async () => {
    const c = client(ctx);
    const login = await c.get('/dashboard/login');
    const res = await c.post('/dashboard/login', {
      csrf: `${csrfOf(login.html)}x`,
      email,
      password: PASSWORD,
    });
    expect(res.res.status).toBe(403);
    expect(c.cookies.has('dash_session')).toBe(false);
  });
});

describe('sessions and CSRF', () => {
  it('sends a visitor without a session to the sign-in page, and refuses their posts', async () => {
    const c = client(ctx);
    const res = await c.get('/dashboard/invoices');
    expect(res.res.status).toBe(303);
    expect(res.res.headers.get('location')).toBe('/dashboard/login');
    const post = await c.post('/dashboard/keys', { label: 'x', csrf: 'anything' });
    expect(post.res.status).toBe(403);
  });

  it('refuses a post with a missing or wrong token, or sent from another site', async () => {
    const c = client(ctx);
    await signIn(c, email);
    const token = await c.csrf();
    const before = await ctx.db
      .sql`select count(*)::int as n from api_keys where merchant_id = ${merchantId}`;
    expect((await c.post('/dashboard/keys', { label: 'no token' })).res.status).toBe(403);
    const forged = await c.post('/dashboard/keys', { label: 'forged', csrf: `${token.slice(0, -2)}AA` });
    expect(forged.res.status).toBe(403);
    expect(forged.html).toContain('CSRF');
    const crossSite = await c.post(
      '/dashboard/keys',
      { label: 'cross', csrf: token },
      { 'sec-fetch-site': 'cross-site' },
    );
    expect(crossSite.res.status).toBe(403);
    const otherOrigin = await c.post(
      '/dashboard/keys',
      { label: 'cross', csrf: token },
      { origin: 'https://evil.example' },
    );
    expect(otherOrigin.res.status).toBe(403);
    const after = await ctx.db.sql`select count(*)::int as n from api_keys where merchant_id = ${merchantId}`;
    expect(after[0]!.n).toBe(before[0]!.n);
    const ok = await c.post(
      '/dashboard/keys',
      { label: 'fine', csrf: token },
      { 'sec-fetch-site': 'same-origin' },
    );
    expect(ok.res.status).toBe(201);
  });

  it('signs out: the session is deleted and the cookie no longer works', async () => {
    const c = client(ctx);
    await signIn(c, email);
    const token = c.cookies.get('dash_session')!;
    const out = await c.post('/dashboard/logout', { csrf: await c.csrf() });
    expect(out.res.status).toBe(303);
    expect(await loadDashboardSession(ctx.db.sql, token)).toBeUndefined();
    const again = await ctx.app.request('/dashboard', { headers: { cookie: `dash_session=${token}` } });
    expect(again.status).toBe(303);
  });

  it('an expired session is not loaded', async () => {
    const [u] = await ctx.db.sql<
      { id: string }[]
    >`select id from merchant_users where lower(email) = lower(${email})`;
    const s = await createDashboardSession(ctx.db.sql, u!.id, new Date(Date.now() - 13 * 3600_000));
    expect(await loadDashboardSession(ctx.db.sql, s.token)).toBeUndefined();
    const fresh = await createDashboardSession(ctx.db.sql, u!.id);
    expect(await loadDashboardSession(ctx.db.sql, fresh.token)).toMatchObject({ merchantId, email });
  });
});

describe('createDashboardUser', () => {
  it('checks the email, the password policy, the merchant, and that the email is free', async () => {
    const base = { merchantId, email: 'new@kofe.kz', password: PASSWORD, scryptLogN: 10 };
    await expect(createDashboardUser(ctx.db.sql, { ...base, email: 'not an email' })).rejects.toMatchObject({
      code: 'validation_failed',
      errors: [{ path: 'email' }],
    });
    await expect(createDashboardUser(ctx.db.sql, { ...base, password: 'short' })).rejects.toMatchObject({
      errors: [{ path: 'password' }],
    });
    await expect(
      createDashboardUser(ctx.db.sql, { ...base, merchantId: 'mer_01jd8x3q4m5n6p7r8s9t0v1w2x' }),
    ).rejects.toMatchObject({ code: 'merchant_not_found' });
    await expect(
      createDashboardUser(ctx.db.sql, { ...base, email: email.toUpperCase() }),
    ).rejects.toMatchObject({
      code: 'user_exists',
    });
    const u = await createDashboardUser(ctx.db.sql, base);
    expect(u.id).toMatch(/^usr_[0-9a-z]{26}$/);
    const [row] = await ctx.db.sql`select password_hash from merchant_users where id = ${u.id}`;
    expect(row!.password_hash).toMatch(/^scrypt\$10\$8\$1\$/);
    expect(row!.password_hash).not.toContain(PASSWORD);
  });
});
