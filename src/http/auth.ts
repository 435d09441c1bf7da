// Bearer authentication for the merchant API. The principal goes into the context; every query a
// route makes is scoped by its merchant id, so another tenant's invoice is simply not found.
import type { Context, MiddlewareHandler } from 'hono';
import { AuthError } from '../lib/errors';
import { authenticateApiKey, type Principal } from '../merchants/apikeys';
import type { Services } from '../services';
import { authBuckets, clientAddress, limitAuthFailures, policyFromConfig } from './ratelimit';

export type AppEnv = { Variables: { requestId: string; principal: Principal; services: Services } };

export function bearerToken(header: string | undefined): string {
  if (!header) throw new AuthError('unauthenticated', 'send your API key as "Authorization: Bearer sk_…"');
  const m = /^Bearer +([^\s]+) *$/i.exec(header);
  if (!m) throw new AuthError('unauthenticated', 'the Authorization header must be "Bearer <api key>"');
  return m[1]!;
}

/** A failed authentication that counts towards the limits: a wrong, unknown or missing credential. */
export const isAuthFailure = (err: unknown): boolean => err instanceof AuthError && err.status === 401;

/**
 * Runs an authentication under the failure limits of src/http/ratelimit.ts: the client address and the
 * presented bearer key (its hash) are the buckets.
 */
export function limitedBearerAuth<T>(
  c: Context<AppEnv>,
  authenticate: (key: string) => Promise<T>,
): Promise<T> {
  const { sql, config } = c.get('services');
  const header = c.req.header('authorization');
  const presented = header ? /^Bearer +(\S+)/i.exec(header)?.[1] : undefined;
  const buckets = authBuckets(clientAddress(c, config.TRUST_PROXY), presented);
  return limitAuthFailures(
    sql,
    buckets,
    policyFromConfig(config),
    () => authenticate(bearerToken(header)),
    isAuthFailure,
  );
}

export function merchantAuth(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const services = c.get('services');
    const principal = await limitedBearerAuth(c, async (key) => {
      if (key.startsWith('rk_'))
        throw new AuthError('forbidden', 'a regulator key cannot act as a merchant', 403);
      return authenticateApiKey(services.sql, key, services.keyMode);
    });
    c.set('principal', principal);
    await next();
  };
}
