// Bearer authentication for the regulator API: only rk_ keys. A merchant key is refused with 403
// (it is a real key, just not for this API); the merchant API refuses rk_ keys the same way.
import type { Context, MiddlewareHandler } from 'hono';
import { type AppEnv, limitedBearerAuth } from '../http/auth';
import { AuthError } from '../lib/errors';
import { authenticateRegulatorKey, type RegulatorPrincipal } from './accounts';

const KEY = 'regulator';

export function regulatorAuth(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = await limitedBearerAuth(c, async (key) => {
      if (key.startsWith('sk_')) {
        throw new AuthError('forbidden', 'a merchant key cannot use the regulator API', 403);
      }
      return authenticateRegulatorKey(c.get('services').sql, key);
    });
    c.set(KEY as never, principal as never);
    await next();
  };
}

/** The regulator behind the request (set by regulatorAuth or the console session). */
export function currentRegulator(c: Context): RegulatorPrincipal {
  const r = c.get(KEY as never) as RegulatorPrincipal | undefined;
  if (!r) throw new AuthError('unauthenticated', 'sign in as a regulator');
  return r;
}

export function setCurrentRegulator(c: Context, r: RegulatorPrincipal): void {
  c.set(KEY as never, r as never);
}
