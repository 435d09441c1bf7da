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

  it.each(['/dashboard', '/regulator'])(
    '%s: guesses from many IPv6 addresses of one /64 share its limit (5); another /64 is not refused',
    async (prefix) => {
      const a = area(prefix);
      const net = prefix === '/dashboard' ? '2001:db8:13:1' : '2001:db8:13:2';
      const statuses: number[] = [];
      for (let i = 1; i <= 7; i++)
        statuses.push(
          (
            await postSignIn(
              s.ctx,
              a,
              `v6guess${i}@guess.test`,
              'wrong password!',
              `${net}::${i.toString(16)}`,
            )
          ).status,
        );
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
      const other = await postSignIn(s.ctx, a, 'v6other@guess.test', 'wrong password!', `${net}1::1`);
      expect(other.status).toBe(401);
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

describe('no account discovery by lockout (session 6)', () => {
  let s: SignInContext;
  beforeAll(async () => {
    s = await signInContext({ AUTH_FAILURES_PER_ADDRESS: '1000' });
  });
  afterAll(() => s?.ctx.close());

  /** The page with what differs per request taken out: the CSRF token, the email, the clock. */
  const page = async (r: Response, email: string) =>
    (await r.text())
      .replaceAll(email, '<email>')
      .replace(/value="[A-Za-z0-9_-]{20,}"/g, 'value="<csrf>"')
      .replace(/\d{2}:\d{2}/g, '<time>');

  /** Seven wrong passwords in a row: statuses, pages and scrypt calls. */
  async function sevenWrong(a: Area, email: string) {
    const statuses: number[] = [];
    const pages: string[] = [];
    const before = s.kdf.calls.length;
    for (let i = 0; i < 7; i++) {
      const r = await postSignIn(s.ctx, a, email, `wrong password #${i}`);
      statuses.push(r.status);
      pages.push(await page(r, email));
    }
    return { statuses, pages, hashes: s.kdf.calls.slice(before) };
  }

  it.each([0, 1])(
    'area %i: an unknown email answers exactly as a real one: 401 × 4, then 423 with the same page, and the same hashes',
    async (i) => {
      const a = s.areas[i]!;
      const real = await sevenWrong(a, a.email);
      const unknown = await sevenWrong(a, `nobody${i}@nowhere.test`);
      expect(real.statuses).toEqual([401, 401, 401, 401, 423, 423, 423]);
      expect(unknown.statuses).toEqual(real.statuses);
      expect(unknown.pages).toEqual(real.pages);
      // Five checked (the fifth locks), none while locked; at the configured cost both times.
      expect(real.hashes).toHaveLength(5);
      expect(unknown.hashes).toEqual(real.hashes);
      // Case and spaces do not make a fresh counter (the account lookup ignores them too).
      const again = await postSignIn(s.ctx, a, `  NOBODY${i}@Nowhere.TEST `, 'wrong password!');
      expect(again.status).toBe(423);
      // The guesses are not kept in the clear.
      const rows = await s.ctx.db.sql`select email_digest from sign_in_unknown`;
      expect(JSON.stringify(rows)).not.toContain('nowhere');
    },
  );

  it.each([0, 1])('area %i: a disabled account answers as an unknown email does', async (i) => {
    const a = s.areas[i]!;
    const sql = s.ctx.db.sql;
    const email = i === 0 ? 'clerk@guarded.test' : 'retired@afm.test';
    if (i === 0) {
      const [m] = await sql`select merchant_id from merchant_users where email = ${a.email}`;
      await sql`insert into merchant_users (id, merchant_id, email, password_hash, disabled_at)
        select 'usr_disabled0000000000000000', ${m!.merchant_id}, ${email}, password_hash, now()
        from merchant_users where email = ${a.email}`;
    } else {
      await sql`insert into regulators (id, name, email, password_hash, disabled_at)
        select 'reg_disabled0000000000000000', 'Retired', ${email}, password_hash, now()
        from regulators where email = ${a.email}`;
    }
    const disabled = await sevenWrong(a, email);
    expect(disabled.statuses).toEqual([401, 401, 401, 401, 423, 423, 423]);
  });

  it.each([0, 1])(
    'area %i: 30 parallel guesses at an unknown email: at most 5 hashed, the rest locked out, as for a real one',
    async (i) => {
      const a = s.areas[i]!;
      const before = s.kdf.calls.length;
      const answers = await Promise.all(
        Array.from({ length: 30 }, (_, j) =>
          postSignIn(s.ctx, a, `parallel${i}@nowhere.test`, `guess #${j}`),
        ),
      );
      const statuses = answers.map((r) => r.status);
      expect(s.kdf.calls.length - before).toBeLessThanOrEqual(5);
      expect(statuses.filter((x) => x === 401).length).toBeLessThanOrEqual(4);
      expect(statuses.filter((x) => x === 423).length).toBeGreaterThanOrEqual(26);
      expect(statuses.every((x) => x === 401 || x === 423)).toBe(true);
    },
  );

  it.each([0, 1])(
    'area %i: a spelling only the database lower-cases alike ("İ" for "i") counts on one counter, real or unknown',
    async (i) => {
      const a = s.areas[i]!;
      const sql = s.ctx.db.sql;
      // A fresh real account whose email has an "i".
      const real = i === 0 ? 'kiosk@guarded.test' : 'inspector@afm.test';
      if (i === 0) {
        await sql`insert into merchant_users (id, merchant_id, email, password_hash)
          select 'usr_kiosk000000000000000000', merchant_id, ${real}, password_hash
          from merchant_users where email = ${a.email}`;
      } else {
        await sql`insert into regulators (id, name, email, password_hash)
          select 'reg_inspector00000000000000', 'Inspector', ${real}, password_hash
          from regulators where email = ${a.email}`;
      }
      const [row] = await sql<
        { same: boolean }[]
      >`select lower(${real.replace('i', 'İ')}::text) = ${real} as same`;
      expect(row!.same).toBe(true); // the account lookup takes it for the real email
      const variantLast = async (email: string) => {
        const statuses: number[] = [];
        for (let k = 0; k < 4; k++) statuses.push((await postSignIn(s.ctx, a, email, `wrong ${k}`)).status);
        statuses.push((await postSignIn(s.ctx, a, email.replace('i', 'İ'), 'wrong 4')).status);
        return statuses;
      };
      const realStatuses = await variantLast(real);
      expect(realStatuses).toEqual([401, 401, 401, 401, 423]);
      expect(await variantLast(`infinity${i}@nowhere.test`)).toEqual(realStatuses);
    },
  );

  it('the lock of an unknown email runs out like an account’s, and the counter restarts', async () => {
    const a = s.areas[0];
    const email = 'expiring@nowhere.test';
    for (let i = 0; i < 5; i++) await postSignIn(s.ctx, a, email, 'wrong password!');
    expect((await postSignIn(s.ctx, a, email, 'wrong password!')).status).toBe(423);
    await s.ctx.db.sql`update sign_in_unknown set locked_until = now() - interval '1 second'
      where locked_until is not null and failed_attempts >= 0`;
    await s.ctx.db.sql`update merchant_users set locked_until = now() - interval '1 second'
      where email = ${a.email}`;
    expect((await postSignIn(s.ctx, a, email, 'wrong password!')).status).toBe(401);
    expect((await postSignIn(s.ctx, a, a.email, 'wrong password!')).status).toBe(401);
  });
});

describe('idle counters start again, and unknown ones are deleted (session 6 review)', () => {
  let s: SignInContext;
  beforeAll(async () => {
    s = await signInContext({
      AUTH_FAILURES_PER_ADDRESS: '1000',
      DASHBOARD_LOCKOUT_MINUTES: '15',
      REGULATOR_LOCKOUT_MINUTES: '15',
    });
  });
  afterAll(() => s?.ctx.close());

  /** Moves every last attempt (accounts and unknown emails alike) `minutes` into the past. */
  async function wait(minutes: number) {
    const sql = s.ctx.db.sql;
    const back = sql`last_attempt_at = last_attempt_at - ${minutes} * interval '1 minute'`;
    await sql`update merchant_users set ${back} where last_attempt_at is not null`;
    await sql`update regulators set ${back} where last_attempt_at is not null`;
    await sql`update sign_in_unknown set ${back}`;
  }
  const wrong = async (a: Area, email: string, n: number) => {
    const statuses: number[] = [];
    for (let k = 0; k < n; k++) statuses.push((await postSignIn(s.ctx, a, email, `wrong ${k}`)).status);
    return statuses;
  };
  /** A fresh real account in the area (the seeded ones are shared by the tests). */
  async function freshAccount(a: Area, tag: string): Promise<string> {
    const sql = s.ctx.db.sql;
    const email = `${tag}@${a.table === 'merchant_users' ? 'guarded' : 'afm'}.test`;
    if (a.table === 'merchant_users') {
      await sql`insert into merchant_users (id, merchant_id, email, password_hash)
        select ${`usr_${tag.padEnd(24, '0')}`}, merchant_id, ${email}, password_hash
        from merchant_users where email = ${a.email}`;
    } else {
      await sql`insert into regulators (id, name, email, password_hash)
        select ${`reg_${tag.padEnd(24, '0')}`}, ${tag}, ${email}, password_hash
        from regulators where email = ${a.email}`;
    }
    return email;
  }

  it.each([0, 1])(
    'area %i: 4 wrong, a wait longer than the lockout window, then wrong again: the count restarted, for a real and an unknown email alike',
    async (i) => {
      const a = s.areas[i]!;
      const real = await freshAccount(a, `idler${i}`);
      const unknown = `idler${i}@nowhere.test`;
      expect(await wrong(a, real, 4)).toEqual([401, 401, 401, 401]);
      expect(await wrong(a, unknown, 4)).toEqual([401, 401, 401, 401]);
      await wait(16);
      // Counted from zero again: four more are answered 401, the fifth locks.
      const after = await wrong(a, real, 5);
      expect(after).toEqual([401, 401, 401, 401, 423]);
      expect(await wrong(a, unknown, 5)).toEqual(after);
      // The lock holds against the right password too.
      expect((await postSignIn(s.ctx, a, real, PASSWORD)).status).toBe(423);
    },
  );

  it.each([0, 1])(
    'area %i: a wait shorter than the window carries the count on, for a real and an unknown email alike',
    async (i) => {
      const a = s.areas[i]!;
      const real = await freshAccount(a, `pauser${i}`);
      const unknown = `pauser${i}@nowhere.test`;
      expect(await wrong(a, real, 4)).toEqual([401, 401, 401, 401]);
      expect(await wrong(a, unknown, 4)).toEqual([401, 401, 401, 401]);
      await wait(14);
      expect(await wrong(a, real, 1)).toEqual([423]);
      expect(await wrong(a, unknown, 1)).toEqual([423]);
    },
  );

  it.each([0, 1])(
    'area %i: 30 parallel guesses at counters that went idle at 4: one restart, at most 5 hashed, at most 4 answered 401',
    async (i) => {
      const a = s.areas[i]!;
      for (const email of [await freshAccount(a, `racer${i}`), `racer${i}@nowhere.test`]) {
        expect(await wrong(a, email, 4)).toEqual([401, 401, 401, 401]);
        await wait(16);
        const before = s.kdf.calls.length;
        const statuses = (
          await Promise.all(Array.from({ length: 30 }, (_, j) => postSignIn(s.ctx, a, email, `guess #${j}`)))
        ).map((r) => r.status);
        expect(s.kdf.calls.length - before).toBeLessThanOrEqual(5);
        expect(statuses.filter((x) => x === 401).length).toBeLessThanOrEqual(4);
        expect(statuses.filter((x) => x === 423).length).toBeGreaterThanOrEqual(26);
        expect(statuses.every((x) => x === 401 || x === 423)).toBe(true);
      }
    },
  );

  it('unknown counters idle past the window are deleted in batches by later attempts; running ones stay', async () => {
    const sql = s.ctx.db.sql;
    const [dash, reg] = s.areas;
    await sql`delete from sign_in_unknown`;
    const rows = (area: string, n: number, tag: string, lastAgo: string, lockedFor: string | null) =>
      sql`insert into sign_in_unknown (area, email_digest, failed_attempts, locked_until, last_attempt_at)
        select ${area}, ${tag} || g, 1,
          case when ${lockedFor}::interval is null then null else now() + ${lockedFor}::interval end,
          now() - ${lastAgo}::interval
        from generate_series(1, ${n}) g`;
    await rows('dashboard_user', 250, 'idle-', '16 minutes', null);
    await rows('dashboard_user', 3, 'idle-lock-over-', '20 minutes', '-5 minutes');
    await rows('dashboard_user', 5, 'recent-', '10 minutes', null);
    await rows('dashboard_user', 4, 'locked-', '16 minutes', '5 minutes');
    await rows('regulator', 7, 'other-area-', '16 minutes', null);
    const count = async (like: string) => {
      const [r] = await sql<{ n: number }[]>`select count(*)::int as n from sign_in_unknown
        where email_digest like ${like}`;
      return r!.n;
    };
    // One attempt (at a real account, which adds no row) deletes one batch.
    expect((await postSignIn(s.ctx, dash, dash.email, PASSWORD)).status).toBe(303);
    expect(await count('idle-%')).toBe(253 - 100); // 'idle-' and 'idle-lock-over-' rows
    // An unknown email's attempts delete too; a few attempts and every idle row is gone.
    await wrong(dash, 'sweeper@nowhere.test', 3);
    expect(await count('idle-%')).toBe(0);
    expect(await count('recent-%')).toBe(5);
    expect(await count('locked-%')).toBe(4);
    // Each area's own window: the regulator rows go on the console's next attempt.
    expect(await count('other-area-%')).toBe(7);
    await wrong(reg, 'sweeper@nowhere.test', 1);
    expect(await count('other-area-%')).toBe(0);
    // What is left: the live counters only, and the sweeper's own.
    const [left] = await sql<{ n: number }[]>`select count(*)::int as n from sign_in_unknown`;
    expect(left!.n).toBe(5 + 4 + 2);
  });
});
