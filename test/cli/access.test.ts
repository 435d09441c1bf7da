// `user disable`, `regulator disable` and `regulator apikey revoke` (issue 13 item 11, SPEC section
// 12): run through the CLI against the database a running app uses, then checked through that app.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboardUser } from '../../src/dashboard/users';
import { createRegulator, createRegulatorKey } from '../../src/regulator/accounts';
import { PASSWORD, postSignIn } from '../auth/support';
import { createTestContext, createTestMerchant, type TestContext } from '../helpers/services';
import { cliRunner } from './helpers';

let ctx: TestContext;
let run: ReturnType<typeof cliRunner>;

beforeAll(async () => {
  ctx = await createTestContext({ DASHBOARD_SCRYPT_LOG_N: '10', REGULATOR_SCRYPT_LOG_N: '10' });
  run = cliRunner({ DATABASE_URL: ctx.db.url, NETWORK_MODE: 'sandbox', LOG_LEVEL: 'silent' });
});
afterAll(() => ctx?.close());

const dashboard = {
  prefix: '/dashboard',
  loginCookie: 'dash_login',
  sessionCookie: 'dash_session',
  email: '',
  table: 'merchant_users',
} as const;
const consoleArea = {
  ...dashboard,
  prefix: '/regulator',
  loginCookie: 'rg_login',
  sessionCookie: 'rg_session',
} as const;

/** Signs in through the form and returns the session cookie. */
async function session(area: typeof dashboard | typeof consoleArea, email: string): Promise<string> {
  const res = await postSignIn(ctx, { ...area, email, table: 'merchant_users' }, email, PASSWORD);
  expect(res.status).toBe(303);
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .find((c) => c.startsWith(`${area.sessionCookie}=`))!;
}

const bearer = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });

describe('user disable', () => {
  it('ends the sessions and refuses sign-in; a second run says so; bad and unknown ids are refused', async () => {
    const { merchant } = await createTestMerchant(ctx, { name: 'Disabled Shop' });
    const user = await createDashboardUser(ctx.db.sql, {
      merchantId: merchant.id,
      email: 'clerk@disabled.test',
      password: PASSWORD,
      scryptLogN: 10,
    });
    const cookie = await session(dashboard, user.email);
    expect((await ctx.app.request('/dashboard', { headers: { cookie } })).status).toBe(200);

    const r = await run(['user', 'disable', '--id', user.id, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.json<{ id: string; disabledAt: string; sessionsEnded: number; alreadyDisabled: boolean }>();
    expect(out).toMatchObject({ id: user.id, sessionsEnded: 1, alreadyDisabled: false });
    expect(Date.parse(out.disabledAt)).not.toBeNaN();

    const after = await ctx.app.request('/dashboard', { headers: { cookie } });
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toBe('/dashboard/login');
    expect((await postSignIn(ctx, { ...dashboard, email: user.email }, user.email, PASSWORD)).status).toBe(
      401,
    );
    const [audit] = await ctx.db.sql`select action from audit_log where subject = ${user.id}
      and action = 'dashboard_user.disabled'`;
    expect(audit).toBeDefined();

    const again = await run(['user', 'disable', '--id', user.id, '--json']);
    expect(again.code).toBe(0);
    expect(again.json()).toMatchObject({ alreadyDisabled: true, disabledAt: out.disabledAt });
    const list = await run(['user', 'list', '--merchant', merchant.id, '--json']);
    expect(list.json<{ users: { disabledAt: string | null }[] }>().users[0]!.disabledAt).toBe(out.disabledAt);

    const bad = await run(['user', 'disable', '--id', 'mer_nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--id');
    const unknown = await run(['user', 'disable', '--id', 'usr_00000000000000000000000000']);
    expect(unknown.code).toBe(1);
  });
});

describe('regulator disable and regulator apikey revoke', () => {
  it('a revoked key gets 401 api_key_revoked at once; the regulator’s other key still works', async () => {
    const { regulator, apiKey } = await createRegulator(ctx.db.sql, {
      name: 'Revoke Tester',
      email: 'revoke@afm.test',
    });
    const second = await createRegulatorKey(ctx.db.sql, regulator.id, 'laptop');
    expect((await ctx.app.request('/v1/regulator/cases', bearer(apiKey.apiKey))).status).toBe(200);

    const r = await run(['regulator', 'apikey', 'revoke', '--id', apiKey.id, '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ id: apiKey.id, regulatorId: regulator.id, alreadyRevoked: false });

    const refused = await ctx.app.request('/v1/regulator/cases', bearer(apiKey.apiKey));
    expect(refused.status).toBe(401);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await refused.json()) as { code: string }).code).toBe('api_key_revoked');
    expect((await ctx.app.request('/v1/regulator/cases', bearer(second.apiKey))).status).toBe(200);

    expect((await run(['regulator', 'apikey', 'revoke', '--id', apiKey.id, '--json'])).json()).toMatchObject({
      alreadyRevoked: true,
    });
    const bad = await run(['regulator', 'apikey', 'revoke', '--id', 'reg_x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--id');
  });

  it('a disabled regulator loses the console (sessions end, no sign-in) and every API key', async () => {
    const { regulator, apiKey } = await createRegulator(ctx.db.sql, {
      name: 'Leaving Officer',
      email: 'leaving@afm.test',
      password: PASSWORD,
      scryptLogN: 10,
    });
    const cookie = await session(consoleArea, regulator.email);
    expect((await ctx.app.request('/regulator/cases', { headers: { cookie } })).status).toBe(200);

    const r = await run(['regulator', 'disable', '--id', regulator.id, '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ id: regulator.id, sessionsEnded: 1, alreadyDisabled: false });

    const after = await ctx.app.request('/regulator/cases', { headers: { cookie } });
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toBe('/regulator/login');
    const signIn = await postSignIn(
      ctx,
      { ...consoleArea, email: regulator.email },
      regulator.email,
      PASSWORD,
    );
    expect(signIn.status).toBe(401);
    const api = await ctx.app.request('/v1/regulator/cases', bearer(apiKey.apiKey));
    expect(api.status).toBe(401);
    const list = await run(['regulator', 'list', '--json']);
    const listed = list.json<{ regulators: { id: string; disabledAt: string | null }[] }>().regulators;
    expect(listed.find((x) => x.id === regulator.id)!.disabledAt).not.toBeNull();
  });
});
