// The sign-in routes of a server-rendered area (the merchant dashboard, the regulator console), as a
// sub-app the area mounts: GET/POST <prefix>/login, POST <prefix>/logout, the middleware that requires
// a session (and puts it in the context as `session`), and the CSRF check of every other form. The
// sign-in form's CSRF token comes from a short-lived pre-session cookie; a session's from the session row.
//
// A POST /login is checked in this order: same origin and CSRF; the attempt counted against the
// client address (429 past the limit); the account's attempt counted and its password checked in
// the bounded hasher (signin.ts; 503 with Retry-After when too many are being checked); then the
// session. A second factor step (SPEC section 12) goes between the password and the session.
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { Config } from '../config';
import { newApi } from '../http/api';
import type { SessionEnv } from '../http/env';
import { takeSignInAttempt } from '../http/ratelimit';
import { AuthError } from '../lib/errors';
import { csrfHolds, type Form, field, readForm } from './forms';
import { HashingBusyError } from './gate';
import { randomToken, type SessionFields, type SessionStore } from './sessions';
import { type LockoutPolicy, type PasswordAccounts, signInWithPassword } from './signin';

/** A rendered page (what a hono/jsx element is). */
type Page = HtmlEscapedString | Promise<HtmlEscapedString>;

export interface LoginPageProps {
  readonly csrf: string;
  readonly error?: string | undefined;
  readonly email?: string | undefined;
}

export interface SignInArea<P, S> {
  /** '/dashboard' or '/regulator': the cookies' path and the routes' prefix. */
  readonly prefix: string;
  readonly cookies: { readonly session: string; readonly login: string };
  /** Where a successful sign-in lands. */
  readonly home: string;
  readonly accounts: PasswordAccounts<P>;
  /** The id a session belongs to. */
  readonly subjectOf: (principal: P) => string;
  readonly sessions: SessionStore<S>;
  readonly lockout: LockoutPolicy;
  readonly scryptLogN: number;
  readonly loginPage: (props: LoginPageProps) => Page;
  /** A 403 page (forms refused, session ended). */
  readonly refusedPage: (message: string) => Page;
  /** Paths under the prefix that need no session besides the sign-in form. */
  readonly publicPaths?: readonly string[];
}

/** The context of an area whose sessions are S (its principal and the session's CSRF token). */
export type AreaEnv<S> = SessionEnv<S & SessionFields>;

export interface SignInRoutes<S> {
  /** GET/POST <prefix>/login and POST <prefix>/logout: mount it before the area's other routes. */
  readonly app: OpenAPIHono<AreaEnv<S>>;
  /** Redirects a GET without a session to the sign-in form; refuses other methods with 403. */
  readonly sessionRequired: MiddlewareHandler<AreaEnv<S>>;
}

/** The session of a request that passed its area's sessionRequired. */
export function sessionOf<S>(c: Context<SessionEnv<S>>): S {
  const session = c.get('session');
  // A route mounted without sessionRequired is a bug: refuse rather than act for no one.
  if (!session) throw new AuthError('unauthenticated', 'sign in first');
  return session;
}

function refused(c: Context, page: (message: string) => Page, message: string) {
  c.status(403);
  return c.html(page(message));
}

/**
 * The form of a state-changing request, or the 403 page when its origin or its session's CSRF token
 * is wrong.
 */
export async function checkedForm<S extends SessionFields>(
  c: Context<SessionEnv<S>>,
  refusedPage: (message: string) => Page,
): Promise<Form | Response> {
  const form = await readForm(c);
  if (!csrfHolds(c, form, sessionOf(c).csrf)) {
    return refused(
      c,
      refusedPage,
      'The form was refused: its security token is missing or wrong (CSRF). Reload and try again.',
    );
  }
  return form;
}

const almatyTime = (d: Date) =>
  new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Almaty', timeStyle: 'short' }).format(d);

export function signInRoutes<P, S>(config: Config, area: SignInArea<P, S>): SignInRoutes<S> {
  const app = newApi<AreaEnv<S>>();
  const loginPath = `${area.prefix}/login`;
  const cookieOptions = (maxAgeSeconds: number) => ({
    httpOnly: true,
    sameSite: 'Strict' as const,
    path: area.prefix,
    secure: config.PUBLIC_URL.startsWith('https://'),
    maxAge: maxAgeSeconds,
  });

  const loginPage = (
    c: Context<AreaEnv<S>>,
    status: 200 | 401 | 403 | 423 | 429 | 503,
    error?: string,
    email?: string,
  ) => {
    const token = randomToken();
    setCookie(c, area.cookies.login, token, cookieOptions(3600));
    c.status(status);
    return c.html(area.loginPage({ csrf: token, error, email }));
  };

  app.get(loginPath, (c) => loginPage(c, 200));

  app.post(loginPath, async (c) => {
    const form = await readForm(c);
    if (!csrfHolds(c, form, getCookie(c, area.cookies.login))) {
      return loginPage(c, 403, 'The sign-in form expired or was not sent by this site (CSRF). Try again.');
    }
    const email = field(form, 'email', 320);
    const services = c.get('services');
    const attempt = await takeSignInAttempt(c, services.sql, config);
    if (attempt.refused) return loginPage(c, 429, attempt.refused, email);
    let result: Awaited<ReturnType<typeof signInWithPassword<P>>>;
    try {
      result = await signInWithPassword(services.sql, area.accounts, {
        email,
        password: field(form, 'password', 400),
        lockout: area.lockout,
        hasher: services.passwords,
        scryptLogN: area.scryptLogN,
      });
    } catch (err) {
      if (!(err instanceof HashingBusyError)) throw err;
      c.header('Retry-After', String(err.retryAfterSeconds));
      return loginPage(
        c,
        503,
        `Too many sign-ins are being checked right now. Try again in ${err.retryAfterSeconds} s.`,
        email,
      );
    }
    if (!result.ok) {
      if (result.reason === 'locked') {
        return loginPage(
          c,
          423,
          'This account is locked after repeated failed sign-ins. ' +
            `Try again after ${almatyTime(result.until)} (Almaty time).`,
          email,
        );
      }
      return loginPage(c, 401, 'Wrong email or password.', email);
    }
    await attempt.succeeded();
    const session = await area.sessions.create(services.sql, area.subjectOf(result.principal));
    deleteCookie(c, area.cookies.login, { path: area.prefix });
    setCookie(c, area.cookies.session, session.token, cookieOptions(Math.floor(area.sessions.ttlMs / 1000)));
    return c.redirect(area.home, 303);
  });

  const publicPaths = new Set([loginPath, ...(area.publicPaths ?? [])]);
  const sessionRequired: MiddlewareHandler<AreaEnv<S>> = async (c, next) => {
    if (publicPaths.has(c.req.path) || c.get('session')) return next();
    const token = getCookie(c, area.cookies.session);
    const session = token ? await area.sessions.load(c.get('services').sql, token) : undefined;
    if (!session) {
      if (c.req.method === 'GET') return c.redirect(loginPath, 303);
      return refused(c, area.refusedPage, 'Your session has ended: sign in again.');
    }
    c.set('session', session);
    await next();
  };

  app.post(`${area.prefix}/logout`, sessionRequired, async (c) => {
    const form = await checkedForm(c, area.refusedPage);
    if (form instanceof Response) return form;
    const token = getCookie(c, area.cookies.session);
    if (token) await area.sessions.delete(c.get('services').sql, token);
    deleteCookie(c, area.cookies.session, { path: area.prefix });
    return c.redirect(loginPath, 303);
  });

  return { app, sessionRequired };
}
