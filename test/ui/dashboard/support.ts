// A small browser stand-in for in-process dashboard tests: a cookie jar over app.request, the CSRF
// token read from the page like a form would carry it, and form posts.
import { createDashboardUser } from '../../../src/dashboard/users';
import { createTestContext, createTestMerchant, type TestContext } from '../../helpers/services';

export const PASSWORD = 'correct horse battery staple';

export interface Client {
  readonly cookies: Map<string, string>;
  get(path: string, headers?: Record<string, string>): Promise<{ res: Response; html: string }>;
  post(
    path: string,
    form: Record<string, string | string[]>,
    headers?: Record<string, string>,
  ): Promise<{
    res: Response;
    html: string;
  }>;
  /** The CSRF token of the session (from any signed-in page). */
  csrf(): Promise<string>;
}

export function client(ctx: TestContext): Client {
  const cookies = new Map<string, string>();
  const absorb = (res: Response) => {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (/max-age=0/i.test(line) || value === '') cookies.delete(name);
      else cookies.set(name, value);
    }
  };
  const cookieHeader = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  const c: Client = {
    cookies,
    async get(path, headers = {}) {
      const res = await ctx.app.request(path, { headers: { cookie: cookieHeader(), ...headers } });
      absorb(res);
      return { res, html: await res.text() };
    },
    async post(path, form, headers = {}) {
      const body = new URLSearchParams();
      for (const [k, v] of Object.entries(form))
        for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
      const res = await ctx.app.request(path, {
        method: 'POST',
        headers: { cookie: cookieHeader(), 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: body.toString(),
      });
      absorb(res);
      return { res, html: await res.text() };
    },
    async csrf() {
      const { html } = await c.get('/dashboard/keys');
      return csrfOf(html);
    },
  };
  return c;
}

export const csrfOf = (html: string): string => /name="csrf" value="([^"]+)"/.exec(html)![1]!;

export async function signIn(c: Client, email: string, password = PASSWORD) {
  const login = await c.get('/dashboard/login');
  return c.post('/dashboard/login', { csrf: csrfOf(login.html), email, password });
}

/** A context with a merchant and its dashboard user (cheap scrypt for tests). */
export async function dashboardContext(env: Record<string, string> = {}) {
  const ctx = await createTestContext({ DASHBOARD_SCRYPT_LOG_N: '10', ...env });
  const { merchant, apiKey } = await createTestMerchant(ctx, { name: 'Kofe Alatau' });
  const email = `owner-${merchant.id.slice(-6)}@kofe.kz`;
  await createDashboardUser(ctx.db.sql, {
    merchantId: merchant.id,
    email,
    password: PASSWORD,
    scryptLogN: 10,
  });
  return { ctx, merchant, apiKey: apiKey.apiKey, email };
}

export const decode = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
