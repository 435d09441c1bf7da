// The console in-process: cookie attributes, CSP, CSRF on sign-in and on decisions, lockout, and
// that a session is required. The real-browser run is test/e2e/regulator.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amlContext, newInvoice, newRegulator, operatorList, PAYER_BTC, payAndScreen } from '../aml/support';

let ctx: Awaited<ReturnType<typeof amlContext>>;
let caseId: string;
const PASSWORD = 'correct horse battery staple';

beforeAll(async () => {
  ctx = await amlContext({ REGULATOR_LOCKOUT_ATTEMPTS: '3', REGULATOR_LOCKOUT_MINUTES: '10' });
  await operatorList(ctx, `address,asset\n${PAYER_BTC},BTC\n`);
  await newRegulator(ctx, 'Aigerim Sadykova', 'a@afm.test', PASSWORD);
  await newRegulator(ctx, 'Locked Out', 'locked@afm.test', PASSWORD);
  caseId = (await payAndScreen(ctx, await newInvoice(ctx, ctx.merchantId))).outcome.caseId!;
});
afterAll(() => ctx?.close());

const cookieOf = (res: Response, name: string) =>
  res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
const cookieValue = (setCookie: string | undefined) => /^[^=]+=([^;]*)/.exec(setCookie ?? '')?.[1] ?? '';
const form = (fields: Record<string, string>, cookie: string) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
  body: new URLSearchParams(fields).toString(),
});

async function loginForm() {
  const res = await ctx.app.request('/regulator/login');
  const token = cookieValue(cookieOf(res, 'rg_login'));
  return { res, token, cookie: `rg_login=${token}` };
}

async function signIn(email: string, password: string) {
  const { token, cookie } = await loginForm();
  return ctx.app.request('/regulator/login', form({ csrf: token, email, password }, cookie));
}

describe('sign-in', () => {
  it('the form sets an HttpOnly SameSite=Strict pre-session cookie under a strict CSP', async () => {
    const { res, token } = await loginForm();
    expect(res.status).toBe(200);
    expect(cookieOf(res, 'rg_login')).toMatch(/HttpOnly/);
    expect(cookieOf(res, 'rg_login')).toMatch(/SameSite=Strict/);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'; style-src 'self'/);
    expect(await res.text()).toContain(`name="csrf" value="${token}"`);
  });

  it('refuses a sign-in without the matching CSRF token', async () => {
    const { cookie } = await loginForm();
    const res = await ctx.app.request(
      '/regulator/login',
      form({ csrf: 'forged', email: 'a@afm.test', password: PASSWORD }, cookie),
    );
    expect(res.status).toBe(403);
    expect(cookieOf(res, 'rg_session')).toBeUndefined();
  });

  it('a good password gives an HttpOnly SameSite=Strict session; a wrong one a 401', async () => {
    expect((await signIn('a@afm.test', 'wrong password!')).status).toBe(401);
    const ok = await signIn('a@afm.test', PASSWORD);
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/regulator/cases');
    const session = cookieOf(ok, 'rg_session')!;
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/SameSite=Strict/);
    expect(session).toMatch(/Path=\/regulator/);
  });

  it('locks the account after repeated failures, even for the right password', async () => {
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await signIn('locked@afm.test', 'not the password')).status);
    expect(statuses).toEqual([401, 401, 423]);
    const right = await signIn('locked@afm.test', PASSWORD);
    expect(right.status).toBe(423);
    expect(await right.text()).toMatch(/locked/);
    const [a] = await ctx.db.sql`select action from audit_log where action = 'regulator.locked'`;
    expect(a).toBeDefined();
  });
});

describe('with a session', () => {
  let cookie: string;
  let csrf: string;
  beforeAll(async () => {
    const ok = await signIn('a@afm.test', PASSWORD);
    cookie = `rg_session=${cookieValue(cookieOf(ok, 'rg_session'))}`;
    const page = await (await ctx.app.request(`/regulator/cases/${caseId}`, { headers: { cookie } })).text();
    csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
  });

  it('without a session the console redirects to sign-in', async () => {
    const res = await ctx.app.request('/regulator/cases');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/regulator/login');
  });

  it('shows the queue with the case', async () => {
    const res = await ctx.app.request('/regulator/cases', { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(caseId);
  });

  it('refuses a decision without the CSRF token or from another origin', async () => {
    const path = `/regulator/cases/${caseId}/decisions`;
    expect((await ctx.app.request(path, form({ decision: 'escalate', reason: 'x' }, cookie))).status).toBe(
      403,
    );
    const other = form({ decision: 'escalate', reason: 'x', csrf }, cookie);
    (other.headers as Record<string, string>).origin = 'http://evil.test';
    expect((await ctx.app.request(path, other)).status).toBe(403);
    const [row] = await ctx.db.sql`select status from aml_cases where id = ${caseId}`;
    expect(row!.status).toBe('open');
  });

  it('takes a decision with the token; an empty reason is shown as an error', async () => {
    const path = `/regulator/cases/${caseId}/decisions`;
    const empty = await ctx.app.request(path, form({ decision: 'escalate', reason: ' ', csrf }, cookie));
    expect(empty.status).toBe(422);
    expect(await empty.text()).toMatch(/needs a reason/);
    const ok = await ctx.app.request(
      path,
      form({ decision: 'escalate', reason: 'needs a senior look', csrf }, cookie),
    );
    expect(ok.status).toBe(303);
    const [row] = await ctx.db.sql`select status from aml_cases where id = ${caseId}`;
    expect(row!.status).toBe('escalated');
  });

  it('signing out ends the session', async () => {
    const out = await ctx.app.request('/regulator/logout', form({ csrf }, cookie));
    expect(out.status).toBe(303);
    expect((await ctx.app.request('/regulator/cases', { headers: { cookie } })).status).toBe(303);
  });
});
