// Bearer authentication for the regulator API: only rk_ keys. A merchant key is refused with 403
// (it is a real key, just not for this API); the merchant API refuses rk_ keys the same way.
import type { Context, MiddlewareHandler } from 'hono';
import { limitedBearerAuth } from '../http/auth';
import type { RegulatorEnv } from '../http/env';
import { AuthError } from '../lib/errors';
import { authenticateRegulatorKey, type RegulatorPrincipal } from './accounts';

export function regulatorAuth(): MiddlewareHandler<RegulatorEnv> {
  return async (c, next) => {
    const principal = await limitedBearerAuth(c, async (key) => {
      if (key.startsWith('sk_')) {
        throw new AuthError('forbidden', 'a merchant key cannot use the regulator API', 403);
      }
      return authenticateRegulatorKey(c.get('services').sql, key);
    });
    c.set('regulator', principal);
    await next();
  };
}

/** The regulator behind the request (set by regulatorAuth). */
export function currentRegulator(c: Context<RegulatorEnv>): RegulatorPrincipal {
  const r = c.get('regulator');
  if (!r) throw new AuthError('unauthenticated', 'sign in as a regulator');
  return r;
}
