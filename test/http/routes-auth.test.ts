// Authentication of every route, taken from the app's own route list (as fuzz.test.ts takes its
// coverage): a route mounted by a sub-app without its area's middleware fails here, not in review.
// - without credentials, nothing but an explicit public list answers 2xx/3xx (a page's 303 to its
//   own sign-in form is the refusal);
// - a merchant key does not open the regulator API, a regulator key does not open the merchant API;
// - merchant B (key or dashboard session) reaching merchant A's ids gets no 2xx, and A's rows are
//   unchanged afterwards;
// - a signed-in state-changing form without its CSRF token is refused (403).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboardSession } from '../../src/dashboard/sessions';
import { createDashboardUser } from '../../src/dashboard/users';
import { newId } from '../../src/lib/ids';
import { createApiKey } from '../../src/merchants/apikeys';
import { createSession } from '../../src/regulator/sessions';
import { amlContext, newInvoice, newRegulator, operatorList, PAYER_BTC, payAndScreen } from '../aml/support';
import { createTestMerchant } from '../helpers/services';

const PASSWORD = 'correct horse battery staple';

// Routes that answer without any credential, on purpose (SPEC: probes, the buyer's checkout, the
// documents, static assets, the sign-in forms, the sandbox's own webhook receiver).
const PUBLIC = new Set([
  'GET /healthz',
  'GET /readyz',
  'GET /v1/checkout/:id',
  'GET /v1/checkout/:id/events',
  'POST /v1/checkout/:id/intents',
  'GET /openapi.json',
  'GET /docs',
  'GET /assets/:name',
  'GET /favicon.ico',
  'GET /sandbox/webhooks',
  'POST /sandbox/webhooks',
  'GET /pay/:id',
  'GET /regulator', // a redirect to /regulator/cases, which asks for the session
  'GET /regulator/console.css',
  'GET /regulator/login',
  'POST /regulator/login',
  'GET /dashboard/login',
  'POST /dashboard/login',
]);

type Ctx = Awaited<ReturnType<typeof amlContext>>;
let ctx: Ctx;
let keys: { a: string; b: string; reg: string };
let ids: { invoice: string; webhook: string; delivery: string; case: string; key: string };
let users: { a: string; b: string };
let regulatorId: string;

beforeAll(async () => {
  ctx = await amlContext({
    DASHBOARD_SCRYPT_LOG_N: '10',
    AUTH_FAILURES_PER_KEY: '100000',
    AUTH_FAILURES_PER_ADDRESS: '1000000',
    SSE_MAX_SECONDS: '1',
    SSE_POLL_MS: '50',
  });
  const b = await createTestMerchant(ctx, { name: 'Other Tenant' });
  const spare = await createApiKey(ctx.db.sql, ctx.merchantId, 'test', 'spare');
  await operatorList(ctx, `address,asset\n${PAYER_BTC},BTC\n`);
  const res = await ctx.app.request('/v1/webhooks', {
    method: 'POST',
    headers: { authorization: `Bearer ${ctx.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: 'http://127.0.0.1:9/in' }),
  });
  expect(res.status).toBe(201);
  const webhook = ((await res.json()) as { id: string }).id;
  const invoice = await newInvoice(ctx, ctx.merchantId);
  const caseId = (await payAndScreen(ctx, invoice)).outcome.caseId!;
  const [dlv] = await ctx.db.sql<{ id: string }[]>`select id from webhook_deliveries
    where endpoint_id = ${webhook} limit 1`;
  const reg = await newRegulator(ctx, 'Route Regulator', 'routes@afm.test', PASSWORD);
  const mk = (merchantId: string, email: string) =>
    createDashboardUser(ctx.db.sql, { merchantId, email, password: PASSWORD, scryptLogN: 10 });
  users = {
    a: (await mk(ctx.merchantId, 'a@routes.test')).id,
    b: (await mk(b.merchant.id, 'b@routes.test')).id,
  };
  keys = { a: ctx.apiKey, b: b.apiKey.apiKey, reg: reg.apiKey.apiKey };
  ids = { invoice: invoice.id, webhook, delivery: dlv?.id ?? newId('dlv'), case: caseId, key: spare.id };
  regulatorId = reg.regulator.id;
}, 120_000);
afterAll(() => ctx?.close());

const routes = () =>
  [...new Set(ctx.app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`))].map(
    (k) => {
      const [method, path] = k.split(' ') as [string, string];
      return { key: k, method, path };
    },
  );

/** The path with merchant A's (or the case's) real ids, so a missing check would find data. */
function concrete(path: string): string {
  return path.replace(/:(\w+)/g, (_, name: string) => {
    if (name === 'dlv' || name === 'deliveryId') return ids.delivery;
    if (name === 'name') return 'ui.css';
    if (path.startsWith('/v1/regulator/') || path.startsWith('/regulator/')) return ids.case;
    if (path.includes('/webhooks/')) return ids.webhook;
    if (path.includes('/keys/')) return ids.key;
    return ids.invoice;
  });
}

async function send(method: string, path: string, headers: Record<string, string> = {}, form?: string) {
  const init: RequestInit = { method, headers: { ...headers } };
  if (method !== 'GET' && method !== 'DELETE') {
    if (path.startsWith('/v1/')) {
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
      init.body = '{}';
    } else {
      (init.headers as Record<string, string>)['content-type'] = 'application/x-www-form-urlencoded';
      (init.headers as Record<string, string>).origin = 'http://localhost';
      init.body = form ?? '';
    }
  }
  const res = await ctx.app.request(`http://localhost${path}`, init);
  await res.body?.cancel();
  return res;
}

const loginOf = (path: string) =>
  path.startsWith('/dashboard')
    ? '/dashboard/login'
    : path.startsWith('/regulator')
      ? '/regulator/login'
      : '';

describe('authentication of every route', () => {
  it('the public list names only routes that exist', () => {
    const keys = new Set(routes().map((r) => r.key));
    expect([...PUBLIC].filter((k) => !keys.has(k))).toEqual([]);
  });

  it('without credentials, only the public routes answer 2xx/3xx (a page may send to its sign-in form)', async () => {
    const leaks: string[] = [];
    for (const r of routes()) {
      if (PUBLIC.has(r.key)) continue;
      const res = await send(r.method, concrete(r.path));
      const where = `${r.key} → ${res.status} ${res.headers.get('location') ?? ''}`;
      if (res.status < 400) {
        const toLogin = res.status === 303 && res.headers.get('location') === loginOf(r.path);
        if (!toLogin || r.method !== 'GET') leaks.push(where);
      } else if (![401, 403].includes(res.status)) leaks.push(where);
    }
    expect(leaks).toEqual([]);
  });

  it('spellings of a route (trailing or doubled slash, an encoded letter, upper case) open nothing either', async () => {
    const leaks: string[] = [];
    for (const r of routes()) {
      if (PUBLIC.has(r.key)) continue;
      const path = concrete(r.path);
      const at = path.indexOf('/', 1);
      const variants = [
        `${path}/`,
        path.replace(/^\/(\w+)\//, '/$1//'),
        `/${encodeURIComponent(path[1]!).replace(/./, (ch) => `%${ch.charCodeAt(0).toString(16)}`)}${path.slice(2)}`,
        path.toUpperCase(),
        at > 0 ? `${path.slice(0, at)}/.${path.slice(at)}` : `${path}/.`,
      ];
      for (const v of variants) {
        const res = await send(r.method, v);
        if (res.status < 300 || (res.status < 400 && !res.headers.get('location')?.endsWith('/login')))
          leaks.push(`${r.method} ${v} → ${res.status}`);
      }
    }
    expect(leaks).toEqual([]);
  });

  it('every /v1 route outside the checkout and the regulator API asks for a merchant key, the regulator API for a regulator key', async () => {
    const wrong: string[] = [];
    for (const r of routes()) {
      if (!r.path.startsWith('/v1/') || r.path.startsWith('/v1/checkout/')) continue;
      const regulatorRoute = r.path.startsWith('/v1/regulator');
      const other = regulatorRoute ? keys.a : keys.reg;
      const res = await send(r.method, concrete(r.path), { authorization: `Bearer ${other}` });
      if (![401, 403].includes(res.status)) wrong.push(`${r.key} with the other kind of key → ${res.status}`);
    }
    expect(wrong).toEqual([]);
  });

  it("merchant B reaches none of merchant A's ids, by key or by dashboard session", async () => {
    const snapshot = async () => ({
      invoice: (await ctx.db.sql`select status from invoices where id = ${ids.invoice}`)[0],
      webhook: (await ctx.db.sql`select * from webhook_endpoints where id = ${ids.webhook}`)[0],
      key: (await ctx.db.sql`select revoked_at from api_keys where id = ${ids.key}`)[0],
      deliveries: (await ctx.db.sql`select count(*)::int as n from webhook_deliveries`)[0],
    });
    const before = await snapshot();
    expect(before.webhook).toBeDefined();
    const session = await createDashboardSession(ctx.db.sql, users.b);
    const reached: string[] = [];
    for (const r of routes()) {
      if (!r.path.includes(':')) continue;
      let res: Response;
      if (
        r.path.startsWith('/v1/') &&
        !r.path.startsWith('/v1/checkout/') &&
        !r.path.startsWith('/v1/regulator')
      ) {
        res = await send(r.method, concrete(r.path), { authorization: `Bearer ${keys.b}` });
      } else if (r.path.startsWith('/dashboard/')) {
        const form = new URLSearchParams({ csrf: session.csrf }).toString();
        res = await send(r.method, concrete(r.path), { cookie: `dash_session=${session.token}` }, form);
      } else continue;
      if (res.status < 400) reached.push(`${r.key} → ${res.status} ${res.headers.get('location') ?? ''}`);
    }
    expect(reached).toEqual([]);
    expect(await snapshot()).toEqual(before);
  });

  it('every signed-in POST form without its CSRF token is refused with 403', async () => {
    const dash = await createDashboardSession(ctx.db.sql, users.a);
    const reg = await createSession(ctx.db.sql, regulatorId);
    const accepted: string[] = [];
    for (const r of routes()) {
      if (r.method === 'GET' || r.path.startsWith('/v1/') || PUBLIC.has(r.key)) continue;
      const cookie = r.path.startsWith('/dashboard')
        ? `dash_session=${dash.token}`
        : r.path.startsWith('/regulator')
          ? `rg_session=${reg.token}`
          : undefined;
      if (!cookie) continue;
      for (const form of ['decision=approve&reason=x', 'csrf=forged']) {
        const res = await send(r.method, concrete(r.path), { cookie }, form);
        if (res.status !== 403) accepted.push(`${r.key} (${form}) → ${res.status}`);
      }
    }
    expect(accepted).toEqual([]);
  });
});
