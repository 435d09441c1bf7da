// What the merchant API's authentication reads, for many concurrent requests in one statement: the
// presented keys with their merchants and the failure counters of the buckets that guard them
// (src/http/ratelimit.ts). Under load this is one round trip per turn of the event loop instead of
// three per request; the checks themselves stay per request (src/http/auth.ts).
import type { Sql } from '../db/client';
import { oneRow } from '../db/errors';
import { type Batcher, createBatcher } from '../lib/batch';
import { type ApiKeyRecord, apiKeyFromJson, apiKeysJson } from '../merchants/apikeys';
import { type AuthFailurePolicy, type FailureCount, failureCountsJson } from './ratelimit';

export interface CredentialQuery {
  /** SHA-256 of the presented key, hex; absent when no well-formed key was sent. */
  readonly keyHashHex?: string;
  readonly buckets: readonly string[];
}

export interface Credentials {
  readonly key: ApiKeyRecord | undefined;
  readonly failures: readonly FailureCount[];
}

export type CredentialLookup = Batcher<CredentialQuery, Credentials>;

export function createCredentialLookup(sql: Sql, policy: AuthFailurePolicy): CredentialLookup {
  return createBatcher(async (queries) => {
    const hashes = [...new Set(queries.flatMap((q) => (q.keyHashHex ? [q.keyHashHex] : [])))];
    const buckets = [...new Set(queries.flatMap((q) => q.buckets))];
    // A connection dropped under the statement can leave it with no row and no error.
    const row = oneRow(
      await sql<{ keys: unknown[]; failures: FailureCount[] }[]>`select
        ${apiKeysJson(sql, hashes)} as keys, ${failureCountsJson(sql, buckets, policy)} as failures`,
    );
    const keys = new Map(row.keys.map((k) => apiKeyFromJson(k)).map((k) => [k.hashHex, k]));
    const failures = new Map(row.failures.map((f) => [f.bucket, f]));
    return queries.map((q) => ({
      key: q.keyHashHex ? keys.get(q.keyHashHex) : undefined,
      failures: q.buckets.flatMap((b) => failures.get(b) ?? []),
    }));
  });
}
