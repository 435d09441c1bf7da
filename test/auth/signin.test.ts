// Sign-in under attack (issue 13 items 2–4), on both areas that share src/auth: the dashboard and the
// regulator console. Hashes are observed through the hasher's scrypt (support.ts), never timed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from '../../src/auth/passwords';
import { type Area, PASSWORD, postSignIn, type SignInContext, signInContext } from './support';

const until = async (check: () => Promise<boolean>) => {
  while (!(await check())) await new Promise((r) => setTimeout(r, 20));
};

describe('lockout under parallel guesses (item 3)', () => {
  let s: SignInContext;
  beforeAll(async () => {
    s = await signInContext({ AUTH_FAILURES_PER_ADDRESS: '5' });
  });
  afterAll(() => s?.ctx.close());
  const area = (prefix: string) => s.areas.find((a) => a.prefix === prefix)!;

  it.each(['/dashboard', '/regulator'])(
    '%s: of 30 parallel wrong passwords at most the limit (5) are checked; the right one sent after them does not sign in',
    async (prefix) => {
      const a: Area = area(prefix);
      const sql = s.ctx.db.sql;
      const before = s.kdf.calls.length;
      s.kdf.hold();
      const wrong = Array.from({ length: 30 }, (_, i) =>
        postSignIn(s.ctx, a, a.email, `wrong password #${i}`),
      );
      // The checked ones are hashing (held); wait until those past the limit have set the lock.
      await s.kdf.called(before + 5);
      await until(async () => {
        const [r] = await sql`select locked_until from ${sql(a.table)} where email = ${a.email}`;
        return r!.locked_until !== null;
      });
      const right = await postSignIn(s.ctx, a, a.email, PASSWORD);
      s.kdf.release();
      const statuses = (await Promise.all(wrong)).map((r) => r.status);

      expect(s.kdf.calls.length - before).toBeLessThanOrEqual(5);
      expect(right.status).toBe(423);
      expect(right.headers.getSetCookie().some((c) => c.startsWith(`${a.sessionCookie}=`))).toBe(false);
      expect(statuses.filter((x) => x === 401).length).toBeLessThanOrEqual(4);
      expect(statuses.every((x) => x === 401 || x === 423)).toBe(true);
      const sessions =
        a.table === 'merchant_users'
          ? await sql`select 1 from merchant_sessions`
          : await sql`select 1 from regulator_sessions`;
      expect(sessions).toHaveLength(0);
      const [row] = await sql`select locked_until from ${sql(a.table)} where email = ${a.email}`;
      expect(new Date(row!.locked_until).getTime()).toBeGreaterThan(Date.now());
      const locks = await sql`select 1 from audit_log where action like '%.locked'
        and subject = (select id from ${sql(a.table)} where email = ${a.email})`;
      expect(locks).toHaveLength(1);
    },
  );

  it.each(['/dashboard', '/regulator'])(
    '%s: 20 parallel guesses at other accounts from one address: at most its limit (5) are checked, the rest get 429',
    async (prefix) => {
      const a = area(prefix);
      const address = prefix === '/dashboard' ? '10.13.3.1' : '10.13.3.2';
      const before = s.kdf.calls.length;
      s.kdf.hold();
      const guesses = Array.from({ length: 20 }, (_, i) =>
        postSignIn(s.ctx, a, `nobody${i}@guess.test`, 'wrong password!', address),
      );
      await until(async () => {
        const [r] = await s.ctx.db
          .sql`select failures from auth_failures where bucket = ${`addr:${address}`}`;
        return (r?.failures ?? 0) >= 20;
      });
      s.kdf.release();
      const statuses = (await Promise.all(guesses)).map((r) => r.status);
      expect(s.kdf.calls.length - before).toBeLessThanOrEqual(5);
      expect(statuses.filter((x) => x === 401)).toHaveLength(5);
      const refused = (await Promise.all(guesses)).filter((r) => r.status === 429);
      expect(refused).toHaveLength(15);
      expect(Number(refused[0]!.headers.get('retry-after'))).toBeGreaterThan(0);
      // The right password from that address now waits for the window; from another it works.
      expect((await postSignIn(s.ctx, a, a.email, PASSWORD, address)).status).toBe(429);
    },
  );
});

describe('no account discovery by timing (item 4)', () => {
  let s: SignInContext;
  beforeAll(async () => {
    // A cost other than the old fixed dummy's (2^10), as operators configure it.
    s = await signInContext({}, { concurrency: 4, queue: 16 }, 11);
  });
  afterAll(() => s?.ctx.close());

  it.each([0, 1])(
    'an unknown email runs scrypt with the N, r and p of a real account (area %i)',
    async (i) => {
      const a = s.areas[i]!;
      const start = s.kdf.calls.length;
      expect((await postSignIn(s.ctx, a, a.email, 'not the password')).status).toBe(401);
      const real = s.kdf.calls.slice(start);
      expect((await postSignIn(s.ctx, a, 'nobody@unknown.test', 'not the password')).status).toBe(401);
      const unknown = s.kdf.calls.slice(start + real.length);
      expect(real).toEqual([{ N: 2 ** 11, r: 8, p: 1, dkLen: 32 }]);
      expect(unknown).toEqual(real);
    },
  );

  it.each([0, 1])(
    'a right password stored at an older cost is rehashed at the configured one (area %i)',
    async (i) => {
      const a = s.areas[i]!;
      const sql = s.ctx.db.sql;
      const old = await hashPassword(PASSWORD, 10);
      await sql`update ${sql(a.table)} set password_hash = ${old}, failed_attempts = 0 where email = ${a.email}`;
      expect((await postSignIn(s.ctx, a, a.email, PASSWORD)).status).toBe(303);
      const [row] = await sql`select password_hash from ${sql(a.table)} where email = ${a.email}`;
      expect(row!.password_hash).toMatch(/^scrypt\$11\$8\$1\$/);
      expect(await verifyPassword(PASSWORD, row!.password_hash)).toBe(true);
    },
  );
});

describe('bounded hashing (item 2)', () => {
  let s: SignInContext;
  beforeAll(async () => {
    s = await signInContext({}, { concurrency: 2, queue: 3 });
  });
  afterAll(() => s?.ctx.close());

  it('records the attempt before hashing', async () => {
    const a = s.areas[0];
    const before = s.kdf.calls.length;
    s.kdf.hold();
    const pending = postSignIn(s.ctx, a, a.email, 'wrong password!');
    await s.kdf.called(before + 1);
    const [row] = await s.ctx.db.sql`select failed_attempts from merchant_users where email = ${a.email}`;
    expect(row!.failed_attempts).toBe(1);
    s.kdf.release();
    expect((await pending).status).toBe(401);
  });

  it('20 parallel sign-ins: 2 hash at once, 3 wait, the rest get 503 with Retry-After; the API answers meanwhile', async () => {
    const [dash, reg] = s.areas;
    const before = s.kdf.calls.length;
    s.kdf.hold();
    const storm = Array.from({ length: 20 }, (_, i) =>
      postSignIn(s.ctx, i % 2 ? reg : dash, `storm${i}@unknown.test`, 'wrong password!'),
    );
    await until(async () => s.ctx.services.passwords.stats().refused >= 15);
    // While two hashes are held and three sign-ins queue, the API still answers.
    const api = await s.ctx.app.request('/v1/invoices', {
      headers: { authorization: `Bearer ${s.apiKey}` },
    });
    expect(api.status).toBe(200);
    expect(s.ctx.services.passwords.stats()).toMatchObject({ active: 2, queued: 3, refused: 15 });
    s.kdf.release();
    const answers = await Promise.all(storm);
    expect(s.kdf.peak()).toBe(2);
    expect(s.kdf.calls.length - before).toBe(5);
    expect(answers.filter((r) => r.status === 401)).toHaveLength(5);
    const busy = answers.filter((r) => r.status === 503);
    expect(busy).toHaveLength(15);
    for (const r of busy) {
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(r.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await r.text()).toContain('Too many sign-ins are being checked right now');
    }
    // Afterwards the right password signs in again at once.
    expect((await postSignIn(s.ctx, dash, dash.email, PASSWORD)).status).toBe(303);
  });
});
