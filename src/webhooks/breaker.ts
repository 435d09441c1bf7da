// A circuit breaker per endpoint. A receiver that does not answer at all (timeout, refused or dropped
// connection) holds a delivery slot for up to the whole timeout; after `failures` such attempts in a
// row its breaker opens: nothing is claimed for the endpoint for `pauseMs`, doubling at each opening
// up to `maxPauseMs`. When the pause ends, one delivery goes out as a probe (claim.ts); an answer
// closes the breaker, silence opens it again for longer. The endpoint's deliveries wait meanwhile:
// nothing is attempted, so nothing is used up from their retry schedules, and nothing is lost.
//
// Any HTTP answer, even a 500, counts as alive: such a receiver frees its slot at once, and each
// delivery's own retry schedule already backs off from it.
import type { Queryable } from '../db/client';

export interface BreakerPolicy {
  /** Attempts in a row without an answer that open the breaker. */
  readonly failures: number;
  /** The first pause; each further opening doubles it. */
  readonly pauseMs: number;
  readonly maxPauseMs: number;
}

export const DEFAULT_BREAKER: BreakerPolicy = { failures: 5, pauseMs: 30_000, maxPauseMs: 30 * 60_000 };

/** The pause after the breaker has opened `opens` times before (since the last answer). */
export function pauseFor(policy: BreakerPolicy, opens: number): number {
  return Math.min(policy.maxPauseMs, policy.pauseMs * 2 ** Math.min(opens, 30));
}

/**
 * Records one attempt's outcome on its endpoint. `answered`: the receiver sent an HTTP status back.
 * Attempts that were never sent (refused URL, missing secret) say nothing about the receiver: skip them.
 */
export async function recordHealth(
  q: Queryable,
  endpointId: string,
  answered: boolean,
  policy: BreakerPolicy,
  now = new Date(),
): Promise<void> {
  if (answered) {
    await q`update webhook_endpoints set consecutive_failures = 0, breaker_opens = 0, paused_until = null,
        probing = false
      where id = ${endpointId} and (consecutive_failures <> 0 or probing or paused_until is not null)`;
    return;
  }
  // Opens when the count reaches the threshold and no pause is running (a failed probe's pause is the
  // probe's own lease, so it reopens too). Silent attempts that were already in flight when the
  // breaker opened only add to the count.
  await q`update webhook_endpoints e set consecutive_failures = e.consecutive_failures + 1,
      breaker_opens = case when o.opens then e.breaker_opens + 1 else e.breaker_opens end,
      paused_until = case when o.opens
        then ${now}::timestamptz + least(${policy.maxPauseMs}::float8,
          ${policy.pauseMs}::float8 * power(2::float8, least(e.breaker_opens, 30))) * interval '1 millisecond'
        else e.paused_until end,
      probing = case when o.opens then false else e.probing end
    from (select id, consecutive_failures + 1 >= ${policy.failures}
            and (probing or paused_until is null or paused_until <= ${now}) as opens
          from webhook_endpoints where id = ${endpointId} for update) o
    where e.id = o.id`;
}
