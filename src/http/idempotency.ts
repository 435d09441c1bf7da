// Idempotency-Key (IETF draft): the same key and body replay the first response; the same key with
// another body is 422; a first request still in flight is 409. Validation failures are not stored
// (Stripe's rule), so a client may fix its body and retry with the same key.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { canonicalJson } from '../audit/log';
import type { Sql } from '../db/client';
import { AppError, ConflictError, ValidationError } from '../lib/errors';

/** A first request that has not finished after this long is taken to have died with its process. */
const ABANDONED_AFTER_MS = 60_000;

export interface StoredResponse {
  readonly status: number;
  readonly body: unknown;
  readonly replayed: boolean;
}

export function checkIdempotencyKey(key: string | undefined): string | undefined {
  if (key === undefined) return undefined;
  if (key.length === 0 || key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) {
    throw new ValidationError(
      'invalid Idempotency-Key',
      [{ path: 'header.Idempotency-Key', message: 'must be 1 to 255 visible ASCII characters' }],
      'idempotency_key_invalid',
      400,
    );
  }
  return key;
}

export function requestFingerprint(method: string, path: string, body: unknown): string {
  return bytesToHex(sha256(utf8ToBytes(`${method} ${path}\n${canonicalJson(body)}`)));
}

/**
 * What `run` answered. `stored`: run already marked the key done with this answer in its own write
 * (invoice creation does, so that the invoice and the answer commit together): no second update.
 */
export interface RunResult {
  readonly status: number;
  readonly body: unknown;
  readonly stored?: boolean;
}

export async function withIdempotency(
  sql: Sql,
  merchantId: string,
  key: string,
  fingerprint: string,
  run: () => Promise<RunResult>,
): Promise<StoredResponse> {
  const claimed = await sql`insert into idempotency_keys (merchant_id, key, request_hash, state)
    values (${merchantId}, ${key}, ${fingerprint}, 'in_flight')
    on conflict (merchant_id, key) do update set created_at = now(), request_hash = excluded.request_hash
      where idempotency_keys.state = 'in_flight'
        and idempotency_keys.request_hash = excluded.request_hash
        and idempotency_keys.created_at < now() - ${`${ABANDONED_AFTER_MS} milliseconds`}::interval
    returning key`;
  if (claimed.length === 0) {
    const [row] = await sql<
      { request_hash: string; state: string; response_status: number; response_body: unknown }[]
    >`
      select request_hash, state, response_status, response_body from idempotency_keys
      where merchant_id = ${merchantId} and key = ${key}`;
    if (!row)
      throw new ConflictError(
        'idempotency_key_in_flight',
        'a request with this Idempotency-Key is in flight; retry shortly',
      );
    if (row.request_hash !== fingerprint) {
      throw new AppError(
        'idempotency_key_reused',
        'this Idempotency-Key was used with a different request body',
        { status: 422 },
      );
    }
    if (row.state !== 'done') {
      throw new ConflictError(
        'idempotency_key_in_flight',
        'a request with this Idempotency-Key is still in flight; retry shortly',
      );
    }
    return { status: row.response_status, body: row.response_body, replayed: true };
  }
  try {
    const res = await run();
    if (!res.stored) {
      await sql`update idempotency_keys set state = 'done', response_status = ${res.status},
        response_body = ${sql.json(res.body as never)} where merchant_id = ${merchantId} and key = ${key}`;
    }
    return { status: res.status, body: res.body, replayed: false };
  } catch (err) {
    // Nothing was created: free the key so the client can retry.
    await sql`delete from idempotency_keys where merchant_id = ${merchantId} and key = ${key} and state = 'in_flight'`;
    throw err;
  }
}
