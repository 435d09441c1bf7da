// Fuzzing every HTTP endpoint (issue 8): random and hostile bodies, query strings, headers, ids and
// credentials. For every request: never a 5xx; a 4xx from the API is problem+json (pages may answer
// HTML); and a rejected request changes no row (a journal of every row written to any table, kept by
// triggers in the test database, must not grow during it).
// Endpoints come from the app's own route list, so a new one without a fuzz entry fails the suite.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboardSession } from '../../src/dashboard/sessions';
import { createDashboardUser } from '../../src/dashboard/users';
import { newId } from '../../src/lib/ids';
import { createLogger } from '../../src/lib/log';
import { createApiKey, generateApiKey, revokeApiKey } from '../../src/merchants/apikeys';
import { createRegulatorKey, generateRegulatorKey } from '../../src/regulator/accounts';
import { createSession } from '../../src/regulator/sessions';
import { amlContext, newInvoice, newRegulator, operatorList, PAYER_BTC, payAndScreen } from '../aml/support';
import { createTestMerchant } from '../helpers/services';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10);
const BODY_LIMIT = 64 * 1024;
const PASSWORD = 'correct horse battery staple';

// Every route of the app, with what it is: an API answering problem+json, or a page/form (HTML allowed).
// A route missing here fails the coverage test, so a new endpoint cannot go unfuzzed.
type Kind = 'api' | 'page';
const COVERAGE: Record<string, Kind> = {
  'GET /healthz': 'api',
  'GET /readyz': 'api',
  'POST /v1/invoices': 'api',
  'GET /v1/invoices/:id': 'api',
  'GET /v1/invoices': 'api',
  'POST /v1/invoices/:id/cancel': 'api',
  'GET /v1/checkout/:id': 'api',
  'GET /v1/checkout/:id/events': 'api',
  'POST /v1/checkout/:id/intents': 'api',
  'POST /v1/webhooks': 'api',
  'GET /v1/webhooks': 'api',
  'GET /v1/webhooks/:id': 'api',
  'DELETE /v1/webhooks/:id': 'api',
  'POST /v1/webhooks/:id/rotate-secret': 'api',
  'GET /v1/webhooks/:id/deliveries': 'api',
  'POST /v1/webhooks/:id/deliveries/:deliveryId/redeliver': 'api',
  'GET /v1/regulator/cases': 'api',
  'GET /v1/regulator/cases/:id': 'api',
  'POST /v1/regulator/cases/:id/decisions': 'api',
  'GET /v1/regulator/reports/:id': 'api',
  'GET /v1/regulator/reports/:id/fm1.xml': 'api',
  'GET /v1/regulator/reports/:id/ivms101.json': 'api',
  'GET /v1/regulator/audit/verify': 'api',
  'GET /v1/regulator/audit/checkpoints': 'api',
  'GET /v1/rates': 'api',
  'GET /openapi.json': 'api',
  'GET /docs': 'page',
  'GET /assets/:name': 'page',
  'GET /favicon.ico': 'page',
  'GET /sandbox/webhooks': 'api',
  'POST /sandbox/webhooks': 'api',
  'GET /pay/:id': 'page',
  'GET /regulator': 'page',
  'GET /regulator/console.css': 'page',
  'GET /regulator/login': 'page',
  'POST /regulator/login': 'page',
  'POST /regulator/logout': 'page',
  'GET /regulator/cases': 'page',
  'GET /regulator/cases/:id': 'page',
  'POST /regulator/cases/:id/decisions': 'page',
  'GET /regulator/reports/:id/fm1.xml': 'page',
  'GET /regulator/reports/:id/ivms101.json': 'page',
  'GET /regulator/audit': 'page',
  'GET /dashboard/login': 'page',
  'POST /dashboard/login': 'page',
  'POST /dashboard/logout': 'page',
  'GET /dashboard': 'page',
  'GET /dashboard/invoices': 'page',
  'GET /dashboard/invoices/new': 'page',
  'POST /dashboard/invoices': 'page',
  'GET /dashboard/invoices/:id': 'page',
  'POST /dashboard/invoices/:id/cancel': 'page',
  'GET /dashboard/export/invoices.csv': 'page',
  'GET /dashboard/export/payments.csv': 'page',
  'GET /dashboard/webhooks': 'page',
  'POST /dashboard/webhooks': 'page',
  'POST /dashboard/webhooks/:id/rotate': 'page',
  'POST /dashboard/webhooks/:id/delete': 'page',
  'GET /dashboard/webhooks/:id': 'page',
  'POST /dashboard/webhooks/:id/deliveries/:dlv/redeliver': 'page',
  'GET /dashboard/keys': 'page',
  'POST /dashboard/keys': 'page',
  'POST /dashboard/keys/:id/revoke': 'page',
  'GET /dashboard/settings': 'page',
  'POST /dashboard/settings': 'page',
  'POST /dashboard/settings/keys': 'page',
  'POST /dashboard/settings/payout': 'page',
};

// Field names the app reads somewhere (API bodies and forms), so random bodies reach the validators.
const FIELDS = [
  'amount',
  'currency',
  'orderId',
  'description',
  'metadata',
  'options',
  'expiresInMinutes',
  'redirectUrl',
  'buyerEmail',
  'url',
  'events',
  'decision',
  'reason',
  'option',
  'payer',
  'csrf',
  'email',
  'password',
  'label',
  'mode',
  'key',
  'network',
  'address',
  'confirm',
  'speedPolicy',
  'tolerance',
  '__proto__',
  'constructor',
];
const QUERY_KEYS = [
  'status',
  'limit',
  'cursor',
  'after',
  'assets',
  'from',
  'to',
  'orderId',
  'v',
  'done',
  'risk',
];

type Ctx = Awaited<ReturnType<typeof amlContext>>;
let ctx: Ctx;
// The cause of a 5xx is only in the log: kept to name it in the failure.
let lastError = '';
const errorLog = createLogger('error', (line) => {
  lastError = line;
});

interface World {
  keys: { a: string; b: string; revoked: string; reg: string; regRevoked: string };
  ids: { invoice: string[]; webhook: string[]; case: string[]; key: string[]; any: string[] };
  userA: string;
  userB: string;
  regulatorId: string;
}
let world: World;

beforeAll(async () => {
  ctx = await amlContext(
    {
      DASHBOARD_SCRYPT_LOG_N: '10',
      AUTH_FAILURES_PER_KEY: '100000',
      AUTH_FAILURES_PER_ADDRESS: '1000000',
      SSE_MAX_SECONDS: '1',
      SSE_POLL_MS: '50',
    },
    { logger: errorLog },
  );
  const b = await createTestMerchant(ctx, { name: 'Other Tenant' });
  const spare = await createApiKey(ctx.db.sql, ctx.merchantId, 'test', 'spare');
  const revoked = await createApiKey(ctx.db.sql, ctx.merchantId, 'test', 'revoked');
  await revokeApiKey(ctx.db.sql, revoked.id);
  await operatorList(ctx, `address,asset\n${PAYER_BTC},BTC\n`);
  const invA = await newInvoice(ctx, ctx.merchantId);
  const invB = await newInvoice(ctx, b.merchant.id);
  const caseId = (await payAndScreen(ctx, invA)).outcome.caseId!;
  const reg = await newRegulator(ctx, 'Fuzz Regulator', 'fuzz@afm.test', PASSWORD);
  const regRevoked = await createRegulatorKey(ctx.db.sql, reg.regulator.id, 'revoked');
  await ctx.db.sql`update regulator_keys set revoked_at = now() where id = ${regRevoked.id}`;
  const hook = async (key: string) => {
    const res = await ctx.app.request('/v1/webhooks', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'http://127.0.0.1:9/in' }),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  };
  const userA = await createDashboardUser(ctx.db.sql, {
    merchantId: ctx.merchantId,
    email: 'owner@fuzz.test',
    password: PASSWORD,
    scryptLogN: 10,
  });
  const userB = await createDashboardUser(ctx.db.sql, {
    merchantId: b.merchant.id,
    email: 'owner@other.test',
    password: PASSWORD,
    scryptLogN: 10,
  });
  world = {
    keys: {
      a: ctx.apiKey,
      b: b.apiKey.apiKey,
      revoked: revoked.apiKey,
      reg: reg.apiKey.apiKey,
      regRevoked: regRevoked.apiKey,
    },
    ids: {
      invoice: [invA.id, invB.id],
      webhook: [await hook(ctx.apiKey), await hook(b.apiKey.apiKey)],
      case: [caseId],
      // The spare key of A and B's only key: revoking B's from A's dashboard must fail.
      key: [spare.id, b.apiKey.id],
      any: [newId('inv'), newId('whk'), newId('dlv'), newId('rep'), newId('case'), 'ui.css'],
    },
    userA: userA.id,
    userB: userB.id,
    regulatorId: reg.regulator.id,
  };
  // Row-level triggers on every table journal each committed insert, update and delete. auth_failures
  // and sign_in_unknown (an unknown email's failed sign-ins, counted like a real account's) record
  // rejections by design, and last_used_at is bookkeeping of a successful authentication.
  await ctx.db.sql.unsafe(`
    create table fuzz_changes (id bigserial primary key, tbl text not null, op text not null);
    create function fuzz_note() returns trigger language plpgsql as $$
    begin
      if TG_OP = 'UPDATE' and (to_jsonb(OLD) - 'last_used_at') = (to_jsonb(NEW) - 'last_used_at') then
        return null;
      end if;
      insert into fuzz_changes (tbl, op) values (TG_TABLE_NAME, TG_OP);
      return null;
    end $$;`);
  const tables = await ctx.db.sql<{ t: string }[]>`select table_name as t from information_schema.tables
    where table_schema = 'public' and table_type = 'BASE TABLE'
      and table_name not in ('auth_failures', 'sign_in_unknown', 'schema_migrations', 'fuzz_changes')`;
  expect(tables.length).toBeGreaterThan(10);
  for (const { t } of tables)
    await ctx.db.sql.unsafe(
      `create trigger fuzz_note after insert or update or delete on "${t}" for each row execute function fuzz_note()`,
    );
}, 120_000);
afterAll(() => ctx?.close());

/** The journal's position: it moves with every row change in any table. */
async function journal(): Promise<number> {
  const [r] = await ctx.db.sql<{ n: number }[]>`select coalesce(max(id), 0)::int as n from fuzz_changes`;
  return r!.n;
}

async function changesSince(n: number): Promise<string> {
  const rows = await ctx.db.sql<{ tbl: string; op: string }[]>`select tbl, op from fuzz_changes
    where id > ${n} order by id limit 10`;
  return rows.map((r) => `${r.op} ${r.tbl}`).join(', ');
}

// Generators --------------------------------------------------------------------------------------

const latin1 = (max: number) =>
  fc.string({
    unit: fc
      .integer({ min: 0x20, max: 0xff })
      .filter((c) => c !== 0x7f)
      .map((c) => String.fromCharCode(c)),
    maxLength: max,
  });

const weirdString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\ud800',
    '\u202e\u0041',
    'null',
    '-1',
    '0',
    '1e309',
    '-0',
    '15000.00',
    '15 000,50',
    'NaN',
    '0x10',
    '99999999999999999999999999999999.99',
    'BTC@bitcoin-regtest',
    'USDC@anvil',
    'sk_test_x',
    'javascript:alert(1)',
    'http://127.0.0.1:1/x',
    'http://127.0.0.1:9/in',
    "'; drop table invoices; --",
    '<script>alert(1)</script>',
    '../../etc/passwd',
    'approve',
    'report',
    'invoice.settled',
    'bitcoin-regtest',
    PAYER_BTC,
    '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  ),
  fc.integer({ min: 1, max: 20_000 }).map((n) => 'é'.repeat(n)),
);

const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  weirdString,
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    0,
    -1,
    1.5,
    Number.MAX_SAFE_INTEGER + 2,
    -Number.MAX_VALUE,
    Number.MIN_VALUE,
    true,
    null,
    [],
    {},
  ),
  fc.array(weirdString, { maxLength: 5 }),
  fc.dictionary(weirdString, weirdString, { maxKeys: 4 }),
);

const fieldObject = fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), weirdString), weirdValue, {
  maxKeys: 6,
});

/** Raw JSON text a serializer would never write. */
const rawJson = fc.oneof(
  fc.constantFrom(
    '{"amount":"15000.00","currency":"KZT","amount":{"x":1}}',
    '{"url":"https://hooks.example.com/a","url":"http://127.0.0.1/"}',
    '{"decision":"approve","reason":"ok","decision":"nope"}',
    '{"amount":1e400,"currency":"KZT"}',
    '{"amount":-1e400}',
    '{"expiresInMinutes":123456789012345678901234567890}',
    '{"limit":1e-400}',
    '{"a":NaN}',
    '{"a":Infinity}',
    '{"a":0x10}',
    '\ufeff{"amount":"1.00","currency":"KZT"}',
    '{"amount":"1.00",}',
    '{"__proto__":{"admin":true},"amount":"1.00","currency":"KZT"}',
    '{"constructor":{"prototype":{"x":1}}}',
    '',
    'null',
    '[]',
    '"string"',
    '{',
    '{"a":"\\ud800"}',
    '{"a":"\\u0000"}',
  ),
  fc.integer({ min: 100, max: 50_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  fc.integer({ min: 100, max: 20_000 }).map((n) => `{"metadata":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`),
  fc
    .integer({ min: 100, max: 20_000 })
    .map((n) => `{"amount":"1.00","currency":"KZT","metadata":{"x":${'['.repeat(n)}${']'.repeat(n)}}}`),
  fc.integer({ min: 100, max: 2_000 }).map((n) => `{${Array.from({ length: n }, (_, i) => `"k${i}":${i}`)}}`),
);

type Body =
  | { kind: 'none' }
  | { kind: 'json'; value: unknown }
  | { kind: 'raw'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'huge'; chunked: boolean }
  | { kind: 'form'; fields: [string, string][] }
  | { kind: 'multipart'; fields: [string, string][] };

const formFields = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...FIELDS), weirdString), weirdString), {
  maxLength: 8,
});

const bodyArb: fc.Arbitrary<Body> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'none' as const }), weight: 1 },
  { arbitrary: fc.jsonValue().map((value) => ({ kind: 'json' as const, value })), weight: 2 },
  { arbitrary: fieldObject.map((value) => ({ kind: 'json' as const, value })), weight: 4 },
  { arbitrary: rawJson.map((text) => ({ kind: 'raw' as const, text })), weight: 3 },
  {
    arbitrary: fc
      .oneof(
        fc.uint8Array({ maxLength: 64 }),
        fc.constant(
          Uint8Array.from([0x7b, 0x22, 0x61, 0xff, 0xfe, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
        ),
        fc.constant(Uint8Array.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d, 0xed, 0xa0, 0x80])),
      )
      .map((bytes) => ({ kind: 'bytes' as const, bytes })),
    weight: 1,
  },
  { arbitrary: fc.boolean().map((chunked) => ({ kind: 'huge' as const, chunked })), weight: 1 },
  { arbitrary: formFields.map((fields) => ({ kind: 'form' as const, fields })), weight: 2 },
  { arbitrary: formFields.map((fields) => ({ kind: 'multipart' as const, fields })), weight: 1 },
);

const contentTypeArb = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 6 },
  {
    arbitrary: fc.constantFrom(
      'application/json',
      'application/json; charset=utf-16',
      'APPLICATION/JSON;foo=bar',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data',
      'multipart/form-data; boundary=x',
      'application/problem+json',
      '',
    ),
    weight: 2,
  },
  { arbitrary: latin1(60), weight: 1 },
);

/** encodeURIComponent, with lone surrogates (which it refuses) replaced. */
const enc = (v: string): string => {
  try {
    return encodeURIComponent(v);
  } catch {
    return encodeURIComponent(v.replace(/[\ud800-\udfff]/g, '\ufffd'));
  }
};

/** A path parameter: a real id (own or another tenant's), a well-formed unknown one, or garbage. */
const paramArb = (pool: string[]) =>
  fc.oneof(
    { arbitrary: fc.constantFrom(...pool).map(enc), weight: 5 },
    { arbitrary: fc.constantFrom(...world.ids.any).map(enc), weight: 2 },
    { arbitrary: weirdString.map(enc), weight: 2 },
    {
      arbitrary: fc.constantFrom('%E0%A4%A', '%', '%00', '..%2F..%2Fetc', '%ZZ', 'a%2Fb', '%C0%AF'),
      weight: 1,
    },
    { arbitrary: fc.integer({ min: 1000, max: 20_000 }).map((n) => 'x'.repeat(n)), weight: 1 },
  );

const queryArb = fc.oneof(
  { arbitrary: fc.constant(''), weight: 2 },
  {
    arbitrary: fc
      .array(fc.tuple(fc.oneof(fc.constantFrom(...QUERY_KEYS), weirdString), weirdString), { maxLength: 5 })
      .map((pairs) => `?${new URLSearchParams(pairs).toString()}`),
    weight: 5,
  },
  {
    arbitrary: fc.constantFrom(
      '?limit=-1',
      '?limit=1e400',
      '?limit=99999999999999999999',
      '?limit=0',
      '?limit=abc',
      '?status=new&status=settled',
      '?cursor=%E0%A4%A',
      '?after=%',
      '?assets=' + 'BTC,'.repeat(500),
      '?from=2026-02-30&to=9999-99-99',
      '?a[]=1&a[]=2&&==&',
      '?%FF=%FE',
      `?orderId=${'x'.repeat(10_000)}`,
    ),
    weight: 2,
  },
);

type Auth =
  | 'none'
  | 'a'
  | 'b'
  | 'revoked'
  | 'reg'
  | 'regRevoked'
  | 'random'
  | 'randomRk'
  | 'garbage'
  | 'huge';
const authArb = fc.constantFrom<Auth>(
  'none',
  'a',
  'a',
  'a',
  'b',
  'revoked',
  'reg',
  'reg',
  'regRevoked',
  'random',
  'randomRk',
  'garbage',
  'huge',
);
type Session = 'none' | 'a' | 'b' | 'garbage';
type Csrf = 'right' | 'wrong' | 'missing';

const requestArb = (route: { method: string; path: string }) => {
  const names = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]!);
  const poolFor = (name: string): string[] => {
    if (name !== 'id') return world.ids.any;
    if (/webhooks/.test(route.path)) return world.ids.webhook;
    if (/cases/.test(route.path)) return world.ids.case;
    if (/keys/.test(route.path)) return world.ids.key;
    if (/reports|assets/.test(route.path)) return world.ids.any;
    return world.ids.invoice;
  };
  return fc.record({
    params: fc.tuple(...names.map((n) => paramArb(poolFor(n)))),
    query: queryArb,
    auth: authArb,
    session: fc.constantFrom<Session>('a', 'a', 'b', 'none', 'garbage'),
    csrf: fc.constantFrom<Csrf>('right', 'right', 'wrong', 'missing'),
    site: fc.constantFrom(undefined, undefined, 'same-origin', 'cross-site', 'none'),
    requestId: fc.option(latin1(80)),
    idempotencyKey: fc.option(fc.oneof(latin1(300), fc.constant('order-1'))),
    contentType: contentTypeArb,
    body: route.method === 'GET' ? fc.constant<Body>({ kind: 'none' }) : bodyArb,
  });
};

type Req = ReturnType<typeof requestArb> extends fc.Arbitrary<infer T> ? T : never;

function authHeader(auth: Auth): string | undefined {
  switch (auth) {
    case 'none':
      return undefined;
    case 'random':
      return `Bearer ${generateApiKey('test')}`;
    case 'randomRk':
      return `Bearer ${generateRegulatorKey()}`;
    case 'garbage':
      return 'Bearer \u00ff\u00fe sk_live_';
    case 'huge':
      return `Bearer sk_test_${'1'.repeat(20_000)}`;
    default:
      return `Bearer ${world.keys[auth]}`;
  }
}

async function buildRequest(route: { method: string; path: string }, r: Req): Promise<Request> {
  let i = 0;
  const path = route.path.replace(/:\w+/g, () => r.params[i++] as string);
  const headers = new Headers();
  const auth = authHeader(r.auth);
  if (auth) headers.set('authorization', auth);
  if (r.requestId !== null) headers.set('x-request-id', r.requestId);
  if (r.idempotencyKey !== null) headers.set('idempotency-key', r.idempotencyKey);
  if (r.site) headers.set('sec-fetch-site', r.site);

  // Sessions are made fresh per request: a fuzzed logout or revoke must not starve later runs.
  const cookies: string[] = [];
  let csrf: string | undefined;
  if (route.path.startsWith('/dashboard') && r.session !== 'none') {
    if (r.session === 'garbage') cookies.push('dash_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    else {
      const s = await createDashboardSession(ctx.db.sql, r.session === 'a' ? world.userA : world.userB);
      cookies.push(`dash_session=${s.token}`);
      csrf = s.csrf;
    }
    if (route.path === '/dashboard/login') {
      csrf = 'login-token-0123456789';
      cookies.push(`dash_login=${csrf}`);
    }
  }
  if (route.path.startsWith('/regulator') && r.session !== 'none') {
    if (r.session === 'garbage') cookies.push('rg_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    else {
      const s = await createSession(ctx.db.sql, world.regulatorId);
      cookies.push(`rg_session=${s.token}`);
      csrf = s.csrf;
    }
    if (route.path === '/regulator/login') {
      csrf = 'login-token-0123456789';
      cookies.push(`rg_login=${csrf}`);
    }
  }
  if (cookies.length) headers.set('cookie', cookies.join('; '));

  const withCsrf = (fields: [string, string][]): [string, string][] =>
    r.csrf === 'missing' ? fields : [['csrf', r.csrf === 'right' && csrf ? csrf : 'forged'], ...fields];
  let body: BodyInit | undefined;
  let duplex = false;
  const b = r.body;
  switch (b.kind) {
    case 'none':
      break;
    case 'json':
      body = JSON.stringify(b.value);
      headers.set('content-type', 'application/json');
      break;
    case 'raw':
      body = b.text;
      headers.set('content-type', 'application/json');
      break;
    case 'bytes':
      body = b.bytes as Uint8Array<ArrayBuffer>;
      headers.set('content-type', 'application/json');
      break;
    case 'huge': {
      const text = `{"amount":"1.00","currency":"KZT","description":"${'x'.repeat(BODY_LIMIT + 10)}"}`;
      headers.set('content-type', 'application/json');
      if (b.chunked) {
        const bytes = new TextEncoder().encode(text);
        body = new ReadableStream({
          start(controller) {
            for (let o = 0; o < bytes.length; o += 8192) controller.enqueue(bytes.slice(o, o + 8192));
            controller.close();
          },
        });
        duplex = true;
      } else body = text;
      break;
    }
    case 'form':
      body = new URLSearchParams(withCsrf(b.fields)).toString();
      headers.set('content-type', 'application/x-www-form-urlencoded');
      break;
    case 'multipart': {
      const fd = new FormData();
      for (const [k, v] of withCsrf(b.fields)) fd.append(k, v);
      body = fd;
      break;
    }
  }
  if (r.contentType !== undefined && b.kind !== 'multipart') headers.set('content-type', r.contentType);
  return new Request(`http://localhost${path}${r.query}`, {
    method: route.method,
    headers,
    body,
    ...(duplex ? { duplex: 'half' } : {}),
  } as RequestInit);
}

// Tests -------------------------------------------------------------------------------------------

const appRoutes = () =>
  [...new Set(ctx.app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`))].map(
    (k) => {
      const [method, path] = k.split(' ') as [string, string];
      return { key: k, method, path };
    },
  );

describe('fuzzing every endpoint', () => {
  it('covers every route of the app and every path of the OpenAPI document', async () => {
    const keys = appRoutes().map((r) => r.key);
    expect(
      keys.filter((k) => !(k in COVERAGE)),
      'routes without a fuzz entry',
    ).toEqual([]);
    expect(
      Object.keys(COVERAGE).filter((k) => !keys.includes(k)),
      'fuzz entries of no route',
    ).toEqual([]);
    const doc = (await (await ctx.app.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    for (const [p, ops] of Object.entries(doc.paths))
      for (const m of Object.keys(ops)) {
        const key = `${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`;
        expect(COVERAGE[key], `${key} of /openapi.json`).toBeDefined();
      }
  });

  it('the journal sees writes (so an unchanged journal means no row changed)', async () => {
    const before = await journal();
    const res = await ctx.app.request('/v1/invoices', {
      method: 'POST',
      headers: { authorization: `Bearer ${world.keys.a}`, 'content-type': 'application/json' },
      body: JSON.stringify({ amount: '100.00', currency: 'KZT' }),
    });
    expect(res.status).toBe(201);
    expect(await changesSince(before)).toMatch(/INSERT invoices/);
    // A bookkeeping-only update (last use of a key) is not a change.
    const mid = await journal();
    await ctx.db.sql`update api_keys set last_used_at = now() - interval '1 hour'`;
    expect(await journal()).toBe(mid);
    await ctx.db.sql`update api_keys set label = label`;
    expect(await journal()).toBe(mid);
  });

  // Each route as its own test, named after it (see COVERAGE for the list).
  it.for(Object.keys(COVERAGE))('%s', { timeout: 120_000 }, async (key) => {
    const [method, path] = key.split(' ') as [string, string];
    const kind = COVERAGE[key]!;
    const route = { method, path };
    let before = await journal();
    await fc.assert(
      fc.asyncProperty(requestArb(route), async (r) => {
        const req = await buildRequest(route, r);
        // Making sessions writes rows: the baseline is taken after.
        if (req.headers.has('cookie')) before = await journal();
        const res = await ctx.app.request(req);
        const type = res.headers.get('content-type') ?? '';
        const text = path.endsWith('/events') && res.status === 200 ? await cancel(res) : await res.text();
        const where = `${method} ${req.url.slice(0, 200)} → ${res.status} ${type} ${text.slice(0, 300)}`;
        expect(res.status, `${where}\n${lastError.slice(0, 1500)}`).toBeLessThan(500);
        expect(res.headers.get('x-content-type-options'), where).toBe('nosniff');
        const after = await journal();
        if (res.status >= 400) {
          if (kind === 'api' || type.startsWith('application/problem+json')) {
            expect(type, where).toMatch(/^application\/problem\+json/);
            const problem = JSON.parse(text) as { status: number; code: string; requestId: string };
            expect(problem.status, where).toBe(res.status);
            expect(typeof problem.code, where).toBe('string');
          } else expect(type, where).toMatch(/^text\/html/);
          if (after !== before)
            expect.fail(`rows changed by a rejected request (${await changesSince(before)}): ${where}`);
        }
        before = after;
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
  });
});

async function cancel(res: Response): Promise<string> {
  await res.body?.cancel();
  // The stream's poll loop ends by itself within SSE_MAX_SECONDS.
  return '';
}

// NUL (U+0000) cannot reach PostgreSQL in a text value: it used to be a 500 (issue 13 item 11). Every
// route, with a signed-in caller so the NUL would reach the handler: in every query parameter the
// app reads (and ?merchant=), and in every body field, JSON and form; the answer names where it was.
describe('NUL bytes, every endpoint', () => {
  const NUL_QUERY = [...QUERY_KEYS, 'merchant', 'q', 'email'];
  const nulRequest = (route: { method: string; path: string }, where: 'query' | 'json' | 'form') => {
    const names = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]!);
    const regulator = /regulator/.test(route.path);
    const fields = FIELDS.filter((f) => f !== '__proto__' && f !== 'constructor');
    const body: Body =
      route.method === 'GET' || where === 'query'
        ? { kind: 'none' }
        : where === 'json'
          ? { kind: 'json', value: Object.fromEntries(fields.map((f) => [f, 'a\u0000b'])) }
          : { kind: 'form', fields: fields.filter((f) => f !== 'csrf').map((f) => [f, 'a\u0000b']) };
    const r: Req = {
      params: names.map(() => world.ids.invoice[0]!) as never,
      query: where === 'query' ? `?${NUL_QUERY.map((k) => `${k}=a%00b`).join('&')}` : '',
      auth: regulator ? 'reg' : 'a',
      session: 'a',
      csrf: 'right',
      site: 'same-origin',
      requestId: null,
      idempotencyKey: null,
      contentType: undefined,
      body,
    } as never;
    return buildRequest(route, r);
  };

  it.for(Object.keys(COVERAGE))('%s', { timeout: 60_000 }, async (key) => {
    const [method, path] = key.split(' ') as [string, string];
    const route = { method, path };
    // The API takes JSON only (a form is 415 before anything is read); GET and DELETE take no body.
    const wheres =
      method === 'GET' || method === 'DELETE'
        ? (['query'] as const)
        : path.startsWith('/v1/')
          ? (['query', 'json'] as const)
          : (['query', 'form'] as const); // pages read forms only (a JSON body is no form: 403)
    for (const where of wheres) {
      const req = await nulRequest(route, where);
      const before = await journal();
      const res = await ctx.app.request(req);
      const text = await res.text();
      const label = `${where}: ${method} ${req.url.slice(0, 160)} → ${res.status} ${text.slice(0, 300)}`;
      if (key === 'POST /sandbox/webhooks' && where === 'form') {
        // The sandbox receiver checks the Standard Webhooks signature before it reads anything, so
        // an unsigned body (NUL or not) is a 401 and nothing is kept.
        expect(res.status, label).toBe(401);
        if ((await journal()) !== before) expect.fail(`rows changed by a refused request: ${label}`);
        continue;
      }
      expect(res.status, `${label}\n${lastError.slice(0, 1500)}`).toBe(422);
      const problem = JSON.parse(text) as { code: string; errors: { path: string; message: string }[] };
      expect(problem.code, label).toBe('validation_failed');
      expect(problem.errors[0]!.message, label).toMatch(/NUL/);
      expect(problem.errors[0]!.path, label).toMatch(where === 'query' ? /^query\.\w+$/ : /^[a-zA-Z]+$/);
      if ((await journal()) !== before) expect.fail(`rows changed by a refused request: ${label}`);
    }
  });
});
