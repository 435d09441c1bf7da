// The regulator console at /regulator: server-rendered (hono/jsx), no scripts. Password sign-in with a
// lockout, an HttpOnly SameSite=Strict session cookie, and a CSRF token checked on every POST (the
// sign-in form's comes from a short-lived pre-session cookie). Decisions go through the same
// aml/cases.decide as the API, so both enforce reasons and four eyes alike.
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import {
  CASE_STATUSES,
  type CaseStatus,
  DECISIONS,
  type Decision,
  decide,
  getCase,
  listCases,
} from '../aml/cases';
import { zonedTime } from '../aml/deadlines';
import { getReport } from '../aml/reports';
import { RISKS, type Risk } from '../aml/types';
import { reporterFromConfig } from '../aml/wiring';
import { verifyAuditChain } from '../audit/log';
import { isNetworkId, type NetworkId } from '../chains/networks';
import type { Config } from '../config';
import type { AppEnv } from '../http/auth';
import { refuseNulFields } from '../http/nul';
import { problemResponse } from '../http/problem';
import { signInLimit } from '../http/ratelimit';
import { timingSafeEqualString } from '../lib/ct';
import { AppError } from '../lib/errors';
import { isId } from '../lib/ids';
import { parseKzt } from '../lib/money';
import { AuditPage } from '../ui/regulator/audit';
import { CasePage } from '../ui/regulator/case';
import { Page } from '../ui/regulator/layout';
import { LoginPage } from '../ui/regulator/login';
import { type QueueFilters, QueuePage } from '../ui/regulator/queue';
import { CONSOLE_CSS } from '../ui/regulator/styles';
import { signIn } from './accounts';
import { fm1Response } from './routes';
import {
  type ConsoleSession,
  createSession,
  deleteSession,
  loadSession,
  randomToken,
  SESSION_TTL_MS,
} from './sessions';

export const SESSION_COOKIE = 'rg_session';
export const LOGIN_COOKIE = 'rg_login';
const CONSOLE_CSP =
  "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; " +
  "base-uri 'none'";
const SESSION_VAR = 'consoleSession';

type C = Context<AppEnv>;

const sessionOf = (c: C): ConsoleSession => c.get(SESSION_VAR as never) as ConsoleSession;

function cookieOptions(config: Config, maxAgeSeconds: number) {
  return {
    httpOnly: true,
    sameSite: 'Strict' as const,
    path: '/regulator',
    secure: config.PUBLIC_URL.startsWith('https://'),
    maxAge: maxAgeSeconds,
  };
}

/**
 * A POST from another site is refused before the token check (defence in depth). Browsers say where a
 * request comes from in Sec-Fetch-Site; under `Referrer-Policy: no-referrer` their Origin is "null",
 * so Origin is only compared when it names one. Clients that send neither still need the token.
 */
function sameOrigin(c: C): boolean {
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined) return site === 'same-origin';
  const origin = c.req.header('origin');
  if (!origin || origin === 'null') return true;
  try {
    return new URL(origin).host === (c.req.header('host') ?? new URL(c.req.url).host);
  } catch {
    return false;
  }
}

async function readForm(c: C): Promise<Record<string, string>> {
  const ct = c.req.header('content-type') ?? '';
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(ct) && !/^multipart\/form-data/i.test(ct))
    return {};
  const body = await c.req.parseBody().catch((err) => {
    // A malformed multipart body (no boundary, truncated parts) is the sender's mistake.
    throw new AppError('invalid_form', 'the form body could not be read', { status: 400, cause: err });
  });
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === 'string') out[k] = v;
  refuseNulFields(out);
  return out;
}

function forbidden(c: C, message: string): Response | Promise<Response> {
  c.status(403);
  return c.html(
    <Page title="Refused">
      <p class="error" role="alert" id="csrf-error">
        {message}
      </p>
      <p>
        <a href="/regulator/cases">Back to the console</a>
      </p>
    </Page>,
  );
}

const sessionRequired: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = getCookie(c, SESSION_COOKIE);
  const session = token ? await loadSession(c.get('services').sql, token) : undefined;
  if (!session) {
    if (c.req.method === 'GET') return c.redirect('/regulator/login', 303);
    return forbidden(c, 'Your session has ended: sign in again.');
  }
  c.set(SESSION_VAR as never, session as never);
  await next();
};

/** Every state-changing request needs the session's CSRF token in the form. */
async function checkCsrf(
  c: C,
): Promise<{ ok: true; form: Record<string, string> } | { ok: false; res: Response | Promise<Response> }> {
  const form = await readForm(c);
  const expected = sessionOf(c).csrf;
  if (!sameOrigin(c) || !form.csrf || !timingSafeEqualString(form.csrf, expected)) {
    return {
      ok: false,
      res: forbidden(c, 'The form was refused: its security token is missing or wrong (CSRF).'),
    };
  }
  return { ok: true, form };
}

function queueFilters(c: C): QueueFilters {
  const q = c.req.query();
  const pick = (k: string) => (q[k] ? String(q[k]).slice(0, 64) : undefined);
  return {
    status: pick('status'),
    risk: pick('risk'),
    network: pick('network'),
    merchant: pick('merchant'),
    minAmount: pick('minAmount'),
    maxAmount: pick('maxAmount'),
    dueBefore: pick('dueBefore'),
    overdue: pick('overdue'),
  };
}

function kztOrUndefined(v: string | undefined): bigint | undefined {
  if (!v) return undefined;
  try {
    return parseKzt(v.replace(/[\s,]/g, ''));
  } catch {
    return undefined;
  }
}

/** A date input (YYYY-MM-DD) → the end of that day in Almaty. */
function endOfDay(v: string | undefined): Date | undefined {
  const m = v ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(v) : null;
  return m ? zonedTime(Number(m[1]), Number(m[2]), Number(m[3]), 23, 59, 59, 999) : undefined;
}

const NOTICES: Record<string, string> = {
  clear: 'The case is cleared.',
  'clear-first': 'Cleared once. A severe case needs a second, different regulator to clear it.',
  escalate: 'The case is escalated.',
  report: 'The case is reported: an FM-1 draft and the IVMS101 data were generated.',
  reject: 'The case is rejected: the invoice is invalid.',
};

export function registerRegulatorConsole(app: OpenAPIHono<AppEnv>, config: Config) {
  app.use('/regulator/*', async (c, next) => {
    await next();
    c.header('Content-Security-Policy', CONSOLE_CSP);
    c.header('Cache-Control', 'no-store');
  });
  app.use(
    '/regulator/*',
    bodyLimit({
      maxSize: 16 * 1024,
      onError: (c) => problemResponse(c, 413, 'payload_too_large', 'the form is too large'),
    }),
  );

  app.get('/regulator', (c) => c.redirect('/regulator/cases', 303));
  app.get('/regulator/console.css', (c) => {
    c.header('content-type', 'text/css; charset=utf-8');
    return c.body(CONSOLE_CSS);
  });

  const loginPage = (c: C, status: 200 | 401 | 403 | 423 | 429, error?: string, email?: string) => {
    const token = randomToken();
    setCookie(c, LOGIN_COOKIE, token, cookieOptions(config, 3600));
    c.status(status);
    return c.html(<LoginPage csrf={token} error={error} email={email} />);
  };

  app.get('/regulator/login', (c) => loginPage(c, 200));

  app.post('/regulator/login', async (c) => {
    const form = await readForm(c);
    const expected = getCookie(c, LOGIN_COOKIE);
    if (!sameOrigin(c) || !form.csrf || !expected || !timingSafeEqualString(form.csrf, expected)) {
      return loginPage(c, 403, 'The sign-in form expired or was not sent by this site (CSRF). Try again.');
    }
    const email = (form.email ?? '').slice(0, 320);
    const services = c.get('services');
    const limit = await signInLimit(c, services.sql, config);
    if (limit.refused) return loginPage(c, 429, limit.refused, email);
    const result = await signIn(services.sql, {
      email,
      password: (form.password ?? '').slice(0, 400),
      lockout: { attempts: config.REGULATOR_LOCKOUT_ATTEMPTS, minutes: config.REGULATOR_LOCKOUT_MINUTES },
    });
    if (!result.ok) {
      if (result.reason === 'locked') {
        const until = new Intl.DateTimeFormat('en-GB', {
          timeZone: 'Asia/Almaty',
          timeStyle: 'short',
        }).format(result.until);
        return loginPage(
          c,
          423,
          `This account is locked after repeated failed sign-ins. Try again after ${until} (Almaty time).`,
          email,
        );
      }
      await limit.failed();
      return loginPage(c, 401, 'Wrong email or password.', email);
    }
    const session = await createSession(services.sql, result.regulator.regulatorId);
    deleteCookie(c, LOGIN_COOKIE, { path: '/regulator' });
    setCookie(c, SESSION_COOKIE, session.token, cookieOptions(config, Math.floor(SESSION_TTL_MS / 1000)));
    return c.redirect('/regulator/cases', 303);
  });

  app.use('/regulator/cases', sessionRequired);
  app.use('/regulator/cases/*', sessionRequired);
  app.use('/regulator/reports/*', sessionRequired);
  app.use('/regulator/audit', sessionRequired);
  app.use('/regulator/logout', sessionRequired);

  app.post('/regulator/logout', async (c) => {
    const check = await checkCsrf(c);
    if (!check.ok) return check.res;
    const token = getCookie(c, SESSION_COOKIE);
    if (token) await deleteSession(c.get('services').sql, token);
    deleteCookie(c, SESSION_COOKIE, { path: '/regulator' });
    return c.redirect('/regulator/login', 303);
  });

  app.get('/regulator/cases', async (c) => {
    const services = c.get('services');
    const f = queueFilters(c);
    const cursorParam = c.req.query('after');
    const [dueIso, id] = cursorParam ? cursorParam.split('~') : [];
    const cursor =
      dueIso && id && isId('case', id) && !Number.isNaN(Date.parse(dueIso))
        ? { dueAt: new Date(dueIso), id }
        : undefined;
    const page = await listCases(services.sql, {
      status: (CASE_STATUSES as readonly string[]).includes(f.status ?? '')
        ? (f.status as CaseStatus)
        : undefined,
      risk: (RISKS as readonly string[]).includes(f.risk ?? '') ? (f.risk as Risk) : undefined,
      network: f.network && isNetworkId(f.network) ? (f.network as NetworkId) : undefined,
      merchantId: f.merchant,
      overdue: f.overdue === 'true' ? true : f.overdue === 'false' ? false : undefined,
      minAmountTiyn: kztOrUndefined(f.minAmount),
      maxAmountTiyn: kztOrUndefined(f.maxAmount),
      dueBefore: endOfDay(f.dueBefore),
      limit: 50,
      cursor,
    });
    const merchants = await services.sql<{ id: string; name: string }[]>`
      select distinct m.id, m.name from aml_cases c join merchants m on m.id = c.merchant_id order by m.name`;
    let nextHref: string | undefined;
    if (page.next) {
      const params = new URLSearchParams(
        Object.entries(f).filter((e): e is [string, string] => typeof e[1] === 'string'),
      );
      params.set('after', `${page.next.dueAt.toISOString()}~${page.next.id}`);
      nextHref = `/regulator/cases?${params}`;
    }
    return c.html(
      <QueuePage
        session={sessionOf(c)}
        cases={page.data}
        filters={f}
        merchants={merchants}
        nextHref={nextHref}
      />,
    );
  });

  const caseOr404 = async (c: C, id: string) =>
    isId('case', id) ? await getCase(c.get('services').sql, id) : undefined;

  app.get('/regulator/cases/:id', async (c) => {
    const found = await caseOr404(c, c.req.param('id'));
    if (!found) {
      c.status(404);
      return c.html(
        <Page title="Not found" session={sessionOf(c)}>
          <p class="error">No such case.</p>
        </Page>,
      );
    }
    const done = c.req.query('done');
    return c.html(<CasePage session={sessionOf(c)} c={found} notice={done ? NOTICES[done] : undefined} />);
  });

  app.post('/regulator/cases/:id/decisions', async (c) => {
    const check = await checkCsrf(c);
    if (!check.ok) return check.res;
    const services = c.get('services');
    const id = c.req.param('id');
    const found = await caseOr404(c, id);
    if (!found) return problemResponse(c, 404, 'case_not_found', 'no such case');
    const s = sessionOf(c);
    const decision = check.form.decision ?? '';
    try {
      if (!(DECISIONS as readonly string[]).includes(decision)) {
        throw new AppError('validation_failed', 'choose clear, escalate, report or reject', { status: 422 });
      }
      const out = await decide(
        services.sql,
        { state: services.state, reporter: reporterFromConfig(services.config) },
        {
          caseId: id,
          decision: decision as Decision,
          reason: check.form.reason ?? '',
          regulator: { id: s.regulatorId, name: s.name, email: s.email },
        },
      );
      const done = out.awaitingSecondClearance ? 'clear-first' : decision;
      return c.redirect(`/regulator/cases/${id}?done=${done}`, 303);
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      const fresh = (await caseOr404(c, id)) ?? found;
      c.status(err.status as 409);
      return c.html(<CasePage session={s} c={fresh} error={err.message} />);
    }
  });

  app.get('/regulator/reports/:id/fm1.xml', async (c) => {
    const id = c.req.param('id');
    const report = isId('rep', id) ? await getReport(c.get('services').sql, id) : undefined;
    if (!report) return problemResponse(c, 404, 'report_not_found', 'no such report');
    return fm1Response(report.id, report.fm1Xml);
  });

  app.get('/regulator/reports/:id/ivms101.json', async (c) => {
    const id = c.req.param('id');
    const report = isId('rep', id) ? await getReport(c.get('services').sql, id) : undefined;
    if (!report) return problemResponse(c, 404, 'report_not_found', 'no such report');
    c.header('content-disposition', `attachment; filename="${report.id}-ivms101.json"`);
    return c.json(report.ivms101 as Record<string, unknown>);
  });

  app.get('/regulator/audit', async (c) => {
    const v = await verifyAuditChain(c.get('services').sql);
    return c.html(<AuditPage session={sessionOf(c)} v={v} />);
  });
}
