// Bearer authentication for the merchant API. The principal goes into the context; every query a
// route makes is scoped by its merchant id, so another tenant's invoice is simply not found.
import type { MiddlewareHandler } from 'hono';
import { AuthError } from '../lib/errors';
import { authenticateApiKey, type Principal } from '../merchants/apikeys';
import type { Services } from '../services';

export type AppEnv = { Variables: { requestId: string; principal: Principal; services: Services } };

export function bearerToken(header: string | undefined): string {
  if (!header) throw new AuthError('unauthenticated', 'send your API key as "Authorization: Bearer sk_…"');
  const m = /^Bearer +([^\s]+) *$/i.exec(header);
  if (!m) throw new AuthError('unauthenticated', 'the Authorization header must be "Bearer <api key>"');
  return m[1]!;
}

export function merchantAuth(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const services = c.get('services');
    const key = bearerToken(c.req.header('authorization'));
    if (key.startsWith('rk_'))
      throw new AuthError('forbidden', 'a regulator key cannot act as a merchant', 403);
    c.set('principal', await authenticateApiKey(services.sql, key, services.keyMode));
    await next();
  };
}
