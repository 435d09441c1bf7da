// Issue 13 item 4: regulator console sign-in time for a real account (wrong password) against an
// unknown email, one at a time at the default scrypt cost. Standalone: `DATABASE_URL=postgres://…
// npx tsx bench/signin-timing.ts`. Prints the median of each in ms (their ratio is what matters).
import { createRegulator } from '../src/regulator/accounts';
import { createTestContext } from '../test/helpers/services';

const ctx = await createTestContext({ REGULATOR_SCRYPT_LOG_N: '15' });
await createRegulator(ctx.db.sql, {
  name: 'Timing Officer',
  email: 'timing@afm.test',
  password: 'correct horse battery staple',
  scryptLogN: 15,
});

async function signIn(email: string): Promise<number> {
  const page = await ctx.app.request('/regulator/login');
  const token = /name="csrf" value="([^"]+)"/.exec(await page.text())![1]!;
  const t0 = performance.now();
  const res = await ctx.app.request('/regulator/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `rg_login=${token}` },
    body: new URLSearchParams({ csrf: token, email, password: 'not the password' }),
  });
  await res.arrayBuffer();
  return performance.now() - t0;
}

const median = (xs: number[]) => Math.round(xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!);
const real: number[] = [];
const unknown: number[] = [];
// Alternating; the real account's lockout is 5, so at most 4 wrong passwords in a row.
for (let i = 0; i < 4; i++) {
  real.push(await signIn('timing@afm.test'));
  unknown.push(await signIn(`nobody${i}@afm.test`));
}
console.log(JSON.stringify({ realMs: median(real), unknownMs: median(unknown) }));
await ctx.close();
process.exit(0);
