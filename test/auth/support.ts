// Sign-in under attack, in-process: a context with a dashboard user and a regulator, whose password
// hasher runs the real scrypt through a wrapper that records each call's parameters and can hold
// calls until the test lets them go.
import { createPasswordHasher } from '../../src/auth/passwords';
import { type Kdf, platformScrypt, type ScryptParams } from '../../src/auth/scrypt';
import { createDashboardUser } from '../../src/dashboard/users';
import { createRegulator } from '../../src/regulator/accounts';
import { createTestContext, createTestMerchant, type TestContext } from '../helpers/services';

export const PASSWORD = 'correct horse battery staple';

export interface ObservedKdf {
  readonly kdf: Kdf;
  readonly calls: ScryptParams[];
  /** Hashes running now, and the most at once. */
  readonly running: () => number;
  readonly peak: () => number;
  /** While held, every call waits (after being recorded) until release(). */
  hold(): void;
  release(): void;
  /** Resolves once `n` calls have been recorded. */
  called(n: number): Promise<void>;
}

export function observedKdf(): ObservedKdf {
  const calls: ScryptParams[] = [];
  let running = 0;
  let peak = 0;
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  const waiters: { n: number; resolve: () => void }[] = [];
  return {
    calls,
    running: () => running,
    peak: () => peak,
    hold() {
      gate = new Promise((r) => {
        open = r;
      });
    },
    release() {
      open?.();
      gate = undefined;
    },
    called(n) {
      if (calls.length >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    async kdf(password, salt, params) {
      calls.push(params);
      for (const w of waiters.filter((w) => calls.length >= w.n)) w.resolve();
      running++;
      peak = Math.max(peak, running);
      try {
        if (gate) await gate;
        return await platformScrypt(password, salt, params);
      } finally {
        running--;
      }
    },
  };
}

export interface Area {
  readonly prefix: '/dashboard' | '/regulator';
  readonly loginCookie: string;
  readonly sessionCookie: string;
  readonly email: string;
  readonly table: 'merchant_users' | 'regulators';
}

export interface SignInContext {
  readonly ctx: TestContext;
  readonly kdf: ObservedKdf;
  readonly apiKey: string;
  readonly areas: readonly [Area, Area];
}

export async function signInContext(
  env: Record<string, string> = {},
  hashing = { concurrency: 64, queue: 64 },
  logN = 10,
): Promise<SignInContext> {
  const kdf = observedKdf();
  const ctx = await createTestContext(
    {
      DASHBOARD_SCRYPT_LOG_N: String(logN),
      REGULATOR_SCRYPT_LOG_N: String(logN),
      DASHBOARD_LOCKOUT_ATTEMPTS: '5',
      REGULATOR_LOCKOUT_ATTEMPTS: '5',
      ...env,
    },
    { passwords: createPasswordHasher({ ...hashing, kdf: kdf.kdf }) },
  );
  const { merchant, apiKey } = await createTestMerchant(ctx, { name: 'Guarded Shop' });
  await createDashboardUser(ctx.db.sql, {
    merchantId: merchant.id,
    email: 'owner@guarded.test',
    password: PASSWORD,
    scryptLogN: logN,
  });
  await createRegulator(ctx.db.sql, {
    name: 'Aigerim Sadykova',
    email: 'officer@afm.test',
    password: PASSWORD,
    scryptLogN: logN,
  });
  return {
    ctx,
    kdf,
    apiKey: apiKey.apiKey,
    areas: [
      {
        prefix: '/dashboard',
        loginCookie: 'dash_login',
        sessionCookie: 'dash_session',
        email: 'owner@guarded.test',
        table: 'merchant_users',
      },
      {
        prefix: '/regulator',
        loginCookie: 'rg_login',
        sessionCookie: 'rg_session',
        email: 'officer@afm.test',
        table: 'regulators',
      },
    ],
  };
}

export const from = (address: string) => ({ incoming: { socket: { remoteAddress: address } } });

/** Fetches the sign-in form (for its CSRF cookie) and posts it. */
export async function postSignIn(
  ctx: TestContext,
  area: Area,
  email: string,
  password: string,
  address?: string,
): Promise<Response> {
  const env = address ? from(address) : undefined;
  const page = await ctx.app.request(`${area.prefix}/login`, {}, env);
  const token = /name="csrf" value="([^"]+)"/.exec(await page.text())![1]!;
  return ctx.app.request(
    `${area.prefix}/login`,
    {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: `${area.loginCookie}=${token}`,
      },
      body: new URLSearchParams({ csrf: token, email, password }).toString(),
    },
    env,
  );
}
