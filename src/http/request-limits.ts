// Limits on how often a public endpoint may be called, per bucket (an invoice, a client address),
// counted in PostgreSQL so that every gateway process (and Workers isolate) shares them. One atomic
// statement per bucket counts the request and returns the count, so parallel requests cannot all pass.
import type { Queryable } from '../db/client';
import { AppError } from '../lib/errors';

export interface RequestLimit {
  /** e.g. `intent-inv:inv_…`, `intent-addr:203.0.113.7`. */
  readonly bucket: string;
  /** Requests allowed per window. */
  readonly limit: number;
}

export class TooManyRequestsError extends AppError {
  override name: string = 'TooManyRequestsError';
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number, what: string) {
    super('too_many_requests', `too many ${what}; try again in ${retryAfterSeconds} s`, {
      status: 429,
      headers: { 'Retry-After': String(retryAfterSeconds) },
    });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * Counts one request in each bucket, in order; throws TooManyRequestsError (429 with Retry-After) at
 * the first bucket over its limit, without counting in the buckets after it.
 */
export async function takeRequest(
  q: Queryable,
  limits: readonly RequestLimit[],
  windowSeconds: number,
  what: string,
): Promise<void> {
  const w = windowSeconds;
  for (const { bucket, limit } of limits) {
    const [row] = await q<{ hits: number; left: number }[]>`
      insert into request_limits (bucket, window_start, hits) values (${bucket}, now(), 1)
      on conflict (bucket) do update set
        hits = case when request_limits.window_start <= now() - ${w} * interval '1 second'
          then 1 else request_limits.hits + 1 end,
        window_start = case when request_limits.window_start <= now() - ${w} * interval '1 second'
          then now() else request_limits.window_start end
      returning hits,
        greatest(1, ceil(extract(epoch from (window_start + ${w} * interval '1 second' - now()))))::int as left`;
    if (row!.hits > limit) throw new TooManyRequestsError(row!.left, what);
  }
  // Housekeeping now and then: windows long over are only clutter (indexed by window_start).
  if (Math.random() < 0.02) {
    await q`delete from request_limits where window_start < now() - ${2 * w} * interval '1 second'`;
  }
}
