// The regulator console at /regulator: server-rendered (hono/jsx), no scripts. Password sign-in with a
// lockout, an HttpOnly SameSite=Strict session cookie, and a CSRF token checked on every POST (the
// sign-in form's comes from a short-lived pre-session cookie): src/auth/. One sub-app per resource,
// mounted behind the area's middleware and its session.
import { bodyLimit } from 'hono/body-limit';
import { signInRoutes } from '../../auth/routes';
import type { Config } from '../../config';
import { newApi } from '../../http/api';
import { problemResponse } from '../../http/problem';
import { LoginPage } from '../../ui/regulator/login';
import { CONSOLE_CSS } from '../../ui/regulator/styles';
import { regulatorAccounts } from '../accounts';
import { consoleSessions } from '../sessions';
import { auditPages } from './audit';
import { casePages } from './cases';
import { type ConsoleEnv, RefusedPage } from './pages';
import { reportPages } from './reports';

export const SESSION_COOKIE = 'rg_session';
export const LOGIN_COOKIE = 'rg_login';
const CONSOLE_CSP =
  "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; " +
  "base-uri 'none'";

export function regulatorConsole(config: Config) {
  const app = newApi<ConsoleEnv>();
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

  const signIn = signInRoutes(config, {
    prefix: '/regulator',
    cookies: { session: SESSION_COOKIE, login: LOGIN_COOKIE },
    home: '/regulator/cases',
    accounts: regulatorAccounts,
    subjectOf: (p) => p.regulatorId,
    sessions: consoleSessions,
    lockout: { attempts: config.REGULATOR_LOCKOUT_ATTEMPTS, minutes: config.REGULATOR_LOCKOUT_MINUTES },
    scryptLogN: config.REGULATOR_SCRYPT_LOG_N,
    loginPage: (props) => <LoginPage {...props} />,
    refusedPage: (message) => <RefusedPage message={message} />,
  });
  app.route('/', signIn.app);
  const { sessionRequired } = signIn;
  app.use('/regulator/cases', sessionRequired);
  app.use('/regulator/cases/*', sessionRequired);
  app.use('/regulator/reports/*', sessionRequired);
  app.use('/regulator/audit', sessionRequired);

  app.route('/', casePages());
  app.route('/', reportPages());
  app.route('/', auditPages());
  return app;
}
