// Bearer authentication for the merchant API. The principal goes into the context; every query a
// route makes is scoped by its merchant id, so another tenant's invoice is simply not found.
import type { Context, MiddlewareHandler } from 'hono';
import { AuthError } from '../lib/errors';
import { isApiKeyShaped, type Principal, verifyApiKey } from '../merchants/apikeys';
import type { BaseEnv, MerchantEnv } from './env';
import {
  authBuckets,
  clientAddress,
  limitAuthFailures,
  policyFromConfig,
  presentedKeyHash,
  recordAuthFailure,
  refuseIfLimited,
} from './ratelimit';

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
export function limitedBearerAuth<T, E extends BaseEnv>(
  c: Context<E>,
  authenticate: (key: string) => Promise<T>,
): Promise<T> {
  const { sql, config } = c.get('services');
  const header = c.req.header('authorization');
  const presented = header ? /^Bearer +(\S+)/i.exec(header)?.[1] : undefined;
  const buckets = authBuckets(clientAddress(c, config.TRUST_PROXY), presented && presentedKeyHash(presented));
  return limitAuthFailures(
    sql,
    buckets,
    policyFromConfig(config),
    () => authenticate(bearerToken(header)),
    isAuthFailure,
  );
}

/**
 * The merchant API's authentication: the same limits as limitedBearerAuth (checked before the key,
 * a failure counted), with the counters, the key and its merchant read in one batched statement
 * (src/http/credentials.ts). Sets `principal` and `merchant`.
 */
export function merchantAuth(): MiddlewareHandler<MerchantEnv> {
  return async (c, next) => {
    const services = c.get('services');
    const { sql, config } = services;
    const header = c.req.header('authorization');
    const presented = header ? /^Bearer +(\S+)/i.exec(header)?.[1] : undefined;
    // One hash serves both: an API key is far shorter than the 512 characters a bucket hashes, so
    // its bucket hash is its lookup hash (keyHashHex).
    const presentedHash = presented && presentedKeyHash(presented);
    const buckets = authBuckets(clientAddress(c, config.TRUST_PROXY), presentedHash);
    const policy = policyFromConfig(config);
    const lookUp = presented !== undefined && isApiKeyShaped(presented);
    const found =
      lookUp || buckets.length > 0
        ? await services.credentials.load({ ...(lookUp ? { keyHashHex: presentedHash } : {}), buckets })
        : { key: undefined, failures: [] };
    refuseIfLimited(found.failures, policy);
    let principal: Principal;
    try {
      const key = bearerToken(header);
      if (key.startsWith('rk_'))
        throw new AuthError('forbidden', 'a regulator key cannot act as a merchant', 403);
      principal = verifyApiKey(key, found.key, services.keyMode);
    } catch (err) {
      if (isAuthFailure(err) && buckets.length > 0) await recordAuthFailure(sql, buckets, policy);
      throw err;
    }
    const record = found.key!;
    await services.noteKeyUse(record);
    c.set('principal', principal);
    c.set('merchant', record.merchant);
    await next();
  };
}
