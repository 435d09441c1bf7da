// The parallel guess of issue 13 item 3: 30 wrong passwords and then the right one, all in flight at
// once, against a dashboard account with the default lockout (5) and scrypt cost. Prints the
// statuses and whether the right one got a session. Standalone: `DATABASE_URL=postgres://… npx tsx
// bench/signin-guess.ts`.
import { createDashboardUser } from '../src/dashboard/users';
import { createTestContext, createTestMerchant } from '../test/helpers/services';

const PASSWORD = 'correct horse battery staple';
const ctx = await createTestContext({ DASHBOARD_SCRYPT_LOG_N: '15' });
const { merchant } = await createTestMerchant(ctx, { name: 'Guess Shop' });
await createDashboardUser(ctx.db.sql, {
  merchantId: merchant.id,
  email: 'owner@guess.test',
  password: PASSWORD,
  scryptLogN: 15,
});

async function signIn(password: string): Promise<Response> {
  const page = await ctx.app.request('/dashboard/login');
  const token = /name="csrf" value="([^"]+)"/.exec(await page.text())![1]!;
  return ctx.app.request('/dashboard/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `dash_login=${token}` },
    body: new URLSearchParams({ csrf: token, email: 'owner@guess.test', password }),
  });
}

const wrong = Array.from({ length: 30 }, (_, i) => signIn(`wrong password #${i}`));
const right = signIn(PASSWORD);
const statuses: Record<number, number> = {};
for (const r of await Promise.all(wrong)) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
const r = await right;
const [row] = await ctx.db.sql`select failed_attempts, locked_until from merchant_users`;
const sessions = await ctx.db.sql`select 1 from merchant_sessions`;
console.log(
  JSON.stringify({
    wrong: statuses,
    right: r.status,
    sessions: sessions.length,
    lockedAfter: row!.locked_until !== null,
  }),
);
await ctx.close();
process.exit(0);
