// The merchant dashboard at /dashboard: server-rendered (hono/jsx), no scripts. Password sign-in with a
// lockout, an HttpOnly SameSite=Strict session cookie, a CSRF token on every POST (the sign-in form's
// from a short-lived pre-session cookie): src/auth/. Every action calls the same domain functions as
// the API. One sub-app per resource, mounted behind the area's middleware and its session.
import { bodyLimit } from 'hono/body-limit';
import { signInRoutes } from '../auth/routes';
import type { Config } from '../config';
import { newApi } from '../http/api';
import { problemResponse } from '../http/problem';
import { LoginPage } from '../ui/dashboard/login';
import { setPageHeaders } from '../ui/layout';
import { invoicePages } from './invoices';
import { keyPages } from './keys';
import { type DashboardEnv, RefusedPage } from './pages';
import { dashboardSessions } from './sessions';
import { settingsPages } from './settings';
import { dashboardAccounts } from './users';
import { webhookPages } from './webhooks';

export const DASH_SESSION_COOKIE = 'dash_session';
export const DASH_LOGIN_COOKIE = 'dash_login';

export function dashboardApp(config: Config) {
  const app = newApi<DashboardEnv>();
  app.use('/dashboard/*', async (c, next) => {
    await next();
    // CSV downloads keep their own type; every answer gets the page policy and no caching.
    if (!c.res.headers.get('content-type')?.startsWith('text/csv')) setPageHeaders(c);
    else c.header('Cache-Control', 'no-store');
  });
  app.use(
    '/dashboard/*',
    bodyLimit({
      maxSize: 64 * 1024,
      onError: (c) => problemResponse(c, 413, 'payload_too_large', 'the form is too large'),
    }),
  );

  const signIn = signInRoutes(config, {
    prefix: '/dashboard',
    cookies: { session: DASH_SESSION_COOKIE, login: DASH_LOGIN_COOKIE },
    home: '/dashboard',
    accounts: dashboardAccounts,
    subjectOf: (p) => p.userId,
    sessions: dashboardSessions,
    lockout: { attempts: config.DASHBOARD_LOCKOUT_ATTEMPTS, minutes: config.DASHBOARD_LOCKOUT_MINUTES },
    scryptLogN: config.DASHBOARD_SCRYPT_LOG_N,
    loginPage: (props) => <LoginPage {...props} />,
    refusedPage: (message) => <RefusedPage message={message} />,
  });
  app.route('/', signIn.app);
  // '/dashboard/*' matches '/dashboard' too.
  app.use('/dashboard/*', signIn.sessionRequired);

  app.route('/', invoicePages(config));
  app.route('/', webhookPages());
  app.route('/', keyPages());
  app.route('/', settingsPages(config));
  return app;
}
