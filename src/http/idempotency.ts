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

/** The key as this request holds it: `claim` fences every write made under it. */
export interface IdempotencyClaim {
  readonly key: string;
  readonly claim: string;
}

/** A retry took over this request's key (it had looked abandoned) and the retry's answer stands. */
export class SupersededError extends ConflictError {
  constructor() {
    super(
      'idempotency_key_superseded',
      'a retry with this Idempotency-Key took this request over; retry to get its answer',
    );
  }
}

export async function withIdempotency(
  sql: Sql,
  merchantId: string,
  key: string,
  fingerprint: string,
  run: (held: IdempotencyClaim) => Promise<RunResult>,
): Promise<StoredResponse> {
  // A fresh token per claim: a takeover replaces it, so the original's late writes match nothing.
  const claim = crypto.randomUUID();
  const claimed = await sql`insert into idempotency_keys (merchant_id, key, request_hash, state, claim)
    values (${merchantId}, ${key}, ${fingerprint}, 'in_flight', ${claim})
    on conflict (merchant_id, key) do update set created_at = now(), request_hash = excluded.request_hash,
        claim = excluded.claim
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
    const res = await run({ key, claim });
    if (!res.stored) {
      const done = await sql`update idempotency_keys set state = 'done', response_status = ${res.status},
        response_body = ${sql.json(res.body as never)}
        where merchant_id = ${merchantId} and key = ${key} and claim = ${claim} and state = 'in_flight'
        returning 1`;
      if (done.length === 0) throw new SupersededError();
    }
    return { status: res.status, body: res.body, replayed: false };
  } catch (err) {
    // Nothing was created under our claim: free the key so the client can retry (only our own claim,
    // never a retry's that took over). With the database gone the release is tried again shortly;
    // failing that, the key is taken over once it looks abandoned.
    const release = () => sql`delete from idempotency_keys
      where merchant_id = ${merchantId} and key = ${key} and claim = ${claim} and state = 'in_flight'`;
    await release().catch(() => void retry(release));
    throw err;
  }
}

/** Tries again a few times over ~20 s; never throws (the caller has already answered). */
async function retry(fn: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; attempt <= 8; attempt++) {
    await new Promise((r) => setTimeout(r, 500 * attempt));
    if (
      await fn().then(
        () => true,
        () => false,
      )
    )
      return;
  }
}
